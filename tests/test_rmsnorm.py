"""RMSNorm: values against torch's F.rms_norm in float64, eps inside the square root, float32 statistics
for low-precision inputs.

(Gain initialisation: tests/test_module_init.py; bad input: tests/test_input_validation.py.)"""

import pytest
import torch

from tests.adapters import run_rmsnorm
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("rmsnorm")

# float32 mean of 16 squares + rsqrt + two products: a few float32 ulps (measured 2.4e-7 on O(1)
# outputs); 1e-6 keeps a 4x margin and still sees any change in the formula.
ATOL = RTOL = 1e-6


def _run(f, key):
    return run_rmsnorm(16, float(f["eps"]), f["weight"], f[key])


def test_rmsnorm_matches_torch_rms_norm_oracle():
    f = load_tensors("rmsnorm")
    assert_close(
        _run(f, "in_features"), f["expected"], atol=ATOL, rtol=RTOL,
        hint="RMSNorm differs from x / sqrt(mean(x², last axis) + eps) * weight",
    )


def test_rmsnorm_puts_eps_inside_the_square_root_for_small_inputs():
    # Inputs with RMS ~1e-3: mean(x²) ~1e-6 is smaller than eps = 1e-5, so sqrt(ms + eps) and
    # sqrt(ms) + eps differ by a factor of ~3.
    f = load_tensors("rmsnorm")
    assert_close(
        _run(f, "in_features_small"), f["expected_small"], atol=ATOL, rtol=RTOL,
        hint="RMSNorm on inputs of RMS ~1e-3 is wrong: eps goes inside the square root, sqrt(mean(x²) + eps)",
    )


def test_rmsnorm_float16_input_is_normalised_in_float32():
    # Values ~1e3: their squares overflow float16 (max 65504), so only float32 statistics give a finite
    # answer. Tolerance: the float16 output rounding, 2^-11 relative, plus float32 error.
    f = load_tensors("rmsnorm")
    actual = _run(f, "in_features_fp16")
    assert actual.dtype == torch.float16, f"RMSNorm must return the input dtype (float16), got {actual.dtype}"
    assert_close(
        actual.float(), f["expected_fp16"], atol=1e-3, rtol=1e-3,
        hint="RMSNorm on float16 inputs of size ~1e3 is wrong: upcast to float32 before squaring",
    )


def test_rmsnorm_bfloat16_input_is_normalised_in_float32():
    # Computed in float32 and rounded once, each output is within one bf16 rounding (2^-8 relative) of
    # the exact value. Statistics in bf16 add further roundings (x², the mean, rsqrt, two products),
    # which push some outputs past it.
    f = load_tensors("rmsnorm")
    actual = run_rmsnorm(16, float(f["eps"]), f["weight"], f["in_features_bf16"].bfloat16())
    assert actual.dtype == torch.bfloat16, f"RMSNorm must return the input dtype (bfloat16), got {actual.dtype}"
    assert_close(
        actual.float(), f["expected_bf16"], atol=1e-6, rtol=2**-8,
        hint="RMSNorm on bfloat16 inputs is imprecise: upcast to float32, normalise, then cast back",
    )
