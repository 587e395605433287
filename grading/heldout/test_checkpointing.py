"""Held-out: checkpoint round trips of freshly shaped models and optimizers, trained a fresh number of
steps, saved under a fresh iteration number, to a path or a binary file."""

from __future__ import annotations

import pytest
import torch

from grading.heldout.draw import integers, log_uniform
from grading.heldout.scenarios import checkpoint_resume_fresh

pytestmark = [pytest.mark.problem("checkpointing"), pytest.mark.heldout]


@pytest.mark.parametrize("target", ["path", "file_object"])
def test_checkpoint_restores_and_resumes_a_fresh_model_exactly(heldout_rng, tmp_path, target):
    widths = [integers(heldout_rng, 2, 12) for _ in range(integers(heldout_rng, 2, 4))]
    hp = {"lr": log_uniform(heldout_rng, 1e-4, 1e-1), "betas": (0.9, float(heldout_rng.uniform(0.95, 0.999))),
          "weight_decay": float(heldout_rng.uniform(0, 0.2))}
    iteration = integers(heldout_rng, 1, 10**6)
    before, after = integers(heldout_rng, 1, 6), integers(heldout_rng, 1, 4)
    out = tmp_path / "checkpoint.pt" if target == "path" else None
    r = checkpoint_resume_fresh(out, widths, hp, before, after, iteration, seed=integers(heldout_rng, 0, 2**31))
    what = f"a model of widths {widths} with AdamW({hp}) after {before} steps, saved as iteration {iteration} to a {target.replace('_', ' ')}"
    assert r["iteration"] == iteration, f"{what}: load must return the saved iteration {iteration}, got {r['iteration']!r}"
    for key, expected in r["saved_model"].items():
        assert torch.equal(r["loaded_model"][key], expected), f"{what}: model tensor {key!r} differs after loading"
    saved, loaded = r["saved_optimizer"], r["loaded_optimizer"]
    assert loaded["param_groups"] == saved["param_groups"], f"{what}: the optimizer's param groups (lr, betas, ...) are not restored"
    assert loaded["state"].keys() == saved["state"].keys(), (
        f"{what}: the optimizer state is not restored (save optimizer.state_dict(), load it with optimizer.load_state_dict())"
    )
    for index, state in saved["state"].items():
        for name, value in state.items():
            got = loaded["state"][index].get(name)
            same = torch.equal(got, value) if isinstance(value, torch.Tensor) else got == value
            assert same, f"{what}: optimizer state {name!r} of parameter {index} differs after loading"
    for key, expected in r["uninterrupted"].items():
        # identical state and identical operations give identical bits
        assert torch.equal(r["resumed"][key], expected), (
            f"{what}: {after} more steps after resuming give a different {key!r} than training without interruption"
        )
