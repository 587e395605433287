"""softmax against torch.softmax in float64, along every dim and on inputs that overflow exp."""

import pytest
import torch

from tests.adapters import run_softmax
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("softmax")

# Probabilities are O(1): float32 exp and a sum over <= 5 terms are within a few 1e-8 (measured 1.2e-7
# absolute); 1e-6 keeps margin yet sees any wrong axis or normalisation.
ATOL = RTOL = 1e-6


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_softmax_matches_torch_softmax_oracle_along_dim(dim):
    f = load_tensors("softmax")
    expected = f[f"expected_dim{dim % 3}"]
    assert_close(
        run_softmax(f["in_features"], dim), expected, atol=ATOL, rtol=RTOL,
        hint=f"softmax along dim={dim} is wrong: normalise along the given dim only",
    )


@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_is_stable_for_inputs_offset_by_1000(dim):
    # softmax(x + c) = softmax(x); exp(1000) overflows float32, so subtract the max first.
    f = load_tensors("softmax")
    actual = run_softmax(f["in_features_plus_1000"], dim)
    assert torch.isfinite(actual).all(), "softmax of x + 1000 has inf/NaN: subtract the max along dim before exp"
    assert_close(actual, f[f"expected_plus_1000_dim{dim % 3}"], atol=ATOL, rtol=RTOL)


def test_softmax_subtracts_the_max_of_each_slice_not_a_global_max():
    # Rows offset by -1000, 0 and +1000: with one global max the low rows underflow to 0 / 0.
    f = load_tensors("softmax")
    actual = run_softmax(f["in_features_row_offsets"], -1)
    assert torch.isfinite(actual).all(), "softmax gave inf/NaN on rows of very different size: subtract each slice's own max (keepdim=True)"
    assert_close(actual, f["expected_row_offsets"], atol=ATOL, rtol=RTOL)
