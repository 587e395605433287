"""Scenarios the held-out tests need that tests/scenarios.py does not offer (yet): plain data in and out,
student code reached only through tests/adapters.py hooks, so a grader can run the whole call in the
sandboxed worker exactly like a tests/scenarios.py function.

Signatures follow tests/scenarios.py on the contract branch; when it lands these move there (or the
tests import them from there) and this file keeps only what is specific to the held-out cases.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from tests import adapters

Tensor = torch.Tensor


def cross_entropy_gradient(logits: Tensor, targets: Tensor) -> Tensor | None:
    """d run_cross_entropy(logits, targets) / d logits (None when the loss is not differentiable)."""
    x = logits.clone().requires_grad_(True)
    loss = adapters.run_cross_entropy(x, targets)
    if not isinstance(loss, Tensor) or not loss.requires_grad:
        return None
    loss.backward()
    return None if x.grad is None else x.grad.detach()


def clip_gradients(grads: Sequence[Tensor | None], max_l2_norm: float, as_generator: bool = True) -> list:
    """Parameters holding `grads` (None: a frozen parameter) clipped by run_gradient_clipping, passed as a
    generator (readable once, like model.parameters()); returns their gradients afterwards."""
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros((1,) if g is None else g.shape), requires_grad=g is not None)
        p.grad = None if g is None else g.clone()
        params.append(p)
    adapters.run_gradient_clipping((p for p in params) if as_generator else params, max_l2_norm)
    return [None if p.grad is None else p.grad.detach().clone() for p in params]


def _gradients(params, targets, noise, scale: float, coupling: float, frozen: Sequence[int]) -> None:
    for i, p in enumerate(params):
        p.grad = None if i in frozen else scale * (coupling * (p.detach().clone() - targets[i]) + noise[i])


def adamw_steps(
    params0: Sequence[Tensor],
    targets: Sequence[Tensor],
    noises: Sequence[Sequence[Tensor]],
    scale: float,
    coupling: float,
    defaults: dict,
    groups: Sequence[dict] | None = None,
    frozen: Sequence[int] = (),
) -> list[Tensor]:
    """The parameters after len(noises) - 1 steps of the student's AdamW; step t gives parameter i the
    gradient scale * (coupling * (theta_i - targets[i]) + noises[t][i]); `frozen` indices get none;
    `groups` are param groups {"params": [indices], <overrides>}."""
    params = [torch.nn.Parameter(p.clone()) for p in params0]
    cls = adapters.get_adamw_cls()
    if groups is None:
        optimizer = cls(params, **defaults)
    else:
        spec = [{**{k: v for k, v in g.items() if k != "params"}, "params": [params[i] for i in g["params"]]} for g in groups]
        optimizer = cls(spec, **defaults)
    for t in range(1, len(noises)):
        _gradients(params, targets, noises[t], scale, coupling, frozen)
        optimizer.step()
    return [p.detach().clone() for p in params]


def get_batches(
    dataset: np.ndarray, batch_size: int, context_length: int, device: str, seed: int, draws: int = 1
) -> list[tuple[Tensor, Tensor]]:
    """`draws` calls of run_get_batch after seeding numpy's and torch's global generators with `seed`."""
    np.random.seed(seed)
    torch.manual_seed(seed)
    return [adapters.run_get_batch(dataset, batch_size, context_length, device) for _ in range(draws)]


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
