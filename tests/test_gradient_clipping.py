"""Gradient clipping by the global L2 norm against torch.nn.utils.clip_grad_norm_ and a float64 recomputation.

Definition: with ‖g‖ the L2 norm of all gradients together, when ‖g‖ > M every gradient is multiplied by
M / (‖g‖ + ε), ε = 1e-6; otherwise nothing changes. (torch's clip_grad_norm_ uses the same factor and also
clips when M − ε < ‖g‖ ≤ M; the tests stay away from that sliver.)
"""

from __future__ import annotations

import pytest
import torch

from tests.adapters import run_gradient_clipping

pytestmark = pytest.mark.problem("gradient_clipping")

EPS = 1e-6


def _model_with_grads(seed: int, grad_scale: float) -> torch.nn.Module:
    """Three Linear layers with gradients of different sizes, plus a frozen layer with no gradient."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    model.frozen = torch.nn.Linear(2, 2)
    model.frozen.requires_grad_(False)
    g = torch.Generator().manual_seed(seed)
    for i, p in enumerate(p for p in model.parameters() if p.requires_grad):
        # layer-dependent sizes: clipping each tensor by its own norm gives a different answer
        p.grad = torch.randn(p.shape, generator=g) * grad_scale * (i + 1)
    return model


def _grads(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


def _float64_clip(grads: list[torch.Tensor], max_norm: float) -> tuple[list[torch.Tensor], float]:
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).item()
    factor = max_norm / (norm + EPS) if norm > max_norm else 1.0
    return [g.double() * factor for g in grads], norm


def _assert_grads_close(actual, expected, rtol: float, context: str) -> None:
    for i, (a, e) in enumerate(zip(actual, expected)):
        torch.testing.assert_close(
            a.double(), e.double(), rtol=rtol, atol=0.0, msg=lambda m, i=i: f"{context} (gradient {i})\n{m}"
        )


def test_clipping_above_max_matches_torch_clip_grad_norm():
    model, oracle = _model_with_grads(0, grad_scale=1.0), _model_with_grads(0, grad_scale=1.0)
    before = _grads(model)
    norm = _float64_clip(before, 1.0)[1]
    assert norm > 2.0, "test set-up: the gradients must be well above the max norm"
    # pass a generator, as model.parameters() is: it can be read only once
    run_gradient_clipping(model.parameters(), 1.0)
    torch.nn.utils.clip_grad_norm_(oracle.parameters(), 1.0)
    # float32 sums of ~50 squares in a different order: ~1e-7 relative, 1e-5 leaves margin
    _assert_grads_close(
        _grads(model),
        _grads(oracle),
        rtol=1e-5,
        context=f"gradients with global norm {norm:.3f} > max 1.0 must all be scaled by 1.0 / (norm + 1e-6), "
        f"one factor computed from the norm of ALL gradients together (not per tensor)",
    )
    assert model.frozen.weight.grad is None and model.frozen.bias.grad is None, (
        "a parameter whose .grad is None (frozen) must be skipped, not given a gradient"
    )


def test_clipping_below_max_leaves_gradients_unchanged():
    model = _model_with_grads(1, grad_scale=0.01)
    before = _grads(model)
    norm = _float64_clip(before, 1.0)[1]
    assert norm < 0.5, "test set-up: the gradients must be well below the max norm"
    run_gradient_clipping(model.parameters(), 1.0)
    for i, (a, b) in enumerate(zip(_grads(model), before)):
        assert torch.equal(a, b), (
            f"gradient {i} changed although the global norm {norm:.4f} is below the max 1.0: only clip when "
            f"the norm exceeds the max, never scale gradients up"
        )


def test_clipping_epsilon_is_visible_when_the_norm_is_small():
    # with ‖g‖ ≈ 1e-3, the factor M / (‖g‖ + 1e-6) differs from M / ‖g‖ by 0.1%: far above float32 rounding
    model = _model_with_grads(2, grad_scale=1e-4)
    before = _grads(model)
    max_norm = 1e-4
    expected, norm = _float64_clip(before, max_norm)
    assert 1e-4 < norm < 1e-2, f"test set-up: norm {norm} should be ~1e-3"
    run_gradient_clipping(model.parameters(), max_norm)
    _assert_grads_close(
        _grads(model),
        expected,
        # float32 norm and scaling: ~1e-7 relative; leaving out ε changes the result by ~1e-3 relative
        rtol=1e-5,
        context=f"with global norm {norm:.2e} and max {max_norm}, the factor must be max / (norm + 1e-6) "
        f"(the ε = 1e-6 matters at this scale)",
    )


def test_clipping_norm_spans_all_parameters_including_a_single_huge_one():
    # one parameter holds almost all of the norm: clipping each tensor separately would leave the others
    # unscaled, and a per-tensor norm would not exceed the max for the small ones
    torch.manual_seed(3)
    big, small = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(2, 2))
    big.grad = torch.tensor([300.0, -400.0, 0.0])
    small.grad = torch.full((2, 2), 0.5)
    expected, _ = _float64_clip([big.grad, small.grad], 5.0)
    run_gradient_clipping([big, small], 5.0)
    _assert_grads_close(
        [big.grad, small.grad],
        expected,
        rtol=1e-6,
        context="every gradient must be scaled by the same factor max / (global norm + 1e-6)",
    )
