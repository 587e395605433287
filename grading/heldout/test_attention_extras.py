"""Held-out: the attention conventions of the extra problem on fresh shapes: fully masked queries give zeros
(and finite gradients), heads of any width through the head_dim hook, RoPE attention with default positions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from grading.heldout.draw import describe, f64, integers, leading_shape, normal, weight
from tests.adapters import run_multihead_self_attention_with_head_dim, run_scaled_dot_product_attention
from tests.numerics import assert_close
from tests.oracles.model import mha_reference
from tests.scenarios import attention_gradients

pytestmark = [pytest.mark.problem("attention_extras"), pytest.mark.heldout]

# float32 attention and projections over <= 48 terms: below 2e-6 on O(1) outputs (as in
# test_multihead_self_attention.py); with RoPE (positions < 32, float32 angles allowed) 3e-5 more.
TOL = 5e-5


def _masked_problem(heldout_rng):
    batch = leading_shape(heldout_rng, 2, min_dims=1)
    queries, keys, d_k, d_v = integers(heldout_rng, 2, 8), integers(heldout_rng, 2, 10), integers(heldout_rng, 4, 16), integers(heldout_rng, 1, 8)
    q, k, v = normal(heldout_rng, *batch, queries, d_k), normal(heldout_rng, *batch, keys, d_k), normal(heldout_rng, *batch, keys, d_v)
    mask = torch.from_numpy(heldout_rng.random((*batch, queries, keys)) < 0.5)
    blind = torch.from_numpy(heldout_rng.random((*batch, queries)) < 0.3)
    blind.view(-1)[integers(heldout_rng, 0, blind.numel() - 1)] = True  # at least one fully masked query
    mask &= ~blind[..., None]
    return q, k, v, mask


def test_sdpa_fully_masked_queries_give_zeros_on_fresh_masks(heldout_rng):
    q, k, v, mask = _masked_problem(heldout_rng)
    empty = ~mask.any(dim=-1, keepdim=True)
    expected = F.scaled_dot_product_attention(f64(q), f64(k), f64(v), attn_mask=mask | empty).masked_fill(empty, 0.0)
    assert_close(
        run_scaled_dot_product_attention(q, k, v, mask), expected.float(), atol=TOL, rtol=TOL,
        hint=f"attention with {describe(Q=q, K=k, V=v)} and {int(empty.sum())} fully masked queries: those must give "
        f"zero vectors (no NaN), every other query the usual softmax(QK^T/sqrt(d_k)) V over its allowed keys",
    )


def test_sdpa_gradients_stay_finite_for_fresh_fully_masked_queries(heldout_rng):
    q, k, v, mask = _masked_problem(heldout_rng)
    for name, g in zip("QKV", attention_gradients(q, k, v, mask)):
        assert torch.isfinite(g).all(), (
            f"the gradient w.r.t. {name} of attention with {describe(Q=q, K=k, V=v)} has inf/NaN where a query is fully masked"
        )


@pytest.mark.parametrize("positions", ["no_rope", "rope_default_positions"])
def test_mha_head_dim_hook_matches_float64_reference_on_fresh_widths(heldout_rng, positions):
    num_heads, d_model = integers(heldout_rng, 1, 4), 2 * integers(heldout_rng, 2, 8)
    head_dim = 2 * integers(heldout_rng, 1, 8)  # any width, d_model / num_heads or not
    inner = num_heads * head_dim
    ws = [weight(heldout_rng, inner, d_model) for _ in range(3)] + [weight(heldout_rng, d_model, inner)]
    x = normal(heldout_rng, *leading_shape(heldout_rng, 1), integers(heldout_rng, 2, 10), d_model)
    theta = 10000.0 if positions == "rope_default_positions" else None
    expected = mha_reference(f64(x), *map(f64, ws), num_heads, theta=theta).float()
    actual = run_multihead_self_attention_with_head_dim(
        d_model, num_heads, head_dim, *ws, x, None, theta, 32 if theta else None
    )
    assert_close(
        actual, expected, atol=TOL, rtol=TOL,
        hint=f"MHA with {describe(d_model=d_model, num_heads=num_heads, head_dim=head_dim, in_features=x)}"
        f"{' and RoPE at the default positions 0..seq-1' if theta else ''} differs from the float64 reference: "
        f"the projections hold num_heads * head_dim rows ordered (head, head_dim), head_dim from the argument",
    )
