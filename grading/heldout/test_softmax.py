"""Held-out: softmax along a fresh axis of fresh shapes, slices offset by up to ±2000, against float64."""

from __future__ import annotations

import pytest
import torch

from grading.heldout.draw import describe, f64, integers, normal
from tests.adapters import run_softmax
from tests.numerics import assert_close

pytestmark = [pytest.mark.problem("softmax"), pytest.mark.heldout]

# Subtracting a slice's max is exact in float32 for values within a factor 2 of it (Sterbenz); exp, sum
# and division then add a few ulps: 1e-6 absolute and relative leaves a wide margin on outputs <= 1.
TOL = 1e-6


def test_softmax_matches_float64_along_a_fresh_dim_with_large_slice_offsets(heldout_rng):
    ndim = integers(heldout_rng, 1, 4)
    shape = tuple(integers(heldout_rng, 1, 6) for _ in range(ndim))
    dim = integers(heldout_rng, 0, ndim - 1)
    shape = tuple(max(n, 2) if i == dim else n for i, n in enumerate(shape))
    x = normal(heldout_rng, *shape, std=float(heldout_rng.uniform(0.5, 5)), dtype=torch.float64)
    # every slice along `dim` gets its own offset: exp overflows without subtracting a max, and a global
    # max underflows the slices far below it
    offset_shape = tuple(1 if i == dim else n for i, n in enumerate(shape))
    x = (x + torch.from_numpy(heldout_rng.uniform(-2000, 2000, size=offset_shape))).float()
    assert_close(
        run_softmax(x, dim), torch.softmax(f64(x), dim=dim).float(), atol=TOL, rtol=TOL,
        hint=f"softmax along dim={dim} of {describe(in_features=x)} (each slice offset by up to ±2000) differs "
        f"from torch.softmax: normalise along the given dim, subtracting each slice's own max (keepdim=True)",
    )
