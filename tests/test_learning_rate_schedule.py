"""Cosine learning-rate schedule with linear warm-up against a plain float64 evaluation of its definition."""

from __future__ import annotations

import math

import pytest

from tests.adapters import run_get_lr_cosine_schedule

pytestmark = pytest.mark.problem("learning_rate_schedule")


def cosine_schedule_oracle(it: int, lr_max: float, lr_min: float, warmup: int, cycle: int) -> float:
    """The handout's three cases, written out directly."""
    if it < warmup:
        return it / warmup * lr_max
    if it <= cycle:
        return lr_min + 0.5 * (1 + math.cos((it - warmup) / (cycle - warmup) * math.pi)) * (lr_max - lr_min)
    return lr_min


def _hint(it: int, warmup: int, cycle: int) -> str:
    if it < warmup:
        return f"warm-up phase (it < {warmup}): the rate is it / warmup_iters * max_learning_rate, 0 at it = 0"
    if it <= cycle:
        return (
            f"cosine phase ({warmup} <= it <= {cycle}): progress is (it - warmup_iters) / "
            f"(cosine_cycle_iters - warmup_iters), from max_learning_rate at it = {warmup} to "
            f"min_learning_rate at it = {cycle}"
        )
    return f"after the cycle (it > {cycle}): the rate stays at min_learning_rate"


SCHEDULES = {
    "cs336": (1.0, 0.1, 7, 21),
    "typical_run": (3e-4, 3e-5, 10, 100),
    "no_warmup": (1e-3, 0.0, 0, 12),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_cosine_schedule_matches_float64_definition_at_every_step(name):
    lr_max, lr_min, warmup, cycle = SCHEDULES[name]
    # every step from 0 through both phase boundaries to well past the end of the cycle
    for it in range(0, cycle + 10):
        expected = cosine_schedule_oracle(it, lr_max, lr_min, warmup, cycle)
        actual = run_get_lr_cosine_schedule(it, lr_max, lr_min, warmup, cycle)
        # both sides are float64 evaluations of the same closed form: a few ulps (~1e-16 relative) apart
        assert actual == pytest.approx(expected, rel=1e-12, abs=1e-15), (
            f"get_lr_cosine_schedule(it={it}, max={lr_max}, min={lr_min}, warmup_iters={warmup}, "
            f"cosine_cycle_iters={cycle}) = {actual!r}, expected {expected!r}. In the {_hint(it, warmup, cycle)}"
        )


def test_cosine_schedule_returns_a_float_not_a_tensor():
    value = run_get_lr_cosine_schedule(3, 1.0, 0.1, 7, 21)
    assert isinstance(value, float), f"the schedule must return a Python float, got {type(value).__name__}"
