"""Incremental decoding with a key/value cache (extra) gives the logits of one full forward, which
tests/test_transformer_lm.py checks against a float64 reference."""

import pytest

from tests.adapters import run_transformer_lm_with_kv_cache
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("kv_cache")

# The cached path multiplies the same float32 numbers, only with different matmul shapes (1 query vs
# 12), so results differ from the float64 reference by what the full forward does (< 1e-6 on logits of
# size ~2); 1e-5 keeps margin. A wrong position offset or a mask that hides/shows the wrong keys is off
# by > 1e-2.
ATOL = RTOL = 1e-5
SHAPE_KEYS = ("vocab_size", "context_length", "d_model", "num_layers", "num_heads", "d_ff", "rope_theta")


@pytest.mark.parametrize(
    "chunks", [[1] * 12, [5, 1, 3, 3], [12], [2, 10]], ids=["token_by_token", "uneven_chunks", "one_chunk", "prompt_of_two"]
)
def test_kv_cache_decoding_matches_full_forward_reference(chunks):
    f = load_tensors("transformer_lm")
    shape = [int(f[k]) if k != "rope_theta" else float(f[k]) for k in SHAPE_KEYS]
    weights = {k.removeprefix("weights."): v for k, v in f.items() if k.startswith("weights.")}
    ids = f["in_indices"][:, :12]
    actual = run_transformer_lm_with_kv_cache(*shape, weights, ids, chunks)
    assert_close(
        actual, f["expected"][:, :12], atol=ATOL, rtol=RTOL,
        hint=f"cached decoding in chunks {chunks} differs from the full forward: new tokens take positions "
        "cache length, cache length + 1, ... (RoPE too) and attend to every cached key and to themselves causally",
    )
