"""scaled_dot_product_attention against torch's F.scaled_dot_product_attention in float64, with masks,
fully masked queries (zeros by our convention) and 4-D batches."""

import pytest
import torch

from tests.adapters import run_scaled_dot_product_attention
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("scaled_dot_product_attention")

# Two float32 matmuls over d_k = 8 and <= 6 keys plus a softmax: outputs O(1) are within ~1e-7 of the
# float64 oracle (measured 1.2e-7). 1e-5 keeps a wide margin; scaling by d_k instead of sqrt(d_k) or an
# inverted mask changes outputs by > 1e-2.
ATOL = RTOL = 1e-5


def test_sdpa_without_mask_matches_torch_sdpa_oracle():
    f = load_tensors("scaled_dot_product_attention")
    assert_close(
        run_scaled_dot_product_attention(f["Q"], f["K"], f["V"]), f["expected_no_mask"], atol=ATOL, rtol=RTOL,
        hint="attention differs from softmax(Q K^T / sqrt(d_k)) V",
    )


def test_sdpa_with_mask_matches_oracle_and_zeros_fully_masked_queries():
    f = load_tensors("scaled_dot_product_attention")
    actual = run_scaled_dot_product_attention(f["Q"], f["K"], f["V"], f["mask"])
    assert not torch.isnan(actual).any(), (
        "attention returned NaN: a query whose keys are all masked must return zeros (see the docstring)"
    )
    assert_close(
        actual, f["expected_mask"], atol=ATOL, rtol=RTOL,
        hint="masked attention is wrong: mask True means 'may attend' (masked-out scores become -inf)",
    )


def test_sdpa_with_4d_inputs_matches_oracle():
    f = load_tensors("scaled_dot_product_attention")
    actual = run_scaled_dot_product_attention(f["Q_4d"], f["K_4d"], f["V_4d"], f["mask_4d"])
    assert_close(
        actual, f["expected_4d"], atol=ATOL, rtol=RTOL,
        hint="attention over (batch, heads, seq, d) inputs is wrong: use '...' for the leading dims",
    )


def test_sdpa_broadcasts_a_queries_by_keys_mask_over_the_batch():
    f = load_tensors("scaled_dot_product_attention")
    actual = run_scaled_dot_product_attention(f["Q_4d"], f["K_4d"], f["V_4d"], f["mask_shared"])
    assert_close(actual, f["expected_4d_shared_mask"], atol=ATOL, rtol=RTOL)


def test_sdpa_gradients_stay_finite_for_fully_masked_queries():
    f = load_tensors("scaled_dot_product_attention")
    q, k, v = (f[n].clone().requires_grad_() for n in ("Q", "K", "V"))
    run_scaled_dot_product_attention(q, k, v, f["mask"]).sum().backward()
    for name, t in (("Q", q), ("K", k), ("V", v)):
        assert torch.isfinite(t.grad).all(), f"the gradient w.r.t. {name} has inf/NaN when a query is fully masked"


def test_sdpa_rejects_mismatched_key_width():
    f = load_tensors("scaled_dot_product_attention")
    with pytest.raises(ValueError):
        run_scaled_dot_product_attention(f["Q"], f["K"][..., :7], f["V"])
