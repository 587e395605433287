"""Parallel BPE pre-tokenisation (extra): the same merges and vocabulary with 2, 3 and 4 processes as
the naive oracle (tests/oracles/bpe.py) gives, on a corpus where cutting at even byte offsets changes
the pre-token counts."""

from __future__ import annotations

import pytest

from tests.adapters import run_train_bpe_parallel
from tests.test_train_bpe import assert_same_merges, assert_same_vocab, load_case

pytestmark = pytest.mark.problem("train_bpe_parallel")


@pytest.mark.parametrize("num_processes", [2, 3, 4])
def test_train_bpe_parallel_matches_naive_oracle(num_processes):
    # chunking.txt is full of "\n\n", runs of spaces, special tokens and multi-byte characters: cutting it
    # into chunks at even byte offsets changes the pre-token counts (the oracle checks this).
    path, vocab_size, specials, expected_vocab, expected_merges = load_case("chunking")
    vocab, merges = run_train_bpe_parallel(path, vocab_size, specials, num_processes)
    try:
        assert_same_merges(merges, expected_merges)
        assert_same_vocab(vocab, expected_vocab)
    except AssertionError as e:
        raise AssertionError(
            f"with num_processes={num_processes}: {e}\nChunk boundaries must not fall inside a pre-token, a run "
            f"of whitespace or a special token (e.g. cut just before a special token)."
        ) from None
