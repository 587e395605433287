"""Held-out: RMSNorm on fresh widths, eps, gains and row scales against F.rms_norm in float64."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from grading.heldout.draw import describe, f64, gain, integers, leading_shape, normal
from tests.adapters import run_rmsnorm
from tests.numerics import assert_close

pytestmark = [pytest.mark.problem("rmsnorm"), pytest.mark.heldout]

# float32 mean of d <= 64 squares, rsqrt and two products: a few float32 ulps on O(1) outputs (measured
# below 1e-6). Rows scaled down to RMS 1e-4..1e-2 make eps (>= 1e-6) visible: sqrt(ms) + eps or a
# forgotten eps moves those outputs by > 1e-3 relative.
TOL = 2e-6
EPS_CHOICES = [1e-5, 1e-6, 1e-4]


def _inputs(heldout_rng, dtype):
    d_model = integers(heldout_rng, 2, 64)
    eps = float(heldout_rng.choice(EPS_CHOICES))
    shape = (*leading_shape(heldout_rng, 2, min_dims=1), d_model)
    # each row gets its own scale, some so small that eps dominates mean(x²)
    scales = torch.from_numpy(10.0 ** heldout_rng.uniform(-4, 1, size=(*shape[:-1], 1)))
    x = (normal(heldout_rng, *shape, dtype=torch.float64) * scales).to(dtype)
    return d_model, eps, gain(heldout_rng, d_model), x


def test_rmsnorm_matches_float64_rms_norm_on_fresh_rows(heldout_rng):
    d_model, eps, g, x = _inputs(heldout_rng, torch.float32)
    expected = F.rms_norm(f64(x), (d_model,), f64(g), eps).float()
    assert_close(
        run_rmsnorm(d_model, eps, g, x), expected, atol=TOL, rtol=TOL,
        hint=f"RMSNorm with {describe(d_model=d_model, eps=eps, in_features=x)} (rows of RMS 1e-4 to 10) differs "
        f"from x / sqrt(mean(x², last axis) + eps) * weight",
    )


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bfloat16", "float16"])
def test_rmsnorm_low_precision_input_matches_float32_statistics(heldout_rng, dtype):
    d_model, eps, g, x = _inputs(heldout_rng, torch.float32)
    # float16 rows up to 1e3 whose squares overflow float16 (max 65504): only float32 statistics survive
    x = (x * (300.0 if dtype == torch.float16 else 1.0)).to(dtype)
    expected = F.rms_norm(f64(x), (d_model,), f64(g.to(dtype)), eps).float()
    actual = run_rmsnorm(d_model, eps, g.to(dtype), x)
    assert actual.dtype == dtype, f"RMSNorm must return the input dtype ({dtype}), got {actual.dtype}"
    # computed in float32 and rounded once: within half an ulp of the output dtype (<= 2^-8 relative for
    # bf16, 2^-11 for fp16); float32 error before that rounding may tip it to the neighbour, so allow one
    # ulp (2^-7, 2^-10). Statistics in the low precision (x², a mean of up to 64 terms, rsqrt) are off by
    # several ulps, and float16 squares of values ~1e3 overflow to inf.
    rtol = 2**-7 if dtype == torch.bfloat16 else 2**-10
    assert_close(
        actual.float(), expected, atol=1e-6, rtol=rtol,
        hint=f"RMSNorm on {dtype} input with {describe(d_model=d_model, eps=eps, in_features=x)} is imprecise or "
        f"not finite: upcast to float32, normalise, multiply by the gain, then cast back",
    )
