"""Held-out: the student's AdamW over fresh parameters, gradients and hyperparameters, against a float64
recomputation of the handout's algorithm (or of torch's order, decay before the step: both accepted)."""

from __future__ import annotations

import pytest
import torch

from grading.heldout.draw import integers, leading_shape, log_uniform
from tests.scenarios import adamw_resume, adamw_steps
from tests.test_adamw import ORDERS, float32_step_allowance, handout_adamw_float64

pytestmark = [pytest.mark.problem("adamw"), pytest.mark.heldout]

# float64: ~10 operations per element and step at 1.1e-16 relative each, over <= 60 steps: below 1e-12
# on parameters of size ~1; 1e-10 leaves 100x margin. On top of it, what float32 step counters and bias
# corrections may add (tests/test_adamw.py's float32_step_allowance), times 4 for the growth of an early
# error through the θ-dependent gradients (α·coupling <= 0.025 per step). A bias correction off by one
# step, ε inside the square root (where √v ~ ε), decay without α or L2 decay move the parameters by
# > 1e-4, far beyond both.
ATOL = 1e-10
GROWTH = 4.0


def adamw_float64(params0, targets, noises, scale, coupling, hp, order, frozen=()):
    """tests/test_adamw.py's float64 algorithm in one of its accepted forms (ORDERS: the handout's, or with
    torch's decay order and/or ε placement); the frozen parameters never get a gradient."""
    grad_fn = _grad_fn(targets, noises, scale, coupling)
    expected = handout_adamw_float64(params0, grad_fn, len(noises) - 1, variant=order, **hp)
    return [p0.double() if i in frozen else e for i, (p0, e) in enumerate(zip(params0, expected))]


def _grad_fn(targets, noises, scale, coupling):
    return lambda thetas, t: [scale * (coupling * (th - tg) + n) for th, tg, n in zip(thetas, targets, noises[t])]


def _tolerance(params0, targets, noises, scale, coupling, hp) -> float:
    allowance = float32_step_allowance(params0, _grad_fn(targets, noises, scale, coupling), len(noises) - 1, hp)
    return ATOL + GROWTH * allowance


def _problem(heldout_rng, regime, min_count=1):
    count = integers(heldout_rng, min_count, 4)
    shapes = [leading_shape(heldout_rng, 2, max_size=5, min_dims=1) for _ in range(count)]
    steps = integers(heldout_rng, 10, 60)
    draw = lambda shape: torch.from_numpy(heldout_rng.standard_normal(shape))  # noqa: E731 - float64
    params0, targets = [draw(s) for s in shapes], [draw(s) for s in shapes]
    noises = [[draw(s) for s in shapes] for _ in range(steps + 1)]
    hp = {
        "lr": log_uniform(heldout_rng, 1e-3, 0.05),
        "betas": (float(heldout_rng.uniform(0.8, 0.95)), float(heldout_rng.uniform(0.9, 0.999))),
        "weight_decay": float(heldout_rng.uniform(0.01, 0.3)),
    }
    if regime == "tiny_gradients":
        # gradients ~1e-4..1e-3 with ε ~ 1e-4..1e-3: √v ~ ε, so where ε goes matters
        scale, hp["eps"] = log_uniform(heldout_rng, 1e-4, 1e-3), log_uniform(heldout_rng, 1e-4, 1e-3)
    else:
        scale, hp["eps"] = log_uniform(heldout_rng, 0.1, 10), 1e-8
    coupling = float(heldout_rng.uniform(0.1, 0.5))
    return params0, targets, noises, scale, coupling, hp


def _worst(actual, expected, skip=()) -> float:
    return max(float((a.double() - e).abs().max()) for i, (a, e) in enumerate(zip(actual, expected)) if i not in skip)


@pytest.mark.parametrize("regime", ["unit_gradients", "tiny_gradients"])
def test_adamw_matches_float64_algorithm_on_fresh_problem(heldout_rng, regime):
    params0, targets, noises, scale, coupling, hp = _problem(heldout_rng, regime)
    actual = adamw_steps(params0, targets, noises, scale, coupling, hp)
    errors = {order: _worst(actual, adamw_float64(params0, targets, noises, scale, coupling, hp, order)) for order in ORDERS}
    tolerance = _tolerance(params0, targets, noises, scale, coupling, hp)
    assert min(errors.values()) <= tolerance, (
        f"AdamW with {hp} on {len(params0)} parameters of shapes {[tuple(p.shape) for p in params0]}, gradients of "
        f"size ~{scale:.2g}, after {len(noises) - 1} steps differs from the float64 algorithm by {errors['handout']:.3e} "
        f"(and {min(errors.values()):.3e} from the closest accepted form: torch's decay order or ε placement), more "
        f"than {tolerance:.1e}. Check: the step t starts at 1, α_t = α·√(1−β₂ᵗ)/(1−β₁ᵗ), ε is added to √v (not "
        f"inside the root), v averages g², and the decay is θ ← θ − αλθ on θ itself (not added to the gradient)"
    )


def test_adamw_param_groups_and_frozen_parameters_on_fresh_problem(heldout_rng):
    params0, targets, noises, scale, coupling, hp = _problem(heldout_rng, "unit_gradients", min_count=3)
    n = len(params0)
    split = integers(heldout_rng, 1, n - 1)  # parameters [0, split) in group 0 (the defaults), the rest overridden
    # at most one frozen parameter, never the last one: the overridden group always updates a parameter
    frozen = (integers(heldout_rng, 0, n - 2),) if heldout_rng.random() < 0.5 else ()
    override = {"lr": hp["lr"] * float(heldout_rng.uniform(2, 5)), "weight_decay": float(heldout_rng.uniform(0.0, 0.05))}
    groups = [{"params": list(range(split))}, {"params": list(range(split, n)), **override}]
    actual = adamw_steps(params0, targets, noises, scale, coupling, hp, groups=groups, frozen=frozen)
    for i in range(n):
        if i in frozen:
            assert torch.equal(actual[i], params0[i]), (
                f"parameter {i} never gets a gradient (.grad is None): AdamW must leave it unchanged (no update, no decay)"
            )
            continue
        group_hp = hp if i < split else {**hp, **override}
        # each parameter's gradient depends only on itself, so each can be checked on its own
        errors = [
            float((actual[i] - adamw_float64(params0, targets, noises, scale, coupling, group_hp, order)[i]).abs().max())
            for order in ORDERS
        ]
        assert min(errors) <= _tolerance(params0, targets, noises, scale, coupling, group_hp), (
            f"parameter {i} of param group {0 if i < split else 1} ({'the defaults' if i < split else override}) "
            f"differs from the float64 algorithm with that group's hyperparameters by {min(errors):.3e}: read lr, "
            f"betas, eps and weight_decay from each group (group['lr']), not from the constructor's arguments"
        )


def test_adamw_state_dict_round_trip_continues_identically_on_fresh_problem(heldout_rng):
    params0, targets, noises, scale, coupling, hp = _problem(heldout_rng, "unit_gradients")
    save_after = integers(heldout_rng, 1, len(noises) - 2)
    r = adamw_resume(params0, targets, noises, scale, coupling, hp, save_after)
    assert r["reload_error"] is None, (
        f"AdamW.state_dict() after {save_after} steps cannot be reloaded with torch.load(weights_only=True): "
        f"{r['reload_error']}"
    )
    worst = _worst(r["resumed"], r["uninterrupted"])
    # the same operations on the same float64 values: 1e-12 allows only an equivalent reordering after
    # the reload, while a lost m, v or step count moves the parameters by far more
    assert worst <= 1e-12, (
        f"AdamW({hp}) saved with state_dict() after {save_after} of {len(noises) - 1} steps, loaded into a new AdamW "
        f"and continued, differs from an uninterrupted run by {worst:.3e}: keep m, v and the step count in "
        f"self.state[p] so that state_dict() carries them"
    )
