"""Held-out: decoding a fresh LM chunk by chunk with a key/value cache, in fresh chunkings, against the
float64 reference of the full forward pass."""

from __future__ import annotations

import pytest

from grading.heldout.draw import describe, integers, lm_problem
from tests.adapters import run_transformer_lm_with_kv_cache
from tests.numerics import assert_close

pytestmark = [pytest.mark.problem("kv_cache"), pytest.mark.heldout]

TOL = 5e-5  # as test_transformer_lm.py: the cached path does the same float32 arithmetic in other shapes


@pytest.mark.parametrize("chunking", ["token_by_token", "random_chunks"])
def test_kv_cache_decoding_matches_full_forward_on_fresh_lm(heldout_rng, chunking):
    config, weights, ids, expected = lm_problem(heldout_rng, 1, 2)
    seq = ids.shape[1]
    if chunking == "token_by_token":
        chunks = [1] * seq
    else:
        chunks, left = [], seq
        while left:
            chunks.append(integers(heldout_rng, 1, left))
            left -= chunks[-1]
    actual = run_transformer_lm_with_kv_cache(**config, weights=weights, in_indices=ids, chunk_sizes=chunks)
    assert_close(
        actual, expected, atol=TOL, rtol=TOL,
        hint=f"cached decoding in chunks {chunks} of the LM with {describe(**config, in_indices=ids)} differs from the "
        f"full forward: new tokens take positions cache length, cache length + 1, ... (RoPE too) and attend to every "
        f"cached key and, causally, to each other",
    )
