"""Linear (no bias): values against torch's F.linear in float64, initialisation statistics, shape errors."""

import math

import pytest
import torch

from tests.adapters import run_linear
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("linear")

# The oracle is float64 rounded to float32; a float32 dot product over d_in = 24 terms of O(1) products
# is off by at most a few 1e-7 (measured 3.6e-7). 1e-5 absorbs that with margin, while a bf16 matmul
# (errors ~1e-2 here) or any wrong weight use fails by orders of magnitude.
ATOL = RTOL = 1e-5


def test_linear_matches_torch_linear_oracle():
    f = load_tensors("linear")
    actual = run_linear(24, 40, f["weight"], f["in_features"])
    assert_close(
        actual, f["expected"], atol=ATOL, rtol=RTOL,
        hint="Linear output differs from x @ W.T (W has shape (d_out, d_in); compute in the input's "
        "float32, not a lower precision)",
    )


def test_linear_accepts_any_leading_dims():
    f = load_tensors("linear")
    x, expected = f["in_features"], f["expected"]  # (2, 5, 24) -> (2, 5, 40)
    for x_part, expected_part in [(x[0, 0], expected[0, 0]), (x[0], expected[0]), (x[None, None], expected[None, None])]:
        actual = run_linear(24, 40, f["weight"], x_part)
        shape = (*x_part.shape[:-1], 40)
        assert actual.shape == shape, f"input {tuple(x_part.shape)} should give {shape}, got {tuple(actual.shape)}"
        assert_close(actual, expected_part, atol=ATOL, rtol=RTOL)


def test_linear_has_only_a_weight_of_shape_out_by_in():
    from cs336_basics.nn.layers import Linear

    layer = Linear(3, 5, dtype=torch.float64)
    state = layer.state_dict()
    assert list(state) == ["weight"], f"Linear must hold exactly one parameter named 'weight' (no bias); got {list(state)}"
    assert state["weight"].shape == (5, 3), f"weight must have shape (out_features, in_features) = (5, 3), got {tuple(state['weight'].shape)}"
    assert state["weight"].dtype == torch.float64, "the dtype argument must reach the weight"


def test_linear_init_is_truncated_normal_with_glorot_variance():
    from cs336_basics.nn.layers import Linear

    torch.manual_seed(0)
    d_in, d_out = 256, 512
    w = Linear(d_in, d_out).weight.detach().double()
    sigma = math.sqrt(2 / (d_in + d_out))
    n = w.numel()
    # Truncating N(0, σ²) at ±3σ leaves std σ·sqrt(1 - 6φ(3)/(2Φ(3) - 1)) = 0.98657σ.
    expected_std = 0.98657 * sigma
    # The sample std of n = 131072 draws has relative spread ~1/sqrt(2n) = 0.2%; 2% is ~10 spreads.
    assert abs(w.std().item() / expected_std - 1) < 0.02, (
        f"Linear init std is {w.std().item():.5f}; expected about {expected_std:.5f} (σ = sqrt(2 / (d_in + d_out)) = "
        f"{sigma:.5f}, truncated at ±3σ)"
    )
    assert abs(w.mean().item()) < 5 * sigma / math.sqrt(n), f"Linear init mean {w.mean().item():.2e} should be 0"
    largest = w.abs().max().item()
    assert largest <= 3 * sigma * (1 + 1e-6), f"Linear init must be clipped at ±3σ = {3 * sigma:.5f}; found {largest:.5f}"
    # About 0.1% of the draws lie between 2.9σ and 3σ: clipping at a smaller bound shows here.
    assert largest > 2.9 * sigma, f"largest |w| is {largest / sigma:.2f}σ: are you clipping at ±3σ (not ±2σ or ±2)?"


def test_linear_rejects_input_of_wrong_width():
    f = load_tensors("linear")
    with pytest.raises(ValueError, match="24"):
        run_linear(24, 40, f["weight"], torch.zeros(2, 23))
