"""Held-out: cross-entropy on fresh shapes, vocabularies and logit scales against float64 F.cross_entropy."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from grading.heldout.draw import describe, f64, integers, leading_shape, log_uniform, normal
from tests.adapters import run_cross_entropy
from tests.numerics import assert_close
from tests.scenarios import cross_entropy_gradient

pytestmark = [pytest.mark.problem("cross_entropy"), pytest.mark.heldout]


def _inputs(heldout_rng, scale):
    # (batch, seq) or (batch, seq, extra), every axis >= 2: a mean over the batch axis alone shows
    shape = (integers(heldout_rng, 2, 5), integers(heldout_rng, 2, 6), *leading_shape(heldout_rng, 1, max_size=3))
    vocab = integers(heldout_rng, 2, 200)
    logits = normal(heldout_rng, *shape, vocab, std=scale)
    targets = torch.from_numpy(heldout_rng.integers(0, vocab, size=shape))
    return logits, targets


@pytest.mark.parametrize("regime", ["moderate", "huge"])
def test_cross_entropy_matches_float64_on_fresh_logits(heldout_rng, regime):
    # huge: logits of size 100..3000, exp overflows float32 without subtracting the max
    scale = log_uniform(heldout_rng, 0.1, 10) if regime == "moderate" else log_uniform(heldout_rng, 100, 3000)
    logits, targets = _inputs(heldout_rng, scale)
    expected = F.cross_entropy(f64(logits).reshape(-1, logits.shape[-1]), targets.reshape(-1)).float()
    actual = run_cross_entropy(logits, targets)
    # float32 log-sum-exp: a few ulps relative to the largest logit per position (~1e-7 · scale); the
    # mean over positions keeps that. 1e-5 relative + 1e-5 · scale absolute absorbs it; a sum instead of a
    # mean, a wrong axis or an off-by-one target changes the loss by far more
    assert_close(
        actual, expected, atol=1e-5 * max(scale, 1.0), rtol=1e-5,
        hint=f"cross-entropy of {describe(inputs=logits, targets=targets)} with logits of size ~{scale:.3g} differs "
        f"from F.cross_entropy: -log softmax(logits)[target] with the max subtracted, averaged over EVERY "
        f"leading position (a 0-dim tensor)",
    )


def test_cross_entropy_gradient_matches_float64_on_fresh_logits(heldout_rng):
    logits, targets = _inputs(heldout_rng, log_uniform(heldout_rng, 0.3, 30))
    grad = cross_entropy_gradient(logits, targets)
    assert grad is not None, "cross-entropy must be differentiable (no .item(), .detach() or numpy inside it)"
    oracle = f64(logits).requires_grad_(True)
    F.cross_entropy(oracle.reshape(-1, logits.shape[-1]), targets.reshape(-1)).backward()
    # (softmax - onehot) / positions, entries <= 1 / positions: float32 rounding ~1e-7 / positions
    positions = targets.numel()
    assert_close(
        grad, oracle.grad.float(), atol=1e-6 / positions, rtol=1e-4,
        hint=f"d(loss)/d(logits) for {describe(inputs=logits, targets=targets)} differs from "
        f"(softmax(logits) - onehot(target)) / {positions} positions",
    )
