"""BPE training (problem `train_bpe`): the merges in order and the vocabulary against a naive oracle.

The expected values in tests/fixtures/bpe_*.npz come from a naive trainer (staff-only, tests/oracles/bpe.py)
that recounts every pair after every merge: the most frequent pair wins, ties go to the lexicographically
greater pair of byte strings. The corpora are the text files in tests/fixtures/bpe_corpora/.

The vocabulary is compared as a SET of byte strings (the special tokens, the 256 single bytes, one token
per merge), whatever ids it gives them: the official handout leaves the id order open. The tests call
run_train_bpe with the official arguments only (parallel training: tests/test_train_bpe_parallel.py; bad
input: tests/test_input_validation.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.adapters import run_train_bpe
from tests.fixture_io import FIXTURES, load_npz

pytestmark = pytest.mark.problem("train_bpe")

CORPORA = FIXTURES / "bpe_corpora"
CASES = ["ties", "ties_exhausted", "multibyte", "specials", "overlapping_specials", "shakespeare"]


def _unpack(arrays: dict[str, np.ndarray], name: str) -> list[bytes]:
    data, offsets = arrays[f"{name}_data"].tobytes(), arrays[f"{name}_offsets"]
    return [data[a:b] for a, b in zip(offsets[:-1], offsets[1:])]


def load_case(case: str):
    """(corpus path, vocab_size, special tokens, expected vocab, expected merges) of fixture bpe_<case>."""
    arrays = load_npz(f"bpe_{case}")
    specials = [s.decode("utf-8") for s in _unpack(arrays, "special_tokens")]
    vocab = dict(zip(arrays["vocab_ids"].tolist(), _unpack(arrays, "vocab")))
    merges = list(zip(_unpack(arrays, "merges_left"), _unpack(arrays, "merges_right")))
    path = CORPORA / arrays["corpus"].tobytes().decode()
    return path, int(arrays["vocab_size"][0]), specials, vocab, merges


def assert_same_merges(got: list[tuple[bytes, bytes]], expected: list[tuple[bytes, bytes]]) -> None:
    for k, (g, e) in enumerate(zip(got, expected)):
        assert g == e, (
            f"merge {k} is {g!r}, expected {e!r} (previous merges agree). Check the pair counts after earlier "
            f"merges (including overlapping pairs such as 'aaa') and the tie-break: among equally frequent pairs "
            f"the lexicographically GREATER (left bytes, right bytes) wins."
        )
    assert len(got) == len(expected), (
        f"{len(got)} merges, expected {len(expected)} (the first {min(len(got), len(expected))} agree). Make "
        f"vocab_size - 256 - len(special_tokens) merges, stopping early only when no adjacent pair is left; pairs "
        f"never span two pre-tokens or a special token (remove the special tokens before pre-tokenising)."
    )


def assert_same_vocab(got: dict[int, bytes], expected: dict[int, bytes]) -> None:
    """The same set of byte strings, each once; the ids may be any distinct integers."""
    values = list(got.values())
    dupes = sorted({t for t in values if values.count(t) > 1})[:5] if len(set(values)) != len(values) else []
    assert not dupes, f"the vocabulary holds {dupes} under more than one id: every token appears once"
    want = set(expected.values())
    missing, extra = sorted(want - set(values)), sorted(set(values) - want)
    assert not missing and not extra, (
        f"the vocabulary has {len(values)} tokens, expected {len(want)}: missing {missing[:5]}, unexpected "
        f"{extra[:5]}. It holds the special tokens, the 256 single bytes and one token per merge (left + right)."
    )


@pytest.mark.parametrize("case", CASES)
def test_train_bpe_matches_naive_oracle(case):
    path, vocab_size, specials, expected_vocab, expected_merges = load_case(case)
    vocab, merges = run_train_bpe(path, vocab_size, specials)
    assert_same_merges(merges, expected_merges)
    assert_same_vocab(vocab, expected_vocab)


def test_train_bpe_never_merges_across_special_tokens(tmp_path):
    # "a" and "b" are only ever adjacent across the special token; inside the text they never touch.
    path = tmp_path / "corpus.txt"
    path.write_text("xa<|endoftext|>by " * 50 + "ab", encoding="utf-8")
    vocab, merges = run_train_bpe(path, 1 + 256 + 10, ["<|endoftext|>"])
    spanning = [m for m in merges if b"<" in m[0] + m[1] or b"|" in m[0] + m[1]]
    assert not spanning, f"merges {spanning} contain bytes of the special token: special tokens are never merged"
    assert merges[0] == (b"x", b"a") and merges[1] == (b"b", b"y"), (
        f"first merges {merges[:2]}, expected (b'x', b'a') then (b'b', b'y'): text on the two sides of a special "
        f"token must not be joined (no pair b'a' + b'b' across it)"
    )


def test_train_bpe_vocab_holds_specials_bytes_and_one_token_per_merge(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("hello hello world", encoding="utf-8")
    specials = ["<|pad|>", "<|endoftext|>"]
    vocab, merges = run_train_bpe(path, 2 + 256 + 3, specials)
    assert len(merges) == 3, f"vocab_size 261 with 2 special tokens leaves room for 3 merges, got {len(merges)}"
    tokens = set(vocab.values())
    assert {s.encode("utf-8") for s in specials} <= tokens, "every special token must be in the vocabulary (as UTF-8 bytes)"
    assert {bytes([b]) for b in range(256)} <= tokens, "all 256 single bytes must be in the vocabulary"
    assert {a + b for a, b in merges} <= tokens, "each merge adds the token left + right to the vocabulary"
    assert len(vocab) == 261, f"the vocabulary must have vocab_size = 261 entries, got {len(vocab)}"
