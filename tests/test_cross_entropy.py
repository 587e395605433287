"""Cross-entropy against torch.nn.functional.cross_entropy (the oracle), including 3-D and huge logits."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tests import scenarios
from tests.adapters import run_cross_entropy

pytestmark = pytest.mark.problem("cross_entropy")


def _inputs(shape: tuple[int, ...], vocab: int, seed: int, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(*shape, vocab, generator=g) * scale
    targets = torch.randint(0, vocab, shape, generator=g)
    # make sure the first and last ids appear: an off-by-one in the gather shows up there
    targets.view(-1)[0], targets.view(-1)[-1] = 0, vocab - 1
    return logits, targets


def _oracle(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over every position, computed in float64 (stable, so exact to ~1e-15 here)."""
    return F.cross_entropy(logits.double().reshape(-1, logits.shape[-1]), targets.reshape(-1))


def _check(actual: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor, rtol: float) -> None:
    expected = _oracle(logits, targets)
    assert isinstance(actual, torch.Tensor) and actual.shape == (), (
        f"cross-entropy must return a scalar (0-dim) tensor, got {type(actual).__name__} "
        f"of shape {tuple(getattr(actual, 'shape', ()))}"
    )
    assert torch.isfinite(actual), f"cross-entropy is {actual.item()} (expected {expected.item():.6f}): overflow in exp?"
    positions = targets.numel()
    hint = ""
    if torch.isclose(actual.double(), expected * positions, rtol=rtol):
        hint = f" It equals the SUM over the {positions} positions: take the mean."
    elif torch.isclose(actual.double(), expected * logits.shape[-1], rtol=rtol) or torch.isclose(
        actual.double(), expected * positions / logits.shape[0], rtol=rtol
    ):
        hint = " Average over every leading dimension (all batch and sequence positions), nothing else."
    torch.testing.assert_close(
        actual.double(),
        expected,
        rtol=rtol,
        atol=0.0,
        msg=lambda m: f"cross-entropy of logits {tuple(logits.shape)} differs from F.cross_entropy.{hint}\n{m}",
    )


def test_cross_entropy_2d_matches_torch_functional():
    logits, targets = _inputs((16,), vocab=50, seed=0)
    # float32 log-sum-exp of 50 terms: a few ulps (~1e-7 relative) per position, 1e-5 leaves a wide margin
    # while a wrong target index or a missing log changes the loss by >1%
    _check(run_cross_entropy(logits, targets), logits, targets, rtol=1e-5)


def test_cross_entropy_3d_batch_and_sequence_is_mean_over_all_positions():
    logits, targets = _inputs((4, 6), vocab=23, seed=1)
    _check(run_cross_entropy(logits, targets), logits, targets, rtol=1e-5)


def test_cross_entropy_logits_times_1000_stay_finite_and_match_float64():
    # exp(1000 * x) overflows float32 for x > 0.09: only a max-subtracted log-sum-exp survives
    logits, targets = _inputs((3, 5), vocab=17, seed=2, scale=1000.0)
    # the loss is ~1e3; float32 keeps ~7 digits, so 1e-5 relative absorbs rounding of the large terms
    _check(run_cross_entropy(logits, targets), logits, targets, rtol=1e-5)


def test_cross_entropy_single_position_equals_negative_log_softmax():
    logits = torch.tensor([[2.0, -1.0, 0.5, 0.0]])
    targets = torch.tensor([2])
    _check(run_cross_entropy(logits, targets), logits, targets, rtol=1e-6)


def test_cross_entropy_gradient_matches_torch_functional():
    logits, targets = _inputs((2, 3), vocab=9, seed=3, scale=3.0)
    grad = scenarios.cross_entropy_gradient(logits, targets)
    assert grad is not None, "cross-entropy must be differentiable (do not call .item() or detach inside it)"
    oracle = logits.double().requires_grad_(True)
    _oracle(oracle, targets).backward()
    # gradient = (softmax - onehot) / positions, entries <= 1/6: float32 rounding is ~1e-8 absolute
    torch.testing.assert_close(
        grad.double(),
        oracle.grad,
        rtol=0.0,
        atol=1e-6,
        msg=lambda m: f"d(loss)/d(logits) differs from F.cross_entropy's gradient (softmax - onehot) / positions\n{m}",
    )
