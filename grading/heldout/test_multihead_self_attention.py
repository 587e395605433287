"""Held-out: causal multi-head self-attention (with and without RoPE) on fresh widths, heads and positions."""

from __future__ import annotations

import pytest
import torch

from grading.heldout.draw import describe, f64, integers, leading_shape, normal, weight
from tests.adapters import run_multihead_self_attention, run_multihead_self_attention_with_rope
from tests.numerics import assert_close
from tests.oracles.model import mha_reference

pytestmark = [pytest.mark.problem("multihead_self_attention"), pytest.mark.heldout]

# Four float32 projections over <= 48 terms plus attention over <= 10 keys: measured below 2e-6 on O(1)
# outputs; with RoPE (positions < 64, float32 angles allowed) up to 3e-5 more. Splitting heads in the
# wrong order, a causal mask shifted by one or RoPE on queries only change outputs by > 1e-2.
TOL = 1e-5
ROPE_TOL = 5e-5


def _draw(heldout_rng):
    num_heads = int(heldout_rng.choice([2, 3, 4]))
    head_dim = 2 * integers(heldout_rng, 1, 6)  # even, so RoPE applies
    d_model = num_heads * head_dim
    ws = [weight(heldout_rng, d_model, d_model) for _ in range(4)]
    x = normal(heldout_rng, *leading_shape(heldout_rng, 2), integers(heldout_rng, 2, 10), d_model)
    return d_model, num_heads, ws, x


def test_mha_matches_float64_reference_on_fresh_widths(heldout_rng):
    d_model, num_heads, ws, x = _draw(heldout_rng)
    expected = mha_reference(f64(x), *map(f64, ws), num_heads).float()
    assert_close(
        run_multihead_self_attention(d_model, num_heads, *ws, x), expected, atol=TOL, rtol=TOL,
        hint=f"causal MHA with {describe(d_model=d_model, num_heads=num_heads, in_features=x)} differs from the "
        f"float64 reference: the projections' rows are ordered (head, head_dim); each query attends to itself "
        f"and earlier positions only; the heads are concatenated and projected by o_proj",
    )


def test_mha_with_rope_matches_float64_reference_on_fresh_positions(heldout_rng):
    d_model, num_heads, ws, x = _draw(heldout_rng)
    seq, theta = x.shape[-2], float(heldout_rng.choice([10000.0, 500.0]))
    max_seq_len = integers(heldout_rng, seq, 64)
    # increasing positions with gaps, as for a packed sequence; one row per batch element
    distinct = heldout_rng.random((*x.shape[:-2], max_seq_len)).argsort(axis=-1)[..., :seq]
    positions = torch.from_numpy(distinct).sort(dim=-1).values
    expected = mha_reference(f64(x), *map(f64, ws), num_heads, positions=positions, theta=theta).float()
    actual = run_multihead_self_attention_with_rope(d_model, num_heads, max_seq_len, theta, *ws, x, positions)
    assert_close(
        actual, expected, atol=ROPE_TOL, rtol=ROPE_TOL,
        hint=f"MHA with RoPE, {describe(d_model=d_model, num_heads=num_heads, theta=theta, in_features=x)} and "
        f"token_positions {positions.flatten()[:8].tolist()}... differs: rotate the queries AND keys (not the "
        f"values) of every head by the given token_positions",
    )
