"""The `cs336` command line end to end on the debug preset: help, one-line errors, a run and its files,
cached data on a re-run, generation from the checkpoint, and the tokenizer commands."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from cs336_basics.training import cli
from cs336_basics.training.config import TRAIN_PRESETS, TrainConfig, build_config
from cs336_basics.training.metrics import read_metrics
from cs336_basics.training.options import _field_paths
from tests.staff.tiny_run import cs336, debug_args, one_thread, tiny_corpus  # noqa: F401 (one_thread: autouse)

pytestmark = pytest.mark.staff


@pytest.fixture(scope="module")
def debug_run(tmp_path_factory):
    """One finished debug run (40 steps) shared by the tests of this module."""
    train, val = tiny_corpus(tmp_path_factory)
    out = tmp_path_factory.mktemp("debug_run")
    code, stdout, stderr = cs336(*debug_args(train, val, out, "--steps", "40", "--eval_interval", "20"))
    assert code == 0, stderr[-3000:]
    return out, stdout


def test_every_subcommand_help_describes_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    top = capsys.readouterr().out
    for name in ("train", "generate", "encode", "train-tokenizer"):
        assert name in top
        with pytest.raises(SystemExit):
            cli.main([name, "--help"])
        text = capsys.readouterr().out
        assert text.count("--") >= 4, f"`cs336 {name} --help` lists too few options"
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = capsys.readouterr().out
    for path in _field_paths(TrainConfig):
        assert f"--{path}" in text, f"`cs336 train --help` does not list --{path}"


def test_cs336_lists_only_student_commands_and_staff_commands_have_their_own_entry_point(capsys):
    from grading.cli import main as staff_main

    assert set(cli.SUBCOMMANDS) == {"train-tokenizer", "encode", "train", "generate", "accounting"}
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    top = capsys.readouterr().out
    for staff in ("grade", "release", "autograder", "mutants"):
        assert staff not in top.split(), f"`cs336 --help` lists the staff command {staff}"
    with pytest.raises(SystemExit):
        staff_main(["--help"])
    staff_top = capsys.readouterr().out
    for staff in ("grade", "release", "autograder", "mutants"):
        assert staff in staff_top, f"`cs336-staff --help` does not list {staff}"


def test_student_package_never_imports_grading():
    """By AST over every module (imports and import_module strings), and by running `cs336 --help`."""
    import ast
    import subprocess
    import sys
    from pathlib import Path

    package = Path(cli.__file__).resolve().parents[1]
    offenders = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("grading."):
                names = [node.value]
            offenders += [f"{path.relative_to(package.parent)}:{node.lineno}: {n}" for n in names if n.split(".")[0] == "grading"]
    assert not offenders, f"cs336_basics imports grading: {offenders}"
    code = "import sys; from cs336_basics.training import cli; cli.build_parser(); print(sorted(m for m in sys.modules if m.split('.')[0] == 'grading'))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]", f"building the cs336 parser loads grading modules: {loaded}"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--preset", "debug", "--data.train", "missing.txt"], "does not exist"),
        (["train", "--preset", "debug", "--steps", "0"], "TrainConfig.steps"),
        (["train", "--preset", "debug", "--model.d_model", "30"], "num_heads"),
        (["train", "--preset", "debug", "--optim.min_lr", "1.0"], "OptimConfig.min_lr"),
        (["train", "--resume", "no/such/run"], "no checkpoint.pt"),
        (["train", "--resume", "x", "--steps", "3"], "--resume"),
        (["generate", "--checkpoint", "no/such.pt", "--prompt", "hi"], "does not exist"),
        (["generate", "--checkpoint", "garbage.pt"], "not a readable checkpoint"),
    ],
)
def test_user_errors_exit_2_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "tokenizer").mkdir()
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err


def test_argparse_type_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--steps", "many"])
    assert exit_info.value.code == 2
    assert "expected int, got 'many'" in capsys.readouterr().err


def test_build_config_layers_preset_file_and_options():
    config = build_config("debug", {"model": {"d_model": 128}, "steps": 7}, {"optim": {"lr": 0.5}})
    assert (config.model.d_model, config.steps, config.optim.lr) == (128, 7, 0.5)
    assert config.model.head_dim == 128 // config.model.num_heads, "head_dim must follow an overridden d_model"
    assert config.batch_size == TRAIN_PRESETS["debug"].batch_size
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config, "config must survive JSON"
    with pytest.raises(ValueError, match="unknown field 'd_modle'"):
        build_config("debug", {"model": {"d_modle": 3}})


def test_debug_run_writes_metrics_plot_checkpoint_and_samples(debug_run):
    out, stdout = debug_run
    for name in ("checkpoint.pt", "metrics.jsonl", "loss.png", "config.json", "samples.txt", "tokenizer", "data/train.npy"):
        assert (out / name).exists(), f"the run did not write {name}"
    records = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in records] == list(range(1, 41)), "debug preset logs every step"
    for key in ("tokens", "train_loss", "lr", "grad_norm", "tokens_per_s"):
        assert all(key in r for r in records), f"metrics records lack {key!r}"
    evals = [r for r in records if "val_loss" in r]
    assert [r["step"] for r in evals] == [20, 40]
    assert all(0 < r["val_nats_per_byte"] < r["val_loss"] for r in evals)
    assert records[-1]["train_loss"] < records[0]["train_loss"] - 1.0, "40 steps should cut the loss by over a nat"
    assert "unigram baseline" in stdout and "nats/byte" in stdout
    assert "--- sample 1 ---" in stdout


def test_rerun_reuses_prepared_data(debug_run, tmp_path_factory):
    out, _ = debug_run
    train, val = tiny_corpus(tmp_path_factory)
    before = (out / "data" / "train.npy").stat().st_mtime_ns
    code, stdout, stderr = cs336(*debug_args(train, val, out, "--steps", "2", "--samples", "0"))
    assert code == 0, stderr[-2000:]
    assert "reusing the prepared data" in stdout
    assert (out / "data" / "train.npy").stat().st_mtime_ns == before


def test_generate_from_checkpoint_is_seeded(debug_run):
    out, _ = debug_run
    args = ["generate", "--checkpoint", str(out / "checkpoint.pt"), "--prompt", "PROSPERO", "--max-new-tokens", "12"]
    first = cs336(*args, "--seed", "3")
    second = cs336(*args, "--seed", "3", "--temperature", "0.8")  # 0.8 is the default
    assert first[0] == 0, first[2][-2000:]
    assert first[1].startswith("PROSPERO") and first[1] == second[1]


def test_tokenizer_commands_round_trip(tmp_path_factory, tmp_path):
    from cs336_basics.training.prepare import load_tokenizer

    train, _ = tiny_corpus(tmp_path_factory)
    tok_dir, ids_path = tmp_path / "tok", tmp_path / "ids.npy"
    made = cs336("train-tokenizer", "--input", str(train), "--vocab-size", "300", "--out", str(tok_dir))
    assert made[0] == 0, made[2][-2000:]
    encoded = cs336("encode", "--tokenizer", str(tok_dir), "--input", str(train), "--out", str(ids_path))
    assert encoded[0] == 0, encoded[2][-2000:]
    ids = np.load(ids_path)
    assert ids.dtype == np.uint16 and ids.max() < 300
    assert load_tokenizer(tok_dir).decode(ids.tolist()) == train.read_text(), "encode then decode must give the text back"


def test_presets_are_valid_and_documented():
    assert set(TRAIN_PRESETS) == {"shakespeare", "tinystories-17m", "debug"}
    ts = TRAIN_PRESETS["tinystories-17m"].model
    assert (ts.vocab_size, ts.context_length, ts.d_model, ts.d_ff, ts.num_layers, ts.num_heads, ts.rope_theta) == (
        10000, 256, 512, 1344, 4, 16, 10000.0
    )  # fmt: skip
    for preset in TRAIN_PRESETS.values():
        assert dataclasses.replace(preset) == preset


def test_cs336_requests_huge_pages_for_large_cpu_tensors_unless_opted_out(monkeypatch):
    import os

    from cs336_basics.training.system import HUGE_PAGES_ENV

    monkeypatch.delenv(HUGE_PAGES_ENV, raising=False)
    cs336("generate", "--checkpoint", "no/such.pt", "--prompt", "hi")
    assert os.environ.get(HUGE_PAGES_ENV) == "1", "cs336 must set THP_MEM_ALLOC_ENABLE=1 before torch allocates"
    monkeypatch.setenv(HUGE_PAGES_ENV, "0")
    cs336("generate", "--checkpoint", "no/such.pt", "--prompt", "hi")
    assert os.environ[HUGE_PAGES_ENV] == "0", "a user's THP_MEM_ALLOC_ENABLE=0 must be kept"
