"""Held-out: scaled dot-product attention on fresh shapes and masks against float64 F.scaled_dot_product_attention."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from grading.heldout.draw import describe, f64, integers, leading_shape, normal
from tests.adapters import run_scaled_dot_product_attention
from tests.numerics import assert_close

pytestmark = [pytest.mark.problem("scaled_dot_product_attention"), pytest.mark.heldout]

# float32 Q·K over d_k <= 32 terms, a softmax over <= 12 keys and a weighted sum: measured below 1e-6 on
# O(1) outputs; 1e-5 leaves margin while a scale of 1/d_k, a softmax over queries or an inverted mask
# changes outputs by > 1e-2.
TOL = 1e-5


def _qkv(heldout_rng):
    batch = leading_shape(heldout_rng, 2, min_dims=1)
    queries, keys = integers(heldout_rng, 1, 10), integers(heldout_rng, 2, 12)
    d_k, d_v = integers(heldout_rng, 4, 32), integers(heldout_rng, 1, 16)
    return normal(heldout_rng, *batch, queries, d_k), normal(heldout_rng, *batch, keys, d_k), normal(heldout_rng, *batch, keys, d_v)


def test_sdpa_without_mask_matches_float64_oracle(heldout_rng):
    q, k, v = _qkv(heldout_rng)
    assert_close(
        run_scaled_dot_product_attention(q, k, v), F.scaled_dot_product_attention(f64(q), f64(k), f64(v)).float(),
        atol=TOL, rtol=TOL,
        hint=f"attention with {describe(Q=q, K=k, V=v)} differs from softmax(Q K^T / sqrt(d_k)) V (softmax over keys)",
    )


def test_sdpa_with_fresh_mask_matches_float64_oracle(heldout_rng):
    q, k, v = _qkv(heldout_rng)
    mask = torch.from_numpy(heldout_rng.random((*q.shape[:-1], k.shape[-2])) < heldout_rng.uniform(0.3, 0.8))
    # every query keeps at least one key (fully masked rows are graded by the attention extras)
    keep = torch.from_numpy(heldout_rng.integers(0, k.shape[-2], size=mask.shape[:-1]))
    mask.scatter_(-1, keep[..., None], True)
    expected = F.scaled_dot_product_attention(f64(q), f64(k), f64(v), attn_mask=mask).float()
    assert_close(
        run_scaled_dot_product_attention(q, k, v, mask), expected, atol=TOL, rtol=TOL,
        hint=f"masked attention with {describe(Q=q, K=k, V=v, mask=mask)} differs from the oracle: mask[..., i, j] "
        f"True means query i MAY attend to key j; masked scores become -inf before the softmax over keys",
    )
