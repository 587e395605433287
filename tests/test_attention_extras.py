"""Attention conventions beyond the official handout (extra): fully masked queries give zeros and finite
gradients, RoPE attention with token_positions=None uses positions 0..n-1, and heads wider than
d_model / num_heads. Expected values: float64 references from torch built-ins (tests/oracles/model.py)."""

import pytest
import torch

from tests import scenarios
from tests.adapters import (
    run_multihead_self_attention_with_head_dim,
    run_multihead_self_attention_with_rope,
    run_scaled_dot_product_attention,
)
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("attention_extras")

# as in test_scaled_dot_product_attention.py / test_multihead_self_attention.py: float32 matmuls over
# <= 64 terms are within ~5e-7 of the float64 references; 1e-5 keeps a wide margin
ATOL = RTOL = 1e-5
NAMES = ("q_proj_weight", "k_proj_weight", "v_proj_weight", "o_proj_weight")


def _weights(f, prefix=""):
    return [f[prefix + n] for n in NAMES]


def test_sdpa_fully_masked_queries_give_zeros():
    f = load_tensors("scaled_dot_product_attention")
    actual = run_scaled_dot_product_attention(f["Q"], f["K"], f["V"], f["mask"])
    blind = ~f["mask"].any(dim=-1)
    assert blind.any(), "test set-up: the fixture must hold a query with every key masked"
    assert not torch.isnan(actual).any(), (
        "attention returned NaN: a query whose keys are all masked must return zeros (-inf - -inf is NaN; "
        "zero the weights of such rows)"
    )
    assert_close(
        actual, f["expected_mask"], atol=ATOL, rtol=RTOL,
        hint="a query whose keys are all masked must give a zero vector (and the other queries the usual result); "
        "masking with a large negative number instead of -inf averages all values",
    )


def test_sdpa_gradients_stay_finite_for_fully_masked_queries():
    f = load_tensors("scaled_dot_product_attention")
    grads = scenarios.attention_gradients(f["Q"], f["K"], f["V"], f["mask"])
    for name, g in zip("QKV", grads):
        assert torch.isfinite(g).all(), f"the gradient w.r.t. {name} has inf/NaN when a query is fully masked"


def test_mha_with_rope_default_positions_are_0_to_n_minus_1():
    f = load_tensors("multihead_self_attention")
    actual = run_multihead_self_attention_with_rope(16, 4, int(f["max_seq_len"]), float(f["theta"]), *_weights(f), f["in_features"])
    assert_close(
        actual, f["expected_rope_arange"], atol=ATOL, rtol=RTOL,
        hint="with token_positions=None, RoPE must rotate queries and keys at positions 0, 1, ..., seq-1",
    )


def test_mha_with_wide_heads_matches_float64_reference():
    # head_dim = d_model: every one of the 4 heads projects to the full width 16 (projections 64 x 16).
    f = load_tensors("multihead_self_attention")
    actual = run_multihead_self_attention_with_head_dim(16, 4, 16, *_weights(f, "wide_"), f["in_features"])
    assert_close(
        actual, f["expected_wide"], atol=ATOL, rtol=RTOL,
        hint="wide heads (head_dim = d_model, projections (num_heads * head_dim, d_model)) are wrong: split the "
        "rows as (heads, head_dim) with head_dim from the argument, not d_model / num_heads",
    )


def test_mha_head_dim_hook_with_standard_heads_and_rope_matches_reference():
    # head_dim = d_model / num_heads, RoPE at the given positions: the same answer as the official hook
    f = load_tensors("multihead_self_attention")
    actual = run_multihead_self_attention_with_head_dim(
        16, 4, 4, *_weights(f), f["in_features"], f["token_positions"], float(f["theta"]), int(f["max_seq_len"])
    )
    assert_close(actual, f["expected_rope"], atol=ATOL, rtol=RTOL, hint="head_dim hook with RoPE at token_positions")
