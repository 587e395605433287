"""Held-out: Linear on fresh widths and batch shapes against F.linear in float64."""

from __future__ import annotations

import pytest
import torch.nn.functional as F

from grading.heldout.draw import describe, f64, integers, leading_shape, normal, weight
from tests.adapters import run_linear
from tests.numerics import assert_close

pytestmark = [pytest.mark.problem("linear"), pytest.mark.heldout]

# A float32 dot product of d_in <= 64 terms with O(1) products is off by a few 1e-7 (sqrt(d_in)·2^-24 per
# term, measured below 1e-6); 1e-5 leaves a wide margin while a transposed or wrongly indexed weight, or
# a matmul in bf16 (errors ~1e-2), fails by orders of magnitude.
TOL = 1e-5


@pytest.mark.parametrize("square", [False, True], ids=["rectangular", "square"])
def test_linear_matches_float64_f_linear_on_fresh_shapes(heldout_rng, square):
    d_in = integers(heldout_rng, 1, 64)
    d_out = d_in if square else integers(heldout_rng, 1, 64)
    while not square and d_out == d_in:
        d_out = integers(heldout_rng, 1, 64)
    w = weight(heldout_rng, d_out, d_in)
    x = normal(heldout_rng, *leading_shape(heldout_rng, 3), d_in)
    expected = F.linear(f64(x), f64(w)).float()
    assert_close(
        run_linear(d_in, d_out, w, x), expected, atol=TOL, rtol=TOL,
        hint=f"Linear with {describe(d_in=d_in, d_out=d_out, in_features=x)} differs from x @ W.T "
        f"(W has shape (d_out, d_in); keep every leading axis of the input)",
    )
