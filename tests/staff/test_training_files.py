"""Staff: token files and checkpoints of the reference are atomic, pickle-free and fail with clear errors."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
import torch

from cs336_basics import checkpoint
from cs336_basics.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from cs336_basics.data import get_batch
from cs336_basics.training.config import MODEL_PRESETS
from cs336_basics.training.prepare import load_tokens, save_tokens

pytestmark = pytest.mark.staff


# ---- token files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("top", "dtype"), [(2**16 - 1, np.uint16), (2**16, np.uint32)])
def test_save_tokens_picks_the_smallest_dtype_and_round_trips_as_a_memmap(tmp_path, top, dtype):
    ids = np.array([0, 7, top], dtype=np.int64)
    path = save_tokens(tmp_path / "sub" / "tokens.npy", ids)
    loaded = load_tokens(path)
    assert isinstance(loaded, np.memmap) and loaded.dtype == dtype and loaded.tolist() == ids.tolist()
    assert [p.name for p in path.parent.iterdir()] == ["tokens.npy"], "no temporary file may be left behind"
    x, y = get_batch(loaded, 2, 2, "cpu", generator=0)
    assert x.dtype == torch.int64 and int(y.max()) <= top


def test_save_tokens_failure_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = save_tokens(tmp_path / "tokens.npy", [1, 2, 3])

    def crash(f, array, allow_pickle):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_tokens(path, [4, 5, 6])
    monkeypatch.undo()
    assert load_tokens(path).tolist() == [1, 2, 3]
    assert [p.name for p in tmp_path.iterdir()] == ["tokens.npy"]


@pytest.mark.parametrize(
    ("ids", "message"),
    [([[1, 2]], r"1-D, got shape \(1, 2\)"), ([0.5, 1.0], "integers, got dtype float64"), ([-1, 3], r"range \[-1, 3\]")],
)
def test_save_tokens_rejects_bad_ids(tmp_path, ids, message):
    with pytest.raises(ValueError, match=message):
        save_tokens(tmp_path / "t.npy", ids)


def test_load_tokens_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        load_tokens(tmp_path / "missing.npy")
    good = save_tokens(tmp_path / "good.npy", np.arange(1000))
    (tmp_path / "cut.npy").write_bytes(good.read_bytes()[:300])
    with pytest.raises(ValueError, match=r"cut.npy.*truncated or corrupt"):
        load_tokens(tmp_path / "cut.npy")
    np.save(tmp_path / "floats.npy", np.zeros(4))
    with pytest.raises(ValueError, match=r"floats.npy.*1-D integer array, got 1-D float64"):
        load_tokens(tmp_path / "floats.npy")


# ---- checkpoints ----------------------------------------------------------------------------------


class _ConfiguredModel(torch.nn.Module):
    """A stand-in with a `config` dataclass, as TransformerLM has."""

    def __init__(self, width: int = 4):
        super().__init__()
        self.config = MODEL_PRESETS["debug"]
        self.proj = torch.nn.Linear(width, 3)
        self.register_buffer("scale", torch.ones(3))


def _trained(width: int = 4):
    torch.manual_seed(0)
    model = _ConfiguredModel(width)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.proj(torch.randn(2, width)).sum().backward()
    optimizer.step()
    return model, optimizer


def test_read_checkpoint_returns_config_iteration_and_extra(tmp_path):
    model, optimizer = _trained()
    rng_state = np.random.default_rng(3).bit_generator.state
    path = tmp_path / "ckpt.pt"
    save_checkpoint(model, optimizer, 42, path, tokens_seen=1024, note="warm-up", data_rng=rng_state, ema=torch.ones(2))
    payload = read_checkpoint(path)
    assert payload["iteration"] == 42 and payload["model_config"] == MODEL_PRESETS["debug"].to_dict()
    assert payload["extra"]["tokens_seen"] == 1024 and payload["extra"]["note"] == "warm-up"
    assert payload["extra"]["data_rng"] == rng_state and torch.equal(payload["extra"]["ema"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"], "no temporary file may be left behind"


def test_load_checkpoint_can_restore_every_rng_for_an_exact_resume(tmp_path):
    model, optimizer = _trained()
    save_checkpoint(model, optimizer, 1, tmp_path / "c.pt")
    draws = (torch.rand(3), np.random.rand(3), random.random())
    load_checkpoint(tmp_path / "c.pt", model, optimizer, restore_rng=True)
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(draws[0], again[0]) and np.array_equal(draws[1], again[1]) and draws[2] == again[2]


def test_save_checkpoint_unwraps_torch_compile_prefix():
    model, optimizer = _trained()
    buffer = io.BytesIO()
    wrapper = torch.nn.Module()
    wrapper._orig_mod = model  # what torch.compile's OptimizedModule holds
    save_checkpoint(wrapper, optimizer, 3, buffer)
    buffer.seek(0)
    assert set(read_checkpoint(buffer)["model"]) == {"proj.weight", "proj.bias", "scale"}


def test_save_checkpoint_rejects_extra_values_that_weights_only_cannot_load(tmp_path):
    model, optimizer = _trained()
    with pytest.raises(ValueError, match=r"extra\['cfg'\]\['fn'\] has type builtin_function_or_method"):
        save_checkpoint(model, optimizer, 1, tmp_path / "c.pt", cfg={"fn": print})
    assert not list(tmp_path.iterdir())


def test_save_checkpoint_failure_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    model, optimizer = _trained()
    path = tmp_path / "c.pt"
    save_checkpoint(model, optimizer, 1, path)

    def crash(obj, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(model, optimizer, 2, path)
    monkeypatch.undo()
    assert read_checkpoint(path)["iteration"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_load_checkpoint_errors_name_the_file_and_the_problem(tmp_path):
    model, optimizer = _trained()
    path = tmp_path / "c.pt"
    save_checkpoint(model, optimizer, 1, path)
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt", model)
    (tmp_path / "cut.pt").write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=r"cut.pt.*truncated or corrupt"):
        load_checkpoint(tmp_path / "cut.pt", model)
    torch.save({"weights": torch.ones(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"other.pt.*not a cs336_basics checkpoint"):
        load_checkpoint(tmp_path / "other.pt", model)
    wider, _ = _trained(width=6)
    with pytest.raises(CheckpointError, match=r"c.pt.*shape mismatch: proj.weight: expected \(3, 6\), found \(3, 4\)"):
        load_checkpoint(path, wider)
    extra_layer = _ConfiguredModel()
    extra_layer.head = torch.nn.Linear(3, 2)
    with pytest.raises(CheckpointError, match=r"missing keys: head.bias, head.weight"):
        load_checkpoint(path, extra_layer)
    buffer = io.BytesIO()
    save_checkpoint(model, None, 1, buffer)
    buffer.seek(0)
    with pytest.raises(CheckpointError, match="holds no optimizer state"):
        load_checkpoint(buffer, model, optimizer)
