"""Held-out: the pre-norm Transformer block on fresh widths, heads and weights against the float64 reference."""

from __future__ import annotations

import pytest
import torch

from grading.heldout.draw import describe, integers, normal
from tests.adapters import run_transformer_block
from tests.numerics import assert_close
from tests.oracles.model import _block_weights, block_reference

pytestmark = [pytest.mark.problem("transformer_block"), pytest.mark.heldout]

# Attention (with RoPE, float32 angles allowed at positions < 32) and a SwiGLU over <= 96 hidden units,
# two RMSNorms and two residual adds on O(1) activations: measured below 5e-6; 5e-5 leaves margin while
# post-norm, a shared norm or the FFN reading the block input change outputs by > 1e-2.
TOL = 5e-5


def test_transformer_block_matches_float64_reference_on_fresh_config(heldout_rng):
    num_heads = int(heldout_rng.choice([1, 2, 4]))
    d_model = num_heads * 2 * integers(heldout_rng, 1, 4)
    d_ff = integers(heldout_rng, d_model, 96)
    seq = integers(heldout_rng, 1, 12)
    max_seq_len, theta = integers(heldout_rng, seq, 32), float(heldout_rng.choice([10000.0, 1000.0]))
    weights = {k: torch.from_numpy(v) for k, v in _block_weights(heldout_rng, "", d_model, num_heads, d_ff).items()}
    x = normal(heldout_rng, integers(heldout_rng, 1, 3), seq, d_model)
    expected = block_reference(x.double(), {k: v.double() for k, v in weights.items()}, "", num_heads, theta).float()
    config = describe(d_model=d_model, num_heads=num_heads, d_ff=d_ff, theta=theta, in_features=x)
    assert_close(
        run_transformer_block(d_model, num_heads, d_ff, max_seq_len, theta, weights, x), expected, atol=TOL, rtol=TOL,
        hint=f"the Transformer block with {config} differs from the float64 reference "
        f"h = x + attn(ln1(x)); out = h + ffn(ln2(h)) (causal RoPE attention, SwiGLU)",
    )


