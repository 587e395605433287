"""Checkpoints: a save/load round trip restores the model and the optimizer exactly, to a path or a file.

The model (a small torch MLP) and optimizer (torch.optim.AdamW, so these tests depend only on
checkpointing) live inside tests/scenarios.py; the tests compare the states it returns. (Damaged
checkpoints: tests/test_input_validation.py.)
"""

from __future__ import annotations

import pytest
import torch

from tests import scenarios

pytestmark = pytest.mark.problem("checkpointing")


def _assert_same_state(result: dict) -> None:
    for key, expected in result["saved_model"].items():
        actual = result["loaded_model"].get(key)
        assert actual is not None and torch.equal(actual, expected), f"model tensor {key!r} differs after loading the checkpoint"
    saved, loaded = result["saved_optimizer"], result["loaded_optimizer"]
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


def test_checkpoint_round_trip_restores_model_and_optimizer_tensor_by_tensor(tmp_path):
    result = scenarios.checkpoint_round_trip(tmp_path / "checkpoint.pt", 5)
    assert result["iteration"] == 5, f"load must return the saved iteration 5, got {result['iteration']!r}"
    _assert_same_state(result)


def test_checkpoint_round_trip_through_a_str_path(tmp_path):
    result = scenarios.checkpoint_round_trip(tmp_path / "checkpoint.pt", 7, as_str=True)
    assert result["iteration"] == 7, f"load must return the saved iteration 7, got {result['iteration']!r}"
    _assert_same_state(result)


def test_checkpoint_resumed_training_matches_uninterrupted_training(tmp_path):
    result = scenarios.checkpoint_resume(str(tmp_path / "checkpoint.pt"), more_steps=5)
    for key, a in result["uninterrupted"].items():
        # identical state and identical operations give identical bits
        assert torch.equal(a, result["resumed"][key]), (
            f"after resuming from the checkpoint, 5 more steps give a different {key!r} than training without "
            f"interruption: the optimizer's state (AdamW's m, v and step) must be saved and restored too"
        )


def test_checkpoint_to_a_binary_file_object():
    result = scenarios.checkpoint_round_trip(None, 12)
    assert result["iteration"] == 12, f"load must return the saved iteration 12, got {result['iteration']!r}"
    _assert_same_state(result)

