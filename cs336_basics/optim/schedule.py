"""Learning-rate schedule: linear warm-up then cosine annealing (Loshchilov & Hutter 2017, SGDR)."""

from __future__ import annotations

import math
import numbers


def get_lr_cosine_schedule(
    it: int,
    max_learning_rate: float,
    min_learning_rate: float,
    warmup_iters: int,
    cosine_cycle_iters: int,
) -> float:
    """Learning rate at iteration `it` (a pure function of its arguments).

    With α_max, α_min, T_w = warmup_iters and T_c = cosine_cycle_iters:
      it < T_w:          it / T_w · α_max                                   (linear warm-up from 0)
      T_w ≤ it ≤ T_c:    α_min + ½(1 + cos((it − T_w)/(T_c − T_w) · π)) · (α_max − α_min)
      it > T_c:          α_min                                              (post-annealing)
    When T_c = T_w the cosine phase is the single iteration it = T_w, at α_max.

    Example: get_lr_cosine_schedule(15, 1.0, 0.1, 10, 20) -> 0.55 (halfway down the cosine).
    """
    # BEGIN SOLUTION
    _check_schedule_arguments(it, max_learning_rate, min_learning_rate, warmup_iters, cosine_cycle_iters)
    if it < warmup_iters:
        return it / warmup_iters * max_learning_rate
    if it > cosine_cycle_iters:
        return min_learning_rate
    span = cosine_cycle_iters - warmup_iters
    progress = (it - warmup_iters) / span if span > 0 else 0.0
    return min_learning_rate + 0.5 * (1 + math.cos(progress * math.pi)) * (max_learning_rate - min_learning_rate)
    # END SOLUTION


# BEGIN SOLUTION
def _check_schedule_arguments(
    it: int, max_learning_rate: float, min_learning_rate: float, warmup_iters: int, cosine_cycle_iters: int
) -> None:
    for name, value in (("it", it), ("warmup_iters", warmup_iters), ("cosine_cycle_iters", cosine_cycle_iters)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"get_lr_cosine_schedule: {name} must be an integer >= 0, got {value!r}")
    for name, value in (("max_learning_rate", max_learning_rate), ("min_learning_rate", min_learning_rate)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
            raise ValueError(f"get_lr_cosine_schedule: {name} must be a finite number >= 0, got {value!r}")
    if min_learning_rate > max_learning_rate:
        raise ValueError(
            f"get_lr_cosine_schedule: min_learning_rate ({min_learning_rate}) must not exceed "
            f"max_learning_rate ({max_learning_rate})"
        )
    if cosine_cycle_iters < warmup_iters:
        raise ValueError(
            f"get_lr_cosine_schedule: cosine_cycle_iters ({cosine_cycle_iters}) must be >= warmup_iters "
            f"({warmup_iters}); the cosine phase runs from warmup_iters to cosine_cycle_iters"
        )


# END SOLUTION
