"""Held-out: SiLU over a fresh spread of magnitudes and SwiGLU on fresh widths, against float64 torch."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from grading.heldout.draw import describe, f64, integers, leading_shape, normal, weight
from tests.adapters import run_silu, run_swiglu
from tests.numerics import assert_close

pytestmark = [pytest.mark.problem("positionwise_feedforward"), pytest.mark.heldout]


def test_silu_matches_float64_silu_from_tiny_to_huge_inputs(heldout_rng):
    shape = (*leading_shape(heldout_rng, 2), integers(heldout_rng, 20, 100))
    # magnitudes 1e-3 .. 1e3 of both signs: exp(x) overflows float32 beyond 88.7, exp(-x) below -88.7
    sign = heldout_rng.choice([-1.0, 1.0], size=shape)
    x = torch.from_numpy(sign * 10.0 ** heldout_rng.uniform(-3, 3, size=shape)).float()
    # float32 sigmoid and one product: a few ulps relative; 1e-6 absolute covers outputs near 0
    assert_close(
        run_silu(x), F.silu(f64(x)).float(), atol=1e-6, rtol=1e-6,
        hint=f"SiLU on {describe(in_features=x)} with |x| from 1e-3 to 1e3 differs from x * sigmoid(x) "
        f"(it must stay finite when exp(x) or exp(-x) overflows)",
    )


def test_swiglu_matches_float64_oracle_on_fresh_widths(heldout_rng):
    d_model, d_ff = integers(heldout_rng, 2, 48), integers(heldout_rng, 2, 96)
    w1, w2, w3 = weight(heldout_rng, d_ff, d_model), weight(heldout_rng, d_model, d_ff), weight(heldout_rng, d_ff, d_model)
    x = normal(heldout_rng, *leading_shape(heldout_rng, 2), integers(heldout_rng, 1, 6), d_model)
    expected = F.linear(F.silu(F.linear(f64(x), f64(w1))) * F.linear(f64(x), f64(w3)), f64(w2)).float()
    # three float32 matmuls over <= 96 terms and a SiLU: measured below 1e-6; 1e-5 leaves margin while
    # swapping w1 and w3 or applying SiLU after the gate moves outputs by > 1e-2
    assert_close(
        run_swiglu(d_model, d_ff, w1, w2, w3, x), expected, atol=1e-5, rtol=1e-5,
        hint=f"SwiGLU with {describe(d_model=d_model, d_ff=d_ff, in_features=x)} differs from "
        f"W2 (SiLU(W1 x) * W3 x)",
    )
