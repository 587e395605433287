"""Staff: the batched BPE of the reference tokenizer (cs336_basics/tokenizer/batch_bpe.py) merges exactly
like the textbook definition: apply the merges in training order, each to every non-overlapping
occurrence from left to right. Checked on hand-made merges with overlaps ("aaaa"), on merges trained on
random text, and on GPT-2's merges over the Shakespeare corpus; and the tokenizer gives the same ids
whether or not its batch route runs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs336_basics.tokenizer import tokenizer as tokenizer_module
from cs336_basics.tokenizer.batch_bpe import PairTable, bpe_many
from cs336_basics.tokenizer.tokenizer import Tokenizer
from tests.oracles.bpe import naive_train_bpe
from tests.test_tokenizer import EOT, SHAKESPEARE, gpt2_vocab_and_merges

pytestmark = pytest.mark.staff

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def gpt2_tokenizer() -> Tokenizer:
    return Tokenizer(*gpt2_vocab_and_merges(), [EOT])


@pytest.fixture(scope="module")
def shakespeare_text() -> str:
    return SHAKESPEARE  # the 50 KB fixture slice of the corpus


def textbook_bpe(word: str, tokenizer: Tokenizer) -> tuple[int, ...]:
    """Merges in rank order, each applied to all non-overlapping occurrences, left to right."""
    pieces = [bytes([b]) for b in word.encode("utf-8")]
    for a, b in tokenizer.merges:
        merged, i = [], 0
        while i < len(pieces):
            if i + 1 < len(pieces) and pieces[i] == a and pieces[i + 1] == b:
                merged.append(a + b)
                i += 2
            else:
                merged.append(pieces[i])
                i += 1
        pieces = merged
    return tuple(tokenizer._id_of[p] for p in pieces)


def batch(tokenizer: Tokenizer, words: list[str]) -> list[tuple[int, ...]]:
    return tokenizer._cache._bpe_many(words)


def small_tokenizer(merges: list[tuple[bytes, bytes]]) -> Tokenizer:
    vocab = {i: bytes([i]) for i in range(256)}
    for a, b in merges:
        if a + b not in vocab.values():
            vocab[len(vocab)] = a + b
    return Tokenizer(vocab, merges)


def test_overlapping_pairs_merge_leftmost_first():
    tok = small_tokenizer([(b"a", b"a"), (b"aa", b"a"), (b"b", b"a"), (b"aa", b"aa")])
    words = ["a", "aa", "aaa", "aaaa", "aaaaa", "aaaaaaa", "baaa", "abaaab", "", "é", "aé a"]
    expected = [textbook_bpe(w, tok) for w in words]
    assert batch(tok, words) == expected, "batched BPE differs from the textbook merge order on overlapping pairs"
    assert [tok._cache._bpe(w) for w in words] == expected, "per-word BPE differs from the textbook merge order"


@given(st.text(alphabet="ab c\n", min_size=1, max_size=80), st.integers(1, 25), st.lists(st.text(alphabet="abc ", max_size=12), max_size=30))
@SETTINGS
def test_batched_bpe_matches_textbook_on_trained_merges(text, num_merges, words):
    vocab, merges = naive_train_bpe(text, 256 + num_merges, [])
    tok = Tokenizer(vocab, merges)
    assert batch(tok, words) == [textbook_bpe(w, tok) for w in words]


def test_batched_bpe_matches_per_word_bpe_on_gpt2_and_shakespeare(gpt2_tokenizer, shakespeare_text):
    from cs336_basics.tokenizer.pretokenize import pretokens

    words = list(dict.fromkeys(pretokens(shakespeare_text)))
    words += ["😀", " 東京", "naïve", " " * 9, "\n\n\n", "x" * 40, "antidisestablishmentarianism"]
    assert len(words) > 1000
    assert batch(gpt2_tokenizer, words) == [gpt2_tokenizer._cache._bpe(w) for w in words]


def test_tokenizer_ids_are_the_same_with_and_without_the_batch_route(gpt2_tokenizer, shakespeare_text, monkeypatch):
    text = shakespeare_text
    fresh = Tokenizer(gpt2_tokenizer.vocab, gpt2_tokenizer.merges, [EOT])
    with_batch = fresh.encode(text)
    assert len(fresh._cache) > tokenizer_module._BATCH_MIN
    monkeypatch.setattr(tokenizer_module, "_BATCH_MIN", 10**9)
    per_word = Tokenizer(gpt2_tokenizer.vocab, gpt2_tokenizer.merges, [EOT]).encode(text)
    assert with_batch == per_word


def test_pair_table_finds_every_key_and_only_those():
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 1 << 40, 5000))
    values = rng.integers(0, 1 << 50, keys.size)
    table = PairTable(keys, values)
    assert np.array_equal(table.get(keys), values)
    absent = np.setdiff1d(rng.integers(0, 1 << 40, 5000), keys)
    assert (table.get(absent) == np.iinfo(np.int64).max).all()
    assert table.get(np.empty(0, np.int64)).size == 0
    assert PairTable(np.empty(0, np.int64), np.empty(0, np.int64)).get(keys[:3]).tolist() == [np.iinfo(np.int64).max] * 3


def test_pair_table_rejects_duplicate_or_negative_keys():
    with pytest.raises(ValueError, match="distinct non-negative"):
        PairTable(np.array([1, 1]), np.array([2, 3]))
    with pytest.raises(ValueError, match="distinct non-negative"):
        PairTable(np.array([-1]), np.array([2]))
    with pytest.raises(ValueError, match="1-D arrays of one length"):
        PairTable(np.array([1, 2]), np.array([2]))


def test_bpe_many_of_no_words_is_empty(gpt2_tokenizer):
    assert batch(gpt2_tokenizer, []) == []
