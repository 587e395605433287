"""Held-out: the cosine schedule with warm-up at every step of a fresh schedule, against its float64 definition."""

from __future__ import annotations

import math

import pytest

from grading.heldout.draw import integers, log_uniform
from tests.adapters import run_get_lr_cosine_schedule

pytestmark = [pytest.mark.problem("learning_rate_schedule"), pytest.mark.heldout]


def cosine_schedule(it: int, lr_max: float, lr_min: float, warmup: int, cycle: int) -> float:
    """The handout's three phases written out (warm-up, cosine, post-annealing)."""
    if it < warmup:
        return it / warmup * lr_max
    if it <= cycle:
        return lr_min + 0.5 * (1 + math.cos((it - warmup) / (cycle - warmup) * math.pi)) * (lr_max - lr_min)
    return lr_min


@pytest.mark.parametrize("warmup_kind", ["with_warmup", "no_warmup"])
def test_cosine_schedule_matches_definition_at_every_step_of_a_fresh_schedule(heldout_rng, warmup_kind):
    lr_max = log_uniform(heldout_rng, 1e-5, 1.0)
    lr_min = lr_max * float(heldout_rng.choice([0.0, heldout_rng.uniform(0.01, 0.5)]))
    warmup = integers(heldout_rng, 1, 60) if warmup_kind == "with_warmup" else 0
    cycle = warmup + integers(heldout_rng, 1, 200)
    args = f"max_learning_rate={lr_max!r}, min_learning_rate={lr_min!r}, warmup_iters={warmup}, cosine_cycle_iters={cycle}"
    for it in range(0, cycle + 25):
        expected = cosine_schedule(it, lr_max, lr_min, warmup, cycle)
        actual = run_get_lr_cosine_schedule(it, lr_max, lr_min, warmup, cycle)
        # both sides evaluate the same closed form in float64: a few ulps apart
        assert actual == pytest.approx(expected, rel=1e-12, abs=1e-15 * lr_max), (
            f"get_lr_cosine_schedule(it={it}, {args}) = {actual!r}, expected {expected!r}: warm-up it / warmup_iters "
            f"* max for it < warmup_iters; cosine from max at warmup_iters to min at cosine_cycle_iters over "
            f"(it - warmup_iters) / (cosine_cycle_iters - warmup_iters); min afterwards"
        )
