"""Held-out: clipping fresh sets of gradients (sizes from 1e-4 to 1e3, frozen parameters among them)
against a float64 recomputation of the definition."""

from __future__ import annotations

import math

import pytest
import torch

from grading.heldout.draw import integers, leading_shape, log_uniform, normal
from tests.numerics import assert_close
from tests.scenarios import clip_gradients

pytestmark = [pytest.mark.problem("gradient_clipping"), pytest.mark.heldout]

EPS = 1e-6  # the handout's ε in max_norm / (‖g‖ + ε)


def _gradients(heldout_rng, norm_scale: float) -> list[torch.Tensor | None]:
    count = integers(heldout_rng, 2, 5)
    grads: list[torch.Tensor | None] = []
    for i in range(count):
        # tensors of different sizes: clipping each one by its own norm gives another answer
        grads.append(normal(heldout_rng, *leading_shape(heldout_rng, 2, max_size=6, min_dims=1), std=float(i + 1)))
    total = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
    grads = [(g.double() * (norm_scale / total)).float() for g in grads]
    grads.insert(integers(heldout_rng, 0, len(grads)), None)  # a frozen parameter without a gradient
    return grads


def _float64_clip(grads, max_norm):
    norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads if g is not None))
    factor = max_norm / (norm + EPS) if norm > max_norm else 1.0
    return [None if g is None else (g.double() * factor).float() for g in grads], norm


@pytest.mark.parametrize("regime", ["above_max", "small_norm_above_max", "below_max"])
def test_clipping_matches_float64_definition_on_fresh_gradients(heldout_rng, regime):
    # small_norm: ‖g‖ ~ 1e-4..1e-2, where the ε = 1e-6 changes the factor by 1e-4..1e-2 relative
    norm = log_uniform(heldout_rng, 1e-4, 1e-2) if regime == "small_norm_above_max" else log_uniform(heldout_rng, 0.1, 1e3)
    grads = _gradients(heldout_rng, norm)
    ratio = heldout_rng.uniform(0.05, 0.8) if regime != "below_max" else heldout_rng.uniform(1.3, 5.0)
    max_norm = float(norm * ratio)
    expected, norm = _float64_clip(grads, max_norm)
    actual = clip_gradients(grads, max_norm)
    assert [a is None for a in actual] == [g is None for g in grads], (
        "a parameter whose .grad is None (frozen) must be skipped, and every other gradient kept"
    )
    what = (
        f"{len(grads) - 1} gradients with global L2 norm {norm:.4g} and max_l2_norm {max_norm:.4g}"
        + (" (below the max: they must stay unchanged, never scaled up)" if regime == "below_max" else
           ": every gradient is multiplied by ONE factor max_l2_norm / (norm + 1e-6), norm over ALL gradients")
    )
    for i, (a, e) in enumerate(zip(actual, expected)):
        if e is None:
            continue
        # float32 sum of <= 200 squares in any order and one product: ~1e-6 relative at most (measured
        # ~1e-7); 1e-5 relative still sees the ε at norms <= 1e-2 (>= 1e-4 relative)
        assert_close(a, e, atol=0.0, rtol=1e-5, hint=f"{what}; gradient {i} is wrong")
