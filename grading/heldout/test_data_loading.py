"""Held-out: get_batch on fresh token arrays (dtype, length, batch and context drawn per run): windows of
the dataset, next-token targets, int64, and uniform start positions including the last one."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from grading.heldout.draw import integers
from tests.scenarios import get_batches

pytestmark = [pytest.mark.problem("data_loading"), pytest.mark.heldout]

DTYPES = [np.uint16, np.int32, np.int64]


def _dataset(heldout_rng, length: int, dtype=None) -> np.ndarray:
    """Distinct token values in random order, so a window's first token tells where it starts."""
    dtype = dtype or DTYPES[integers(heldout_rng, 0, len(DTYPES) - 1)]
    return heldout_rng.permutation(60_000)[:length].astype(dtype)


def _starts(x: torch.Tensor, y: torch.Tensor, dataset: np.ndarray, batch_size: int, context_length: int) -> list[int]:
    what = f"get_batch(dataset of {len(dataset)} {dataset.dtype} tokens, batch_size={batch_size}, context_length={context_length})"
    for name, t in (("x", x), ("y", y)):
        assert isinstance(t, torch.Tensor), f"{what}: {name} must be a torch.Tensor, got {type(t).__name__}"
        assert tuple(t.shape) == (batch_size, context_length), (
            f"{what}: {name} must have shape (batch_size, context_length) = {(batch_size, context_length)}, got {tuple(t.shape)}"
        )
        assert t.dtype == torch.int64, f"{what}: {name} must be int64 (torch.long), whatever the dataset's dtype; got {t.dtype}"
    where = {int(v): i for i, v in enumerate(dataset)}
    starts = []
    for row in range(batch_size):
        s = where.get(int(x[row, 0]), -1)
        last = len(dataset) - context_length - 1
        assert 0 <= s <= last, f"{what}: row {row} starts with a token that is not at a valid start 0..{last}"
        window = torch.from_numpy(dataset[s : s + context_length + 1].astype(np.int64))
        assert torch.equal(x[row], window[:-1]), f"{what}: row {row} of x is not dataset[s : s + context_length]"
        assert torch.equal(y[row], window[1:]), (
            f"{what}: row {row} of y is not the next tokens dataset[s + 1 : s + context_length + 1] (x shifted by one)"
        )
        starts.append(s)
    return starts


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_get_batch_rows_are_windows_with_next_token_targets(heldout_rng, dtype):
    context_length = integers(heldout_rng, 1, 64)
    dataset = _dataset(heldout_rng, context_length + integers(heldout_rng, 2, 3000), dtype)
    batch_size = integers(heldout_rng, 1, 32)
    for x, y in get_batches(dataset, batch_size, context_length, "cpu", seed=integers(heldout_rng, 0, 2**31), draws=3):
        _starts(x, y, dataset, batch_size, context_length)


def test_get_batch_start_positions_are_uniform_including_the_last(heldout_rng):
    context_length = integers(heldout_rng, 1, 16)
    num_starts = integers(heldout_rng, 2, 12)
    dataset = _dataset(heldout_rng, context_length + num_starts)  # starts 0 .. num_starts - 1
    batch_size, draws = 500, 8
    counts: Counter[int] = Counter()
    for x, y in get_batches(dataset, batch_size, context_length, "cpu", seed=integers(heldout_rng, 0, 2**31), draws=draws):
        counts.update(_starts(x, y, dataset, batch_size, context_length))
    n = batch_size * draws
    expected, sd = n / num_starts, (n / num_starts * (1 - 1 / num_starts)) ** 0.5
    for s in range(num_starts):
        # each count is Binomial(n, 1/num_starts): 6 sd keeps a false failure below 1e-8 per start, while a
        # start never drawn, or drawn num_starts/(num_starts-1) times too often, is far outside
        assert abs(counts[s] - expected) <= 6 * sd, (
            f"start position {s} was drawn {counts[s]} times in {n} samples from a dataset of {len(dataset)} tokens "
            f"with context_length={context_length}, expected {expected:.0f} ± {6 * sd:.0f}: starts must be uniform over "
            f"0 .. len(dataset) - context_length - 1 = 0 .. {num_starts - 1}"
            + (" (the last start must be reachable)" if s == num_starts - 1 else "")
        )
