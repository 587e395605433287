"""Random training batches drawn from a 1-D token array (e.g. a memory-mapped uint16 `.npy` file)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
from jaxtyping import Int
from torch import Tensor


def get_batch(
    dataset: npt.NDArray,
    batch_size: int,
    context_length: int,
    device: str | torch.device,
    generator: np.random.Generator | int | None = None,
) -> tuple[Int[Tensor, "batch context"], Int[Tensor, "batch context"]]:
    """Sample `batch_size` windows of the 1-D token array `dataset`: inputs x and next-token targets y.

    Each row starts at a start s drawn uniformly from every valid start 0 .. len(dataset) - context_length - 1
    (the last one included: its target ends at the final token), with x = dataset[s : s + context_length]
    and y = dataset[s + 1 : s + context_length + 1]. Both are int64 on `device`.

    `dataset` may be an `np.memmap` (e.g. from `cs336_basics.training.prepare.load_tokens`): only the sampled windows are read.
    `generator` (a `numpy.random.Generator` or an integer seed) makes sampling reproducible; without
    one, numpy's global RNG is used (so `np.random.seed` controls it).

    Example: dataset [10, 11, 12, 13], context_length 2 -> starts {0, 1}; start 1 gives x [11, 12], y [12, 13].
    """
    # BEGIN SOLUTION
    if getattr(dataset, "ndim", None) != 1 or not np.issubdtype(dataset.dtype, np.integer):
        raise ValueError(
            f"get_batch: dataset must be a 1-D integer array, got "
            f"{getattr(dataset, 'ndim', '?')}-D array of {getattr(dataset, 'dtype', type(dataset).__name__)}"
        )
    if batch_size < 1 or context_length < 1:
        raise ValueError(
            f"get_batch: batch_size and context_length must be >= 1, got {batch_size} and {context_length}"
        )
    num_starts = len(dataset) - context_length
    if num_starts < 1:
        raise ValueError(
            f"get_batch: dataset of {len(dataset)} tokens is too short for context_length {context_length}: "
            f"at least {context_length + 1} tokens are needed (inputs plus one target)"
        )
    target = _resolve_device(device)
    if generator is None:
        starts = np.random.randint(0, num_starts, size=batch_size)
    else:
        starts = np.random.default_rng(generator).integers(0, num_starts, size=batch_size)
    # fancy indexing a memmap reads only the touched pages: batch_size windows of context_length + 1 tokens
    windows = np.asarray(dataset[starts[:, None] + np.arange(context_length + 1)], dtype=np.int64)
    tokens = torch.from_numpy(windows)
    if target.type == "cuda":
        # pinned host memory lets the copy to the GPU run asynchronously
        tokens = tokens.pin_memory().to(target, non_blocking=True)
    else:
        tokens = tokens.to(target)
    return tokens[:, :-1], tokens[:, 1:]
    # END SOLUTION


# BEGIN SOLUTION
def _resolve_device(device: str | torch.device) -> torch.device:
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise RuntimeError(f"get_batch: {device!r} is not a torch device (try 'cpu', 'cuda', 'cuda:0' or 'mps')") from e
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"get_batch: device {device!r} requested but CUDA is not available on this machine")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise RuntimeError(
                f"get_batch: device {device!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError(f"get_batch: device {device!r} requested but MPS is not available on this machine")
    return resolved


# END SOLUTION
