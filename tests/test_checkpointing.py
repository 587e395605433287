"""Checkpoints: a save/load round trip restores the model and the optimizer exactly, to a path or a file."""

from __future__ import annotations

import io

import pytest
import torch

from tests.adapters import run_load_checkpoint, run_save_checkpoint

pytestmark = pytest.mark.problem("checkpointing")


def _model(seed: int, hidden: int = 8) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 3))


def _train(model: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int, seed: int) -> None:
    # torch.optim.AdamW (not the student's) so these tests depend only on checkpointing
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x, y = torch.randn(16, 4, generator=g), torch.randint(0, 3, (16,), generator=g)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


def _trained(steps: int = 5) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    model = _model(seed=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    _train(model, optimizer, steps, seed=1)
    return model, optimizer


def _fresh() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    model = _model(seed=123)  # different initial weights, empty optimizer state
    return model, torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)


def _assert_same_state(model_a, opt_a, model_b, opt_b) -> None:
    for key, expected in model_a.state_dict().items():
        actual = model_b.state_dict()[key]
        assert torch.equal(actual, expected), f"model tensor {key!r} differs after loading the checkpoint"
    saved, loaded = opt_a.state_dict(), opt_b.state_dict()
    assert loaded["param_groups"] == saved["param_groups"], (
        "the optimizer's param groups (lr, betas, weight_decay, ...) must be restored from the checkpoint"
    )
    assert loaded["state"].keys() == saved["state"].keys(), (
        f"the optimizer state must be restored: parameters with state {sorted(loaded['state'])}, "
        f"expected {sorted(saved['state'])}. Save optimizer.state_dict() and load it with "
        f"optimizer.load_state_dict()"
    )
    for index, state in saved["state"].items():
        for name, expected in state.items():
            actual = loaded["state"][index].get(name)
            same = torch.equal(actual, expected) if isinstance(expected, torch.Tensor) else actual == expected
            assert same, f"optimizer state {name!r} of parameter {index} differs after loading the checkpoint"


def _assert_load_fails(path, model, optimizer) -> None:
    # torch raises different types for different problems (and cut points); any error will do, but an
    # unimplemented load must not count as one
    with pytest.raises(Exception) as info:  # noqa: B017
        run_load_checkpoint(path, model, optimizer)
    assert not isinstance(info.value, NotImplementedError), "load_checkpoint is not implemented yet"


def test_checkpoint_round_trip_restores_model_and_optimizer_tensor_by_tensor(tmp_path):
    model, optimizer = _trained()
    path = tmp_path / "checkpoint.pt"
    run_save_checkpoint(model, optimizer, 5, path)
    model2, optimizer2 = _fresh()
    iteration = run_load_checkpoint(path, model2, optimizer2)
    assert iteration == 5, f"load must return the saved iteration 5, got {iteration!r}"
    _assert_same_state(model, optimizer, model2, optimizer2)


def test_checkpoint_resumed_training_matches_uninterrupted_training(tmp_path):
    model, optimizer = _trained()
    path = tmp_path / "checkpoint.pt"
    run_save_checkpoint(model, optimizer, 5, str(path))  # a str path works as well as a Path
    model2, optimizer2 = _fresh()
    run_load_checkpoint(str(path), model2, optimizer2)
    _train(model, optimizer, 5, seed=2)
    _train(model2, optimizer2, 5, seed=2)
    for (key, a), b in zip(model.state_dict().items(), model2.state_dict().values()):
        # identical state and identical operations give identical bits
        assert torch.equal(a, b), (
            f"after resuming from the checkpoint, 5 more steps give a different {key!r} than training without "
            f"interruption: the optimizer's state (AdamW's m, v and step) must be saved and restored too"
        )


def test_checkpoint_to_a_binary_file_object():
    model, optimizer = _trained()
    buffer = io.BytesIO()
    run_save_checkpoint(model, optimizer, 12, buffer)
    buffer.seek(0)
    model2, optimizer2 = _fresh()
    assert run_load_checkpoint(buffer, model2, optimizer2) == 12
    _assert_same_state(model, optimizer, model2, optimizer2)


def test_checkpoint_truncated_file_raises(tmp_path):
    model, optimizer = _trained()
    path = tmp_path / "checkpoint.pt"
    run_save_checkpoint(model, optimizer, 5, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # as after a crash in the middle of a non-atomic write
    _assert_load_fails(path, *_fresh())


def test_checkpoint_into_a_different_architecture_raises(tmp_path):
    model, optimizer = _trained()
    path = tmp_path / "checkpoint.pt"
    run_save_checkpoint(model, optimizer, 5, path)
    other = _model(seed=0, hidden=16)
    _assert_load_fails(path, other, torch.optim.AdamW(other.parameters()))
