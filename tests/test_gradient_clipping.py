"""Gradient clipping by the global L2 norm against torch.nn.utils.clip_grad_norm_ and a float64 recomputation.

Definition: with ‖g‖ the L2 norm of all gradients together, when ‖g‖ > M every gradient is multiplied by
M / (‖g‖ + ε), ε = 1e-6; otherwise nothing changes. (torch's clip_grad_norm_ uses the same factor and also
clips when M − ε < ‖g‖ ≤ M; the tests stay away from that sliver.)
"""

from __future__ import annotations

import pytest
import torch

from tests import scenarios

pytestmark = pytest.mark.problem("gradient_clipping")

EPS = 1e-6


def _grads_of_layers(seed: int, grad_scale: float) -> list[torch.Tensor | None]:
    """The gradients of three Linear layers (weights and biases, of different sizes), then a frozen
    layer's two parameters without gradients (None)."""
    torch.manual_seed(seed)
    shapes = [(4, 5), (4,), (3, 4), (3,), (2, 3), (2,)]
    g = torch.Generator().manual_seed(seed)
    # layer-dependent sizes: clipping each tensor by its own norm gives a different answer
    grads = [torch.randn(s, generator=g) * grad_scale * (i + 1) for i, s in enumerate(shapes)]
    return [*grads, None, None]


def _present(grads):
    return [g for g in grads if g is not None]


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
    before = _grads_of_layers(0, grad_scale=1.0)
    norm = _float64_clip(_present(before), 1.0)[1]
    assert norm > 2.0, "test set-up: the gradients must be well above the max norm"
    # the parameters are passed as a generator, as model.parameters() is: it can be read only once
    after = scenarios.clip_gradients(before, 1.0, as_generator=True)
    oracle = [torch.nn.Parameter(torch.zeros(g.shape)) for g in _present(before)]
    for p, g in zip(oracle, _present(before)):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_norm_(oracle, 1.0)
    unchanged = all(torch.equal(a, b) for a, b in zip(_present(after), _present(before)))
    assert not unchanged, (
        f"the gradients (global norm {norm:.3f} > max 1.0) were left unchanged. `parameters` arrives as a "
        f"generator, as model.parameters() is, which can be read only once: make a list of it first"
    )
    # float32 sums of ~50 squares in a different order: ~1e-7 relative, 1e-5 leaves margin
    _assert_grads_close(
        _present(after),
        [p.grad for p in oracle],
        rtol=1e-5,
        context=f"gradients with global norm {norm:.3f} > max 1.0 must all be scaled by 1.0 / (norm + 1e-6), "
        f"one factor computed from the norm of ALL gradients together (not per tensor)",
    )
    assert after[-2:] == [None, None], (
        "a parameter whose .grad is None (frozen) must be skipped, not given a gradient"
    )


def test_clipping_below_max_leaves_gradients_unchanged():
    before = _grads_of_layers(1, grad_scale=0.01)
    norm = _float64_clip(_present(before), 1.0)[1]
    assert norm < 0.5, "test set-up: the gradients must be well below the max norm"
    after = scenarios.clip_gradients(before, 1.0)
    for i, (a, b) in enumerate(zip(_present(after), _present(before))):
        assert torch.equal(a, b), (
            f"gradient {i} changed although the global norm {norm:.4f} is below the max 1.0: only clip when "
            f"the norm exceeds the max, never scale gradients up"
        )


def test_clipping_epsilon_is_visible_when_the_norm_is_small():
    # with ‖g‖ ≈ 1e-3, the factor M / (‖g‖ + 1e-6) differs from M / ‖g‖ by 0.1%: far above float32 rounding
    before = _grads_of_layers(2, grad_scale=1e-4)
    max_norm = 1e-4
    expected, norm = _float64_clip(_present(before), max_norm)
    assert 1e-4 < norm < 1e-2, f"test set-up: norm {norm} should be ~1e-3"
    after = scenarios.clip_gradients(before, max_norm)
    _assert_grads_close(
        _present(after),
        expected,
        # float32 norm and scaling: ~1e-7 relative; leaving out ε changes the result by ~1e-3 relative
        rtol=1e-5,
        context=f"with global norm {norm:.2e} and max {max_norm}, the factor must be max / (norm + 1e-6) "
        f"(the ε = 1e-6 matters at this scale)",
    )


def test_clipping_norm_spans_all_parameters_including_a_single_huge_one():
    # one parameter holds almost all of the norm: clipping each tensor separately would leave the others
    # unscaled, and a per-tensor norm would not exceed the max for the small ones
    grads = [torch.tensor([300.0, -400.0, 0.0]), torch.full((2, 2), 0.5)]
    expected, _ = _float64_clip(grads, 5.0)
    after = scenarios.clip_gradients(grads, 5.0, as_generator=False)  # a list this time
    _assert_grads_close(
        after,
        expected,
        rtol=1e-6,
        context="every gradient must be scaled by the same factor max / (global norm + 1e-6)",
    )
