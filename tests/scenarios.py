"""Scenarios: the few test steps that need state or autograd inside student code, each ONE function.

A test that must step an optimizer, differentiate through a hook, round-trip a checkpoint, clip
gradients in place, seed a sampler or inspect a module from `make_module` calls one function here. Each
takes plain data (tensors without grad, numpy arrays, numbers, strings, bytes, paths, and lists, tuples
and dicts of them) and returns plain data, and reaches student code only through tests/adapters.py. So
the whole call can run wherever the student's code runs (in the isolated grader, a sandboxed worker)
while the test that judges the result stays outside.
"""

from __future__ import annotations

import io
import os
import tracemalloc
from collections.abc import Sequence
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from tests import adapters

Tensor = torch.Tensor


def _detached(state: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in state.items()}


# ---------------------------------------------------------------- modules from make_module


def module_state(name: str, kwargs: dict, seed: int = 0) -> dict[str, Tensor]:
    """The state dict of a fresh `make_module(name, **kwargs)` after `torch.manual_seed(seed)`."""
    torch.manual_seed(seed)
    return _detached(adapters.make_module(name, **kwargs).state_dict())


def module_parameter_count(name: str, kwargs: dict) -> int:
    """How many parameters (tensors) a fresh `make_module(name, **kwargs)` has."""
    return len(list(adapters.make_module(name, **kwargs).parameters()))


def module_forward(name: str, kwargs: dict, state: dict[str, Tensor], inputs: Sequence) -> Tensor:
    """`make_module(name, **kwargs)` with `state` loaded (strictly), applied to `*inputs`, without grad."""
    module = adapters.make_module(name, **kwargs)
    module.load_state_dict(state)
    with torch.no_grad():
        return module(*inputs).detach()


def module_gradients(
    name: str, kwargs: dict, inputs: Sequence, seed: int = 0, state: dict[str, Tensor] | None = None
) -> dict:
    """Forward `*inputs` through a fresh (seeded, or `state`-loaded) module, backpropagate
    logsumexp(output, last axis).mean(), and return {"output": ..., "grads": {name: grad or None}}."""
    torch.manual_seed(seed)
    module = adapters.make_module(name, **kwargs)
    if state is not None:
        module.load_state_dict(state)
    output = module(*inputs)
    output.logsumexp(-1).mean().backward()
    grads = {n: None if p.grad is None else p.grad.detach().clone() for n, p in module.named_parameters()}
    return {"output": output.detach(), "grads": grads}


# ---------------------------------------------------------------- gradients through a hook


def cross_entropy_gradient(logits: Tensor, targets: Tensor) -> Tensor | None:
    """d run_cross_entropy(logits, targets) / d logits (None when the loss is not differentiable)."""
    x = logits.clone().requires_grad_(True)
    loss = adapters.run_cross_entropy(x, targets)
    if not isinstance(loss, Tensor) or not loss.requires_grad:
        return None
    loss.backward()
    return None if x.grad is None else x.grad.detach()


def attention_gradients(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, ...]:
    """Gradients of run_scaled_dot_product_attention(Q, K, V, mask).sum() w.r.t. Q, K and V."""
    leaves = [t.clone().requires_grad_(True) for t in (q, k, v)]
    adapters.run_scaled_dot_product_attention(*leaves, mask).sum().backward()
    return tuple(t.grad.detach() for t in leaves)


# ---------------------------------------------------------------- gradient clipping


def clip_gradients(grads: Sequence[Tensor | None], max_l2_norm: float, as_generator: bool = True) -> list:
    """Parameters holding `grads` (None: a frozen parameter without a gradient) clipped by
    run_gradient_clipping; returns their gradients afterwards. With `as_generator` the parameters are
    passed as a generator, as `model.parameters()` is: it can be read only once."""
    params = []
    for g in grads:
        shape = (1,) if g is None else g.shape
        p = torch.nn.Parameter(torch.zeros(shape), requires_grad=g is not None)
        p.grad = None if g is None else g.clone()
        params.append(p)
    adapters.run_gradient_clipping((p for p in params) if as_generator else params, max_l2_norm)
    return [None if p.grad is None else p.grad.detach().clone() for p in params]


# ---------------------------------------------------------------- AdamW


def _gradients(params, targets, noise, scale: float, coupling: float, frozen: Sequence[int]) -> None:
    """g_i = scale * (coupling * (theta_i - target_i) + noise_i), None for the frozen indices."""
    for i, p in enumerate(params):
        if i in frozen:
            p.grad = None
        else:
            p.grad = scale * (coupling * (p.detach().clone() - targets[i]) + noise[i])


def _adamw(params, defaults: dict, groups: Sequence[dict] | None):
    cls = adapters.get_adamw_cls()
    if groups is None:
        return cls(params, **defaults)
    spec = [{**{k: v for k, v in g.items() if k != "params"}, "params": [params[i] for i in g["params"]]} for g in groups]
    return cls(spec, **defaults)


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
    """The parameters after len(noises) - 1 steps of the student's AdamW (float64 parameters).

    Step t = 1, 2, ... gives parameter i the gradient scale * (coupling * (theta_i - targets[i]) +
    noises[t][i]) (noises[0] is unused); the indices in `frozen` never get a gradient. `groups`, if
    given, are param groups {"params": [indices], <overrides>}; otherwise one group with `defaults`.
    """
    params = [torch.nn.Parameter(p.clone()) for p in params0]
    optimizer = _adamw(params, defaults, groups)
    for t in range(1, len(noises)):
        _gradients(params, targets, noises[t], scale, coupling, frozen)
        optimizer.step()
    return [p.detach().clone() for p in params]


def adamw_resume(
    params0: Sequence[Tensor],
    targets: Sequence[Tensor],
    noises: Sequence[Sequence[Tensor]],
    scale: float,
    coupling: float,
    defaults: dict,
    save_after: int,
) -> dict:
    """Run `save_after` steps, save optimizer.state_dict() with torch.save, reload it with
    torch.load(weights_only=True) into a NEW AdamW over fresh parameters of the same values, and finish
    the remaining steps there. Returns {"resumed", "uninterrupted": parameter lists, "reload_error":
    None or the message of the failed reload}."""
    params = [torch.nn.Parameter(p.clone()) for p in params0]
    optimizer = _adamw(params, defaults, None)
    for t in range(1, save_after + 1):
        _gradients(params, targets, noises[t], scale, coupling, ())
        optimizer.step()
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    buffer.seek(0)
    try:
        saved = torch.load(buffer, weights_only=True)
    except Exception as e:  # noqa: BLE001 - reported to the test, which explains it
        return {"resumed": None, "uninterrupted": None, "reload_error": f"{type(e).__name__}: {e}"}
    resumed = [torch.nn.Parameter(p.detach().clone()) for p in params]
    optimizer2 = _adamw(resumed, defaults, None)
    optimizer2.load_state_dict(saved)
    for t in range(save_after + 1, len(noises)):
        _gradients(resumed, targets, noises[t], scale, coupling, ())
        optimizer2.step()
    uninterrupted = adamw_steps(params0, targets, noises, scale, coupling, defaults)
    return {"resumed": [p.detach().clone() for p in resumed], "uninterrupted": uninterrupted, "reload_error": None}


# ---------------------------------------------------------------- data loading


def get_batches(
    dataset: np.ndarray, batch_size: int, context_length: int, device: str, seed: int, draws: int = 1
) -> list[tuple[Tensor, Tensor]]:
    """`draws` calls of run_get_batch after seeding numpy's and torch's global generators with `seed`
    (a student may sample with either)."""
    np.random.seed(seed)
    torch.manual_seed(seed)
    return [adapters.run_get_batch(dataset, batch_size, context_length, device) for _ in range(draws)]


def get_batch_from_memmap(path: str | os.PathLike, batch_size: int, context_length: int, seed: int) -> dict:
    """run_get_batch on np.load(path, mmap_mode="r"); returns {"x", "y", "peak_bytes"}, the peak of
    numpy/Python allocations during the call (tracemalloc)."""
    dataset = np.load(path, mmap_mode="r")
    np.random.seed(seed)
    torch.manual_seed(seed)
    tracemalloc.start()
    try:
        x, y = adapters.run_get_batch(dataset, batch_size, context_length, "cpu")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {"x": x, "y": y, "peak_bytes": peak}


# ---------------------------------------------------------------- checkpointing


def _small_model(seed: int, hidden: int = 8) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 3))


def _train(model: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int, seed: int) -> None:
    # torch.optim.AdamW (not the student's), so the checkpoint scenarios depend only on checkpointing
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x, y = torch.randn(16, 4, generator=g), torch.randint(0, 3, (16,), generator=g)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


def _trained_pair(steps: int = 5):
    model = _small_model(seed=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    _train(model, optimizer, steps, seed=1)
    return model, optimizer


def _fresh_pair(hidden: int = 8):
    model = _small_model(seed=123, hidden=hidden)  # other initial weights, empty optimizer state
    return model, torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)


def _optimizer_state(optimizer: torch.optim.Optimizer) -> dict:
    state = optimizer.state_dict()
    return {
        "param_groups": [dict(g) for g in state["param_groups"]],
        "state": {int(i): {k: v.detach().clone() if isinstance(v, Tensor) else v for k, v in s.items()} for i, s in state["state"].items()},
    }


def checkpoint_round_trip(out: str | os.PathLike | None, iteration: int, as_str: bool = False) -> dict:
    """Save a trained model + torch AdamW with run_save_checkpoint (to the path `out`, as a str when
    `as_str`, or to an in-memory binary file when `out` is None), load into a fresh pair with
    run_load_checkpoint. Returns the returned iteration and both sides' model / optimizer states."""
    model, optimizer = _trained_pair()
    target = io.BytesIO() if out is None else (str(out) if as_str else Path(out))
    adapters.run_save_checkpoint(model, optimizer, iteration, target)
    if out is None:
        target.seek(0)
    model2, optimizer2 = _fresh_pair()
    loaded = adapters.run_load_checkpoint(target, model2, optimizer2)
    return {
        "iteration": loaded,
        "saved_model": _detached(model.state_dict()),
        "loaded_model": _detached(model2.state_dict()),
        "saved_optimizer": _optimizer_state(optimizer),
        "loaded_optimizer": _optimizer_state(optimizer2),
    }


def checkpoint_resume(path: str | os.PathLike, more_steps: int) -> dict:
    """Save after 5 steps, load into a fresh pair, train both `more_steps` more on the same batches;
    returns both model states {"uninterrupted", "resumed"}."""
    model, optimizer = _trained_pair()
    adapters.run_save_checkpoint(model, optimizer, 5, path)
    model2, optimizer2 = _fresh_pair()
    adapters.run_load_checkpoint(path, model2, optimizer2)
    _train(model, optimizer, more_steps, seed=2)
    _train(model2, optimizer2, more_steps, seed=2)
    return {"uninterrupted": _detached(model.state_dict()), "resumed": _detached(model2.state_dict())}


def checkpoint_load_damaged(path: str | os.PathLike, damage: str) -> None:
    """Save a checkpoint to `path`, then load it after `damage`: "truncate" (the file cut in half, as
    after a crash during a non-atomic write) or "wider_model" (into a model of another shape). Returns
    None if the load succeeds; whatever run_load_checkpoint raises propagates."""
    model, optimizer = _trained_pair()
    adapters.run_save_checkpoint(model, optimizer, 5, path)
    if damage == "truncate":
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[: len(data) // 2])
        adapters.run_load_checkpoint(path, *_fresh_pair())
    elif damage == "wider_model":
        adapters.run_load_checkpoint(path, *_fresh_pair(hidden=16))
    else:
        raise ValueError(f"unknown damage {damage!r}")


# ---------------------------------------------------------------- tokenizer streaming


def encode_iterable_consumption(
    vocab: dict[int, bytes], merges: list, special_tokens: list[str] | None, line: str, repeats: int, take: int
) -> dict:
    """Take the first `take` ids of encode_iterable over a generator of `repeats` copies of `line`;
    returns {"ids": those ids, "consumed": how many lines the tokenizer had read by then}."""
    tokenizer = adapters.get_tokenizer(vocab, merges, special_tokens)
    consumed = 0

    def lines():
        nonlocal consumed
        for _ in range(repeats):
            consumed += 1
            yield line

    ids = list(islice(tokenizer.encode_iterable(lines()), take))
    return {"ids": ids, "consumed": consumed}


def encode_iterable_over_file(
    vocab: dict[int, bytes], merges: list, special_tokens: list[str] | None, path: str | os.PathLike
) -> list[int]:
    """encode_iterable over the text file `path` opened for reading (it yields lines, newlines kept)."""
    tokenizer = adapters.get_tokenizer(vocab, merges, special_tokens)
    with open(path, encoding="utf-8", newline="") as f:
        return list(tokenizer.encode_iterable(f))
