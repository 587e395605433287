"""The one scenario the held-out tests need that tests/scenarios.py does not offer: a checkpoint round trip
of a freshly shaped model and optimizer. Plain data in and out, student code reached only through
tests/adapters.py hooks, so a grader can run the whole call in the sandboxed worker exactly like a
tests/scenarios.py function (the isolated runner must forward it too, or it moves to tests/scenarios.py).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from tests import adapters

Tensor = torch.Tensor


def _mlp(widths: Sequence[int], seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    layers: list[torch.nn.Module] = []
    for a, b in zip(widths, widths[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.Tanh()]
    return torch.nn.Sequential(*layers[:-1])


def _train(model, optimizer, steps: int, seed: int, width_in: int, width_out: int) -> None:
    # torch.optim.AdamW (not the student's): the scenario depends only on checkpointing
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x, y = torch.randn(8, width_in, generator=g), torch.randint(0, width_out, (8,), generator=g)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


def _optimizer_state(optimizer: torch.optim.Optimizer) -> dict:
    state = optimizer.state_dict()
    return {
        "param_groups": [dict(g) for g in state["param_groups"]],
        "state": {
            int(i): {k: v.detach().clone() if isinstance(v, Tensor) else v for k, v in s.items()}
            for i, s in state["state"].items()
        },
    }


def checkpoint_resume_fresh(
    out: str | os.PathLike | None,
    widths: Sequence[int],
    hyperparameters: dict,
    steps_before: int,
    steps_after: int,
    iteration: int,
    seed: int,
) -> dict:
    """A torch MLP of `widths` with torch.optim.AdamW(**hyperparameters) trained `steps_before` steps,
    saved with run_save_checkpoint (to the path `out`, or to an in-memory binary file when None) as
    `iteration`, loaded with run_load_checkpoint into a differently initialised model and a fresh
    optimizer; then both train `steps_after` more steps on the same batches.

    Returns {"iteration": what load returned, "saved_model", "loaded_model", "saved_optimizer",
    "loaded_optimizer" (states right after loading), "uninterrupted", "resumed" (model states at the end)}.
    """
    model = _mlp(widths, seed)
    optimizer = torch.optim.AdamW(model.parameters(), **hyperparameters)
    _train(model, optimizer, steps_before, seed + 1, widths[0], widths[-1])
    target = io.BytesIO() if out is None else Path(out)
    adapters.run_save_checkpoint(model, optimizer, iteration, target)
    if out is None:
        target.seek(0)
    model2 = _mlp(widths, seed + 2)
    optimizer2 = torch.optim.AdamW(model2.parameters(), **hyperparameters)
    loaded = adapters.run_load_checkpoint(target, model2, optimizer2)
    result = {
        "iteration": loaded,
        "saved_model": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "loaded_model": {k: v.detach().clone() for k, v in model2.state_dict().items()},
        "saved_optimizer": _optimizer_state(optimizer),
        "loaded_optimizer": _optimizer_state(optimizer2),
    }
    _train(model, optimizer, steps_after, seed + 3, widths[0], widths[-1])
    _train(model2, optimizer2, steps_after, seed + 3, widths[0], widths[-1])
    result["uninterrupted"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    result["resumed"] = {k: v.detach().clone() for k, v in model2.state_dict().items()}
    return result
