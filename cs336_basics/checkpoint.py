"""Checkpoints: model and optimizer state, iteration, model config, RNG states; atomic and pickle-free.

A checkpoint is a `torch.save`d dict, loaded with `torch.load(weights_only=True)` (no arbitrary pickle):

    format: "cs336_basics.checkpoint"   version: FORMAT_VERSION   iteration: int
    model: state_dict                   optimizer: state_dict or None
    model_config: dict or None (from `model.config.to_dict()`, to rebuild the model without flags)
    rng: {"torch": ByteTensor, "cuda": [ByteTensor, ...], "numpy": {...}, "python": tuple}
    extra: caller's values (JSON-like values and tensors)
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import random
import zipfile
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np
import torch

from cs336_basics.training.atomic import atomic_write

FORMAT = "cs336_basics.checkpoint"
FORMAT_VERSION = 1
Source = str | os.PathLike | BinaryIO | IO[bytes]


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or that does not fit the model or optimizer it is loaded into."""


def save_checkpoint(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    iteration: int,
    out: Source,
    **extra: Any,
) -> None:
    """Save everything needed to resume training at `iteration` to `out` (a path or a binary file).

    Stores the model and optimizer state dicts, the iteration, the model config (when `model.config`
    is a dataclass), the torch/CUDA/numpy/python RNG states and `extra` (values made of dicts with string
    keys, lists, tuples, str, int, float, bool, None and tensors). A path is written atomically: to a
    temporary file in the same directory, then renamed over `out`.
    """
    # BEGIN SOLUTION
    _check_extra(extra, "extra")
    model = _unwrap(model)
    payload = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "iteration": int(iteration),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "model_config": _config_dict(model),
        "rng": _rng_state(),
        "extra": extra,
    }
    if not isinstance(out, (str, os.PathLike)):
        torch.save(payload, out)
        return
    with atomic_write(out) as f:
        torch.save(payload, f)
    # END SOLUTION


def load_checkpoint(
    src: Source,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    restore_rng: bool = False,
) -> int:
    """Restore `model` (and `optimizer`, when given) from `src`; return the saved iteration.

    Raises CheckpointError (a ValueError) naming the file and the problem when the file is truncated or
    not a checkpoint, when its keys or shapes do not match `model` (missing/unexpected keys, shape
    expected vs found), or when `optimizer` is given but the checkpoint has no optimizer state.
    `restore_rng=True` also restores the global torch/CUDA/numpy/python RNG states, for an exact resume.
    """
    # BEGIN SOLUTION
    name = _name(src)
    payload = read_checkpoint(src)
    model = _unwrap(model)
    _check_model_state(name, model.state_dict(), payload["model"])
    model.load_state_dict(payload["model"])
    if optimizer is not None:
        if payload["optimizer"] is None:
            raise CheckpointError(f"{name}: the checkpoint holds no optimizer state (it was saved without one)")
        try:
            optimizer.load_state_dict(payload["optimizer"])
        except (ValueError, KeyError) as e:
            raise CheckpointError(f"{name}: optimizer state does not fit this optimizer: {e}") from e
    if restore_rng:
        _restore_rng_state(payload["rng"])
    return payload["iteration"]
    # END SOLUTION


def read_checkpoint(src: Source, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a checkpoint's dict without building a model (to read its config, extra or RNG).

    Tensors land on `map_location` (the CPU by default, so a GPU checkpoint opens anywhere).
    """
    name = _name(src)
    if isinstance(src, (str, os.PathLike)) and not Path(src).is_file():
        raise FileNotFoundError(f"checkpoint {name} does not exist")
    try:
        payload = torch.load(src, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"{name}: not a readable checkpoint (truncated or corrupt file?): {e}") from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{name}: not a cs336_basics checkpoint (no 'format': {FORMAT!r} entry)")
    if payload.get("version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{name}: checkpoint format version {payload.get('version')!r}, this code reads version {FORMAT_VERSION}"
        )
    missing = sorted({"iteration", "model", "optimizer", "model_config", "rng", "extra"} - set(payload))
    if missing:
        raise CheckpointError(f"{name}: checkpoint is missing the entries {missing}")
    return payload


def _name(src: Source) -> str:
    if isinstance(src, (str, os.PathLike)):
        return repr(os.fspath(src))
    return repr(getattr(src, "name", f"<{type(src).__name__} object>"))


# BEGIN SOLUTION
def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module whose state_dict keys have no wrapper prefix (torch.compile `_orig_mod.`, DDP `module.`)."""
    while True:
        if isinstance(model, torch.nn.parallel.DistributedDataParallel):
            model = model.module
        elif isinstance(getattr(model, "_orig_mod", None), torch.nn.Module):
            model = model._orig_mod
        else:
            return model


def _config_dict(model: torch.nn.Module) -> dict[str, Any] | None:
    config = getattr(model, "config", None)
    if config is None or not dataclasses.is_dataclass(config) or isinstance(config, type):
        return None
    return config.to_dict() if hasattr(config, "to_dict") else dataclasses.asdict(config)


def _check_extra(value: Any, where: str) -> None:
    # the weights_only unpickler accepts exactly these types; refusing others here keeps files loadable
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"save_checkpoint: {where} has a non-string key {key!r}")
            _check_extra(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_extra(item, f"{where}[{i}]")
    elif not (value is None or isinstance(value, (str, int, float, bool, torch.Tensor))):
        raise ValueError(
            f"save_checkpoint: {where} has type {type(value).__name__}; extra values must be JSON-like "
            f"(dict, list, tuple, str, int, float, bool, None) or tensors"
        )


def _check_model_state(name: str, expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]) -> None:
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    mismatched = [
        f"{k}: expected {tuple(expected[k].shape)}, found {tuple(found[k].shape)}"
        for k in sorted(set(expected) & set(found))
        if expected[k].shape != found[k].shape
    ]
    problems = []
    for label, items in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatch", mismatched)):
        if items:
            shown = ", ".join(items[:5]) + (f", ... ({len(items) - 5} more)" if len(items) > 5 else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise CheckpointError(f"{name}: checkpoint does not match the model ({'; '.join(problems)})")


def _rng_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        # only when CUDA is already in use: querying would otherwise initialise it
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": random.getstate(),
    }


def _restore_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"]:
        torch.cuda.set_rng_state_all(state["cuda"])
    np_state = state["numpy"]
    keys = np_state["keys"].numpy().astype(np.uint32)
    np.random.set_state((np_state["name"], keys, np_state["pos"], np_state["has_gauss"], np_state["cached_gaussian"]))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))


# END SOLUTION
