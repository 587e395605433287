"""Held-out: the student's AdamW over fresh parameters, gradients and hyperparameters, against a float64
recomputation of the handout's algorithm (or of torch's order, decay before the step: both accepted)."""

from __future__ import annotations

import math

import pytest
import torch

from grading.heldout.draw import integers, leading_shape, log_uniform
from tests.scenarios import adamw_resume, adamw_steps

pytestmark = [pytest.mark.problem("adamw"), pytest.mark.heldout]

# float64: ~10 operations per element and step at 1.1e-16 relative each; the θ-dependent gradient
# amplifies errors by at most (1 + α·coupling) per step, so <= 100 steps stay below 1e-12 on parameters
# of size ~1. 1e-10 leaves 100x margin, while a bias correction off by one step, ε inside the square
# root (in the regime where √v ~ ε), decay without α or L2 decay move them by > 1e-6.
ATOL = 1e-10
ORDERS = ("handout", "decay_first")


def adamw_float64(params0, targets, noises, scale, coupling, hp, order, frozen=()):
    """The handout's algorithm, t = 1, 2, ...: m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
    α_t = α√(1−β₂ᵗ)/(1−β₁ᵗ); θ ← θ − α_t·m/(√v+ε); θ ← θ − αλθ (order "decay_first": the decay before)."""
    lr, (beta1, beta2), eps, decay = hp["lr"], hp["betas"], hp["eps"], hp["weight_decay"]
    thetas = [p.double().clone() for p in params0]
    ms, vs = [torch.zeros_like(t) for t in thetas], [torch.zeros_like(t) for t in thetas]
    for t in range(1, len(noises)):
        for i in range(len(thetas)):
            if i in frozen:
                continue
            theta = thetas[i]
            g = scale * (coupling * (theta - targets[i]) + noises[t][i])
            if order == "decay_first":
                theta = theta - lr * decay * theta
            ms[i] = beta1 * ms[i] + (1 - beta1) * g
            vs[i] = beta2 * vs[i] + (1 - beta2) * g**2
            alpha_t = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
            theta = theta - alpha_t * ms[i] / (torch.sqrt(vs[i]) + eps)
            if order == "handout":
                theta = theta - lr * decay * theta
            thetas[i] = theta
    return thetas


def _problem(heldout_rng, regime, min_count=1):
    count = integers(heldout_rng, min_count, 4)
    shapes = [leading_shape(heldout_rng, 2, max_size=5, min_dims=1) for _ in range(count)]
    steps = integers(heldout_rng, 10, 80)
    draw = lambda shape: torch.from_numpy(heldout_rng.standard_normal(shape))  # noqa: E731 - float64
    params0, targets = [draw(s) for s in shapes], [draw(s) for s in shapes]
    noises = [[draw(s) for s in shapes] for _ in range(steps + 1)]
    hp = {
        "lr": log_uniform(heldout_rng, 1e-3, 0.1),
        "betas": (float(heldout_rng.uniform(0.8, 0.95)), float(heldout_rng.uniform(0.9, 0.999))),
        "weight_decay": float(heldout_rng.uniform(0.01, 0.3)),
    }
    if regime == "tiny_gradients":
        # gradients ~1e-4..1e-3 with ε ~ 1e-4..1e-3: √v ~ ε, so where ε goes matters
        scale, hp["eps"] = log_uniform(heldout_rng, 1e-4, 1e-3), log_uniform(heldout_rng, 1e-4, 1e-3)
    else:
        scale, hp["eps"] = log_uniform(heldout_rng, 0.1, 10), 1e-8
    coupling = float(heldout_rng.uniform(0.1, 1.0))
    return params0, targets, noises, scale, coupling, hp


def _worst(actual, expected, skip=()) -> float:
    return max(float((a.double() - e).abs().max()) for i, (a, e) in enumerate(zip(actual, expected)) if i not in skip)


@pytest.mark.parametrize("regime", ["unit_gradients", "tiny_gradients"])
def test_adamw_matches_float64_algorithm_on_fresh_problem(heldout_rng, regime):
    params0, targets, noises, scale, coupling, hp = _problem(heldout_rng, regime)
    actual = adamw_steps(params0, targets, noises, scale, coupling, hp)
    errors = {order: _worst(actual, adamw_float64(params0, targets, noises, scale, coupling, hp, order)) for order in ORDERS}
    assert min(errors.values()) <= ATOL, (
        f"AdamW with {hp} on {len(params0)} parameters of shapes {[tuple(p.shape) for p in params0]}, gradients of "
        f"size ~{scale:.2g}, after {len(noises) - 1} steps differs from the float64 algorithm by {errors['handout']:.3e} "
        f"(decay after the Adam step, as the handout) and {errors['decay_first']:.3e} (decay before, as torch), more "
        f"than {ATOL:g}. Check: the step t starts at 1, α_t = α·√(1−β₂ᵗ)/(1−β₁ᵗ), the denominator is √v + ε, v "
        f"averages g², and the decay is θ ← θ − αλθ on θ itself (not added to the gradient)"
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
        assert min(errors) <= ATOL, (
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
