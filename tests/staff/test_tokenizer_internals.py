"""Staff: properties of the reference pre-tokeniser's safe cuts (the student starter has its own helpers).

The trainer and the streaming encoder are only correct if every cut they make leaves the pre-tokens
unchanged; these tests check that on adversarial text, against the published GPT-2 pattern.
"""

from __future__ import annotations

from collections import Counter

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs336_basics.tokenizer.pretokenize import (
    count_pretokens,
    find_chunk_boundaries,
    last_safe_cut,
    pretokens,
    split_on_special_tokens,
)
from tests.oracles.bpe import GPT2_PATTERN, naive_pretokens

pytestmark = pytest.mark.staff

EOT = "<|endoftext|>"
SPECIALS = [EOT, EOT + EOT, "<|a b|>"]  # overlapping, and one with a space inside
PIECES = [" ", "  ", "\n", "\n\n", "\t", "\u00a0", "\u3000", "a", "ab", "'s", "é", "東", "😀", "7", "!", "<|", *SPECIALS]
AWKWARD = st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=40).map("".join)
SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def pieces(text: str) -> list[str]:
    """Special tokens and pre-tokens of `text`, in order (the reference splitter, GPT-2's published pattern)."""
    out = []
    for k, part in enumerate(split_on_special_tokens(text, SPECIALS)):
        out += [part] if k % 2 else regex.findall(GPT2_PATTERN, part)
    return out


@given(AWKWARD, AWKWARD)
@SETTINGS
def test_last_safe_cut_is_safe_whatever_follows(text, suffix):
    cut = last_safe_cut(text, SPECIALS)
    assert 0 <= cut <= len(text)
    assert pieces(text[:cut]) + pieces(text[cut:] + suffix) == pieces(text + suffix)


@given(AWKWARD, st.integers(2, 7))
@SETTINGS
def test_find_chunk_boundaries_keep_counts(tmp_path_factory, text, num_chunks):
    path = tmp_path_factory.mktemp("chunks") / "text.txt"
    data = text.encode("utf-8")
    path.write_bytes(data)
    bounds = find_chunk_boundaries(path, num_chunks, SPECIALS)
    assert bounds[0] == 0 and bounds[-1] == len(data) and bounds == sorted(set(bounds)) or data == b""
    parts = [data[a:b].decode("utf-8") for a, b in zip(bounds, bounds[1:])]
    assert sum((count_pretokens(p, SPECIALS) for p in parts), Counter()) == count_pretokens(text, SPECIALS)


def test_pretokens_fast_ascii_pattern_agrees_on_every_pair_of_ascii_characters():
    # Every ordered pair of the 128 ASCII characters appears side by side (and around a space and a
    # contraction): the standard-library pattern must split exactly like GPT-2's Unicode pattern.
    text = "".join(chr(a) + chr(b) + " 's" for a in range(128) for b in range(128))
    assert text.isascii()
    assert pretokens(text) == regex.findall(GPT2_PATTERN, text)


@given(AWKWARD)
@SETTINGS
def test_pretokens_match_the_published_pattern_on_awkward_text(text):
    assert pretokens(text) == regex.findall(GPT2_PATTERN, text)


# Long ASCII stretches with rare non-ASCII characters: the mixed path alternates between the fast
# ASCII pattern and `regex`, cutting at safe places next to each non-ASCII character.
ASCII_RUN = st.lists(st.sampled_from([*"ab Z9 \n\t'.!", "'s", "  ", "\n\n"]), max_size=400).map("".join)
MIXED = st.lists(ASCII_RUN | st.sampled_from(PIECES[:16]), max_size=12).map("".join)


@given(MIXED)
@SETTINGS
def test_pretokens_match_the_published_pattern_on_mostly_ascii_text(text):
    assert pretokens(text) == regex.findall(GPT2_PATTERN, text)


def test_count_pretokens_matches_naive_oracle():
    text = f"a  b\n\n c{EOT}{EOT}d's 東京 {EOT}\t\t e   "
    assert count_pretokens(text, SPECIALS) == {k.decode(): v for k, v in naive_pretokens(text, SPECIALS).items()}


def test_find_chunk_boundaries_cuts_a_large_file_into_the_requested_chunks(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(("word " * 20 + "\n\n" + EOT) * 500, encoding="utf-8")
    bounds = find_chunk_boundaries(path, 4, [EOT])
    assert len(bounds) == 5, f"expected 4 chunks, got boundaries {bounds}"


@given(st.text(alphabet="ab c\n", max_size=80), st.integers(0, 30))
@SETTINGS
def test_train_bpe_matches_naive_oracle_on_random_text(tmp_path_factory, text, num_merges):
    # Tiny alphabets make ties, overlapping pairs ("aaa") and repeated merges of the same bytes common.
    from cs336_basics.tokenizer.train_bpe import train_bpe
    from tests.oracles.bpe import naive_train_bpe

    path = tmp_path_factory.mktemp("bpe") / "text.txt"
    path.write_text(text, encoding="utf-8")
    got = train_bpe(path, 1 + 256 + num_merges, [EOT], num_processes=1)
    assert got == naive_train_bpe(text, 1 + 256 + num_merges, [EOT])
