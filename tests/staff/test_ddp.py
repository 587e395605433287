"""`cs336 train` under `torchrun --nproc-per-node 2` on CPUs (gloo): training proceeds, ranks draw different
batches, gradients are averaged (the ranks end with bit-identical weights), and only rank 0 writes files."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from cs336_basics.data import get_batch
from cs336_basics.nn.loss import cross_entropy
from cs336_basics.nn.transformer import TransformerLM
from cs336_basics.training.config import TRAIN_PRESETS
from cs336_basics.training.loop import batch_generator
from cs336_basics.training.metrics import read_metrics
from cs336_basics.training.prepare import load_tokens
from tests.staff.tiny_run import debug_args, one_thread, tiny_corpus  # noqa: F401 (one_thread: autouse)

pytestmark = pytest.mark.staff

STEPS = 12


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    train_txt, val_txt = tiny_corpus(tmp_path_factory)
    workdir = tmp_path_factory.mktemp("ddp")
    args = debug_args(train_txt, val_txt, "run", "--steps", str(STEPS), "--log_interval", "1", "--eval_interval", "6", "--samples", "0")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "cs336_basics", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"torchrun failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return workdir, result


def test_ranks_end_with_identical_parameters(ddp_run):
    _, result = ddp_run
    digests = dict(re.findall(r"rank (\d)/2: parameter sha256 ([0-9a-f]{64})", result.stdout))
    assert set(digests) == {"0", "1"}, f"expected a parameter digest from each rank, got:\n{result.stdout[-2000:]}"
    assert digests["0"] == digests["1"], "the ranks' weights differ: gradients were not synchronised"


def test_only_rank_0_writes_files_and_logs(ddp_run):
    workdir, result = ddp_run
    assert sorted(p.name for p in workdir.iterdir()) == ["run"], "files were written outside the run directory"
    records = read_metrics(workdir / "run" / "metrics.jsonl")
    assert [r["step"] for r in records] == list(range(1, STEPS + 1)), "each step must be logged once (rank 0 only)"
    assert result.stdout.count("unigram baseline on validation") == 1, "only rank 0 should print the run's log"
    assert records[0]["tokens"] == 2 * TRAIN_PRESETS["debug"].batch_size * TRAIN_PRESETS["debug"].model.context_length


def test_ranks_sample_different_batches_and_the_logged_loss_is_their_mean(ddp_run):
    """Oracle: the initial model's loss on rank 0's and rank 1's first batches, averaged by hand."""
    workdir, _ = ddp_run
    config = TRAIN_PRESETS["debug"]
    tokens = load_tokens(workdir / "run" / "data" / "train.npy")
    torch.manual_seed(config.seed)
    model = TransformerLM(config.model, device=torch.device("cpu"), dtype=torch.float32)
    losses = []
    with torch.no_grad():
        for rank in (0, 1):
            x, y = get_batch(tokens, config.batch_size, config.model.context_length, "cpu", batch_generator(config.seed, rank, 1))
            losses.append(cross_entropy(model(x).flatten(0, 1), y.flatten()).item())
    assert losses[0] != losses[1], "ranks 0 and 1 drew the same first batch"
    logged = read_metrics(workdir / "run" / "metrics.jsonl")[0]["train_loss"]
    # float32 losses averaged in float64: the only difference is the threads' summation order (~1e-6)
    assert logged == pytest.approx(np.mean(losses), abs=1e-5), (
        f"step 1 logged loss {logged}, but the mean of rank 0's and rank 1's first-batch losses is {np.mean(losses)} "
        f"(rank 0 alone: {losses[0]}): does each rank draw batch_generator(seed, rank, step), and is the loss averaged?"
    )
