"""Exact resume: a run killed (SIGKILL) or stopped (Ctrl-C) and resumed logs the same numbers, bit for bit
on a CPU, as a run that never stopped; a NaN loss stops the run and keeps the last good checkpoint."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import torch

import cs336_basics.training.loop as train_module
from cs336_basics.checkpoint import read_checkpoint
from cs336_basics.training.config import build_config
from cs336_basics.training.loop import TrainingDiverged, resume_training, train
from cs336_basics.training.metrics import read_metrics
from tests.staff.tiny_run import REPO, debug_args, one_thread, tiny_corpus  # noqa: F401 (one_thread: autouse)

pytestmark = pytest.mark.staff

STEPS = 80
# log every step, evaluate every 40, checkpoint every 20: a kill lands between checkpoints
RUN_OPTIONS = ["--steps", str(STEPS), "--log_interval", "1", "--eval_interval", "40", "--checkpoint_interval", "20", "--samples", "0"]
COMPARED = ("step", "tokens", "train_loss", "lr", "grad_norm", "val_loss", "val_nats_per_byte")


def config_for(train_txt, val_txt, out_dir, *extra):
    from cs336_basics.training import cli
    from cs336_basics.training.config import TrainConfig
    from cs336_basics.training.options import given_options

    args = cli.build_parser().parse_args(debug_args(train_txt, val_txt, out_dir, *RUN_OPTIONS, *extra))
    return build_config("debug", given_options(args, TrainConfig))


def comparable(records: list[dict]) -> list[dict]:
    return [{k: r[k] for k in COMPARED if k in r} for r in records]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The metrics of an uninterrupted run."""
    train_txt, val_txt = tiny_corpus(tmp_path_factory)
    out = tmp_path_factory.mktemp("uninterrupted")
    train(config_for(train_txt, val_txt, out))
    return comparable(read_metrics(out / "metrics.jsonl"))


def start_run(tmp_path_factory, out):
    train_txt, val_txt = tiny_corpus(tmp_path_factory)
    argv = [sys.executable, "-m", "cs336_basics", *debug_args(train_txt, val_txt, out, *RUN_OPTIONS)]
    return subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, process, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the run ended before it could be interrupted:\n{process.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, "timed out waiting for the run"
        time.sleep(0.01)


def test_killed_run_resumed_matches_uninterrupted_run_bit_for_bit(reference, tmp_path_factory):
    out = tmp_path_factory.mktemp("killed")
    process = start_run(tmp_path_factory, out)
    metrics = out / "metrics.jsonl"
    # past the step-20 checkpoint, so (most likely) records newer than the checkpoint must be dropped on resume
    wait_for(lambda: metrics.exists() and len(read_metrics(metrics)) >= 25, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    saved_step = read_checkpoint(out / "checkpoint.pt")["iteration"]
    assert 0 < saved_step < STEPS, f"the run was killed after finishing (checkpoint at step {saved_step})"
    resume_training(out)
    resumed = comparable(read_metrics(metrics))
    assert [r["step"] for r in resumed] == list(range(1, STEPS + 1)), "each step must be logged exactly once"
    first_bad = next((i for i, (a, b) in enumerate(zip(resumed, reference)) if a != b), None)
    assert resumed == reference, (
        f"killed at a checkpoint of step {saved_step} and resumed, the run differs from the uninterrupted one "
        f"at step {first_bad + 1 if first_bad is not None else '?'}: {resumed[first_bad] if first_bad is not None else ''} "
        f"vs {reference[first_bad] if first_bad is not None else ''}"
    )


def test_ctrl_c_saves_a_checkpoint_and_resuming_matches(reference, tmp_path_factory):
    out = tmp_path_factory.mktemp("ctrl_c")
    process = start_run(tmp_path_factory, out)
    metrics = out / "metrics.jsonl"
    wait_for(lambda: metrics.exists() and len(read_metrics(metrics)) >= 5, process)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, f"Ctrl-C should exit with 130, got {process.returncode}: {stderr[-2000:]}"
    stopped = read_checkpoint(out / "checkpoint.pt")["iteration"]
    assert stopped == read_metrics(metrics)[-1]["step"], "Ctrl-C must checkpoint the last completed step"
    assert "Traceback" not in stderr and "--resume" in stdout, "Ctrl-C must say how to resume, without a traceback"
    resume_training(out)
    assert comparable(read_metrics(metrics)) == reference, f"stopped at step {stopped} and resumed, the losses differ"


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path_factory, monkeypatch):
    train_txt, val_txt = tiny_corpus(tmp_path_factory)
    out = tmp_path_factory.mktemp("nan")
    calls = {"n": 0}
    real_cross_entropy = train_module.cross_entropy

    def poisoned(logits, targets):
        calls["n"] += 1
        loss = real_cross_entropy(logits, targets)
        return loss * float("nan") if calls["n"] == 27 else loss  # the 27th training step (no eval before 40)

    monkeypatch.setattr(train_module, "cross_entropy", poisoned)
    with pytest.raises(TrainingDiverged, match=r"diverged at step 27.*last good checkpoint \(step 20\)"):
        train(config_for(train_txt, val_txt, out))
    saved = read_checkpoint(out / "checkpoint.pt")
    assert saved["iteration"] == 20
    assert all(torch.isfinite(v).all() for v in saved["model"].values()), "the kept checkpoint must hold finite weights"
