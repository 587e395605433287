"""get_batch: shapes, dtype, device, targets shifted by one, uniform start positions, memmap input.

(Seeding and the memmap live in tests/scenarios.py; a too-short dataset: tests/test_input_validation.py.)"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from tests import scenarios

pytestmark = pytest.mark.problem("data_loading")


def _batch(dataset, batch_size: int, context_length: int, seed: int, device: str = "cpu"):
    # numpy's and torch's global generators are seeded first (a student may sample with either)
    return scenarios.get_batches(dataset, batch_size, context_length, device, seed)[0]


def _check_batch(x, y, dataset: np.ndarray, batch_size: int, context_length: int) -> None:
    for name, t in (("x", x), ("y", y)):
        assert isinstance(t, torch.Tensor), f"{name} must be a torch.Tensor, got {type(t).__name__}"
        assert t.shape == (batch_size, context_length), (
            f"{name} must have shape (batch_size, context_length) = {(batch_size, context_length)}, got {tuple(t.shape)}"
        )
        assert t.dtype == torch.int64, f"{name} must be int64 (torch.long, what nn.Embedding expects), got {t.dtype}"
    # dataset[i] = i + offset, so a row's first value gives its start
    offset = int(dataset[0])
    starts = x[:, 0] - offset
    last = len(dataset) - context_length - 1
    assert int(starts.min()) >= 0 and int(starts.max()) <= last, (
        f"start positions must lie in [0, len(dataset) - context_length - 1] = [0, {last}], "
        f"got starts from {int(starts.min())} to {int(starts.max())}"
    )
    windows = starts[:, None] + offset + torch.arange(context_length)
    assert torch.equal(x, windows), "each row of x must be context_length consecutive tokens dataset[s : s + context_length]"
    assert torch.equal(y, x + 1), "y must be x shifted by one token: y[b, i] = dataset[s + i + 1] (the next token)"


def test_get_batch_shapes_dtype_and_targets_shifted_by_one():
    dataset = np.arange(1000, 1100, dtype=np.int64)
    x, y = _batch(dataset, 8, 5, seed=0)
    _check_batch(x, y, dataset, 8, 5)
    assert x.device.type == "cpu" and y.device.type == "cpu", f"asked for 'cpu', got {x.device} and {y.device}"


def test_get_batch_returns_int64_from_uint16_tokens():
    # token files are uint16 on disk; the batch must still be int64
    dataset = np.arange(500, 600, dtype=np.uint16)
    x, y = _batch(dataset, 4, 7, seed=1)
    _check_batch(x, y, dataset, 4, 7)


def test_get_batch_start_positions_are_uniform_including_the_last():
    dataset = np.arange(20, dtype=np.int64)
    context_length = 4
    num_starts = len(dataset) - context_length  # starts 0..15: the last one's target is dataset[19]
    draws, batch_size = 10, 800
    counts: Counter[int] = Counter()
    for x, y in scenarios.get_batches(dataset, batch_size, context_length, "cpu", seed=2, draws=draws):
        _check_batch(x, y, dataset, batch_size, context_length)
        counts.update(x[:, 0].tolist())
    n = draws * batch_size
    expected = n / num_starts
    # each count is Binomial(n, 1/16): mean 500, sd 21.7; 6 sd keeps a false failure below 1e-8 per start,
    # while a start that is never drawn (count 0) or drawn 16/15 as often (+33) is far outside
    # (the seeds are fixed, so the test is deterministic anyway)
    sd = (n * (1 / num_starts) * (1 - 1 / num_starts)) ** 0.5
    for start in range(num_starts):
        assert abs(counts[start] - expected) <= 6 * sd, (
            f"start position {start} was drawn {counts[start]} times in {n} samples, expected {expected:.0f} "
            f"± {6 * sd:.0f}: starts must be uniform over 0 .. len(dataset) - context_length - 1 = "
            f"0 .. {num_starts - 1}" + (" (the last start must be reachable)" if start == num_starts - 1 else "")
        )


def test_get_batch_smallest_dataset_has_exactly_one_start():
    dataset = np.arange(7, 13, dtype=np.int64)  # 6 tokens, context 5: only start 0 fits
    x, y = _batch(dataset, 3, 5, seed=3)
    _check_batch(x, y, dataset, 3, 5)


def test_get_batch_reads_a_memmap_without_loading_it_whole(tmp_path):
    n = 2_000_000  # 4 MB of uint16 on disk; as int64 it would be 16 MB
    path = tmp_path / "tokens.npy"
    np.save(path, np.arange(n, dtype=np.int64).astype(np.uint16))
    result = scenarios.get_batch_from_memmap(path, 4, 16, seed=4)
    x, y, peak = result["x"], result["y"], result["peak_bytes"]
    assert torch.equal(y[:, :-1], x[:, 1:]), "y must be x shifted by one token"
    # dataset[i] = i mod 2**16, so a window starting at value s holds (s, s + 1, ...) mod 2**16
    window = (x[:, :1] + torch.arange(17)) % 2**16
    assert torch.equal(x, window[:, :-1]) and torch.equal(y, window[:, 1:]), "rows must be windows of the memmap"
    # numpy reports its array allocations to tracemalloc: a batch needs a few KB, copying the whole
    # array (np.array(dataset), dataset.astype(...)) allocates >= 4 MB
    assert peak < 1_000_000, (
        f"get_batch allocated {peak / 1e6:.1f} MB of numpy memory for a batch of 4 x 16 tokens: index only the "
        f"sampled windows of the memmap instead of converting the whole dataset"
    )


def test_get_batch_unusable_device_raises():
    # the official test asks for "cuda:99" and expects torch's error; any exception stops the call, but an
    # unimplemented get_batch (NotImplementedError) must not count as one
    dataset = np.arange(100, dtype=np.int64)
    devices = ["cuda:99"] + ([] if torch.cuda.is_available() else ["cuda:0"])
    scenarios.get_batches(dataset, 2, 4, "cpu", seed=0)  # works on the CPU (so get_batch is implemented)
    for device in devices:
        try:
            scenarios.get_batches(dataset, 2, 4, device, seed=0)
        except Exception:  # noqa: BLE001 - any exception stops the call
            continue
        pytest.fail(f"get_batch on the unusable device {device!r} returned a batch instead of raising an error")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_get_batch_places_tensors_on_cuda():
    dataset = np.arange(100, dtype=np.int64)
    x, y = _batch(dataset, 2, 4, seed=5, device="cuda:0")
    assert x.device.type == "cuda" and y.device.type == "cuda", f"asked for 'cuda:0', got {x.device} and {y.device}"
    _check_batch(x.cpu(), y.cpu(), dataset, 2, 4)
