"""Loss, batch sampling and checkpoints."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import torch
from torch import Tensor


def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean over every position of logsumexp(logits) - logits[target]."""
    flat = logits.reshape(-1, logits.shape[-1])
    tgt = targets.reshape(-1).long()
    top = flat.amax(dim=-1, keepdim=True)
    lse = top.squeeze(-1) + torch.log(torch.exp(flat - top).sum(dim=-1))
    picked = flat.gather(-1, tgt[:, None]).squeeze(-1)
    return (lse - picked).mean()


def sample_batch(dataset, batch_size: int, context_length: int, device: str, rng=None):
    """`batch_size` random windows of the 1-D token array: inputs and next-token targets, int64 on `device`."""
    n = len(dataset)
    if n < context_length + 1:
        raise ValueError(f"a dataset of {n} tokens is too short for one window of {context_length} + 1")
    dev = torch.device(device)  # raises RuntimeError for a malformed device string
    if dev.type == "cuda" and (not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count()):
        raise RuntimeError(f"device {device!r} is not available on this machine")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    starts = rng.integers(0, n - context_length, size=batch_size)
    windows = np.stack([np.asarray(dataset[s : s + context_length + 1], dtype=np.int64) for s in starts])
    both = torch.from_numpy(windows).to(dev)
    return both[:, :-1].contiguous(), both[:, 1:].contiguous()


def save_checkpoint(model, optimizer, iteration, out):
    payload = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "iteration": int(iteration)}
    if isinstance(out, (str, os.PathLike)):
        path = os.fspath(out)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix="ckpt-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(payload, f)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    else:
        torch.save(payload, out)


def load_checkpoint(src, model, optimizer=None) -> int:
    payload = torch.load(src, map_location="cpu", weights_only=True)
    model.load_state_dict(payload["model"])  # strict: a different architecture raises
    if optimizer is not None:
        optimizer.load_state_dict(payload["optimizer"])
    return int(payload["iteration"])
