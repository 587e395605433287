"""Held-out: the tokenizer on GPT-2's real vocabulary with fresh texts (pieces of Shakespeare at random
places, random characters of many scripts, whitespace runs, special tokens), fresh special-token sets and
fresh chunkings, against tiktoken built offline from the same files."""

from __future__ import annotations

from functools import lru_cache

import pytest
import tiktoken

from grading.heldout.draw import integers
from tests.adapters import get_tokenizer
from tests.oracles.bpe import GPT2_PATTERN
from tests.test_tokenizer import SHAKESPEARE, gpt2_vocab_and_merges

pytestmark = [pytest.mark.problem("tokenizer"), pytest.mark.heldout]

EOT = "<|endoftext|>"
DOUBLE = EOT + EOT  # overlaps EOT: the longer one must win where both start
# special-token sets; DOUBLE is added to the vocabulary as id 50257
SPECIAL_SETS = [[], [EOT], [EOT, DOUBLE], [DOUBLE, EOT]]
SCRIPTS = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x3040, 0x30FF),
           (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0x1F300, 0x1F64F)]
AWKWARD = [" ", "  ", "   ", "\n", "\n\n", "\n\n\n", "\t", "\r\n", "\u00a0", "\u3000", "'s", "'ll", "'T", "<|", "|>",
           "<|endoftext|", "0", "42", "3.14", "!!", "...", "—", "e\u0301", "👍🏽", "🇫🇷"]


@lru_cache(maxsize=1)
def gpt2_oracle() -> tiktoken.Encoding:
    vocab, _ = gpt2_vocab_and_merges()
    ranks = {token: i for i, token in vocab.items() if i != 50256}
    return tiktoken.Encoding("gpt2-offline-heldout", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={})


def vocab_with(specials: list[str]) -> tuple[dict[int, bytes], list]:
    vocab, merges = gpt2_vocab_and_merges()
    return ({**vocab, 50257: DOUBLE.encode()} if DOUBLE in specials else vocab), merges


def expected_ids(text: str, specials: list[str]) -> list[int]:
    """Special tokens found left to right, the longest where several start; tiktoken's GPT-2 encoding of
    the text between them."""
    ids_of = {EOT: 50256, DOUBLE: 50257}
    by_length = sorted(specials, key=len, reverse=True)
    ids, start, i = [], 0, 0
    while i < len(text):
        special = next((s for s in by_length if text.startswith(s, i)), None)
        if special is None:
            i += 1
            continue
        ids += gpt2_oracle().encode_ordinary(text[start:i]) + [ids_of[special]]
        start = i = i + len(special)
    return ids + gpt2_oracle().encode_ordinary(text[start:])


def fresh_text(heldout_rng, length: int) -> str:
    parts, total = [], 0
    while total < length:
        kind = heldout_rng.random()
        if kind < 0.3:
            at = integers(heldout_rng, 0, len(SHAKESPEARE) - 400)
            piece = SHAKESPEARE[at : at + integers(heldout_rng, 5, 300)]
        elif kind < 0.6:
            low, high = SCRIPTS[integers(heldout_rng, 0, len(SCRIPTS) - 1)]
            piece = "".join(chr(integers(heldout_rng, low, high)) for _ in range(integers(heldout_rng, 1, 12)))
        elif kind < 0.9:
            piece = AWKWARD[integers(heldout_rng, 0, len(AWKWARD) - 1)]
        else:
            piece = [EOT, DOUBLE, EOT + " ", "\n" + EOT + "\n"][integers(heldout_rng, 0, 3)]
        parts.append(piece)
        total += len(piece)
    return "".join(parts)


def first_difference(got: list[int], expected: list[int]) -> str:
    k = next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), min(len(got), len(expected)))
    return f"ids differ at position {k}: got {got[k:k + 5]}, expected {expected[k:k + 5]} ({len(got)} vs {len(expected)} ids)"


def _tokenizer(specials: list[str]):
    vocab, merges = vocab_with(specials)
    return get_tokenizer(vocab, merges, special_tokens=specials or None)


@pytest.mark.parametrize("specials", SPECIAL_SETS, ids=["no_specials", "eot", "overlapping", "overlapping_reversed"])
def test_encode_and_decode_match_tiktoken_on_fresh_texts(heldout_rng, specials):
    tokenizer = _tokenizer(specials)
    for _ in range(6):
        text = fresh_text(heldout_rng, integers(heldout_rng, 1, 400))
        got, expected = tokenizer.encode(text), expected_ids(text, specials)
        assert got == expected, (
            f"encoding {text[:80]!r}... with special tokens {specials}: {first_difference(got, expected)}. Split off "
            f"special tokens first (longest match where they overlap), pre-tokenise with GPT-2's pattern, and apply "
            f"merges to each pre-token in order of merge rank (lowest first)"
        )
        assert tokenizer.decode(got) == text, f"decode(encode(text)) does not give back {text[:80]!r}..."


@lru_cache(maxsize=1)
def partial_character_ids() -> list[int]:
    """GPT-2 ids whose bytes are not valid UTF-8 on their own (pieces of multi-byte characters)."""
    vocab, _ = gpt2_vocab_and_merges()
    ids = []
    for i, token in vocab.items():
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            ids.append(i)
    return ids


def test_decode_of_fresh_id_sequences_replaces_invalid_utf8(heldout_rng):
    tokenizer = _tokenizer([EOT])
    vocab, _ = gpt2_vocab_and_merges()
    partial = partial_character_ids()
    for _ in range(20):
        # random ids, half of them pieces of multi-byte characters: the joined bytes are often not UTF-8
        ids = [
            partial[integers(heldout_rng, 0, len(partial) - 1)] if heldout_rng.random() < 0.5 else integers(heldout_rng, 0, 50255)
            for _ in range(integers(heldout_rng, 1, 12))
        ]
        expected = b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")
        try:
            got = tokenizer.decode(ids)
        except UnicodeDecodeError as e:
            raise AssertionError(
                f"decode({ids}) raised UnicodeDecodeError ({e.reason}): bytes that are not valid UTF-8 must become U+FFFD"
            ) from None
        assert got == expected, (
            f"decode({ids}) = {got!r}, expected {expected!r}: join the bytes of ALL the tokens, then decode UTF-8 "
            f"once with errors='replace'"
        )


def test_encode_iterable_matches_whole_text_for_fresh_chunkings(heldout_rng):
    specials = SPECIAL_SETS[integers(heldout_rng, 1, len(SPECIAL_SETS) - 1)]
    tokenizer = _tokenizer(specials)
    # longer than 64K characters: an encoder that reads ahead in blocks has to cut somewhere
    text = fresh_text(heldout_rng, integers(heldout_rng, 70_000, 120_000))
    expected = expected_ids(text, specials)
    for _ in range(2):
        cuts = sorted(set(heldout_rng.integers(0, len(text) + 1, size=integers(heldout_rng, 1, 3000)).tolist()))
        chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
        got = list(tokenizer.encode_iterable(chunks))
        assert got == expected, (
            f"encode_iterable over {len(chunks)} chunks of a {len(text)}-character text with special tokens {specials}: "
            f"{first_difference(got, expected)}. A chunk edge may fall inside a word, a run of whitespace or a special "
            f"token; every character must be encoded exactly once, including what is left after the last chunk"
        )
