"""scaled_dot_product_attention against torch's F.scaled_dot_product_attention in float64, with masks
and 4-D batches.

(A query whose keys are ALL masked is left open by the official handout; our convention, zeros and finite
gradients, is graded in the extra tests/test_attention_extras.py, so these tests never look at such rows.)"""

import pytest

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


def test_sdpa_with_mask_matches_oracle_on_queries_that_see_a_key():
    f = load_tensors("scaled_dot_product_attention")
    actual = run_scaled_dot_product_attention(f["Q"], f["K"], f["V"], f["mask"])
    seen = f["mask"].any(dim=-1)  # queries with at least one key they may attend to
    assert actual.shape == f["expected_mask"].shape, f"output shape {tuple(actual.shape)}, expected {tuple(f['expected_mask'].shape)}"
    assert_close(
        actual[seen], f["expected_mask"][seen], atol=ATOL, rtol=RTOL,
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
