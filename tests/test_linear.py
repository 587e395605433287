"""Linear (no bias): values against torch's F.linear in float64, for any leading dims.

(Initialisation and parameter names: tests/test_module_init.py; bad input: tests/test_input_validation.py.)"""

import pytest

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
