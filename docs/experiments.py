"""Staff experiments of handout Part 9, measured on a laptop-class CPU with the real `cs336 train`.

    uv run python docs/experiments.py                  # every run, about 16 minutes on 2 busy cores
    uv run python docs/experiments.py --plot-only      # redraw the figures from runs/experiments/
    uv run python docs/experiments.py --only lr        # one group (lr, batch, ablations)
    uv run python docs/experiments.py --runs lr_1      # some runs (the others' results are kept)

What it does, in order:
1. Prepares the data once, with the package's own commands: writes the built-in Shakespeare corpus
   (`cs336_basics.training.corpus`, the text `cs336 train` uses by default), trains the 4096-token tokenizer
   (`cs336 train-tokenizer`) and encodes both splits (`cs336 encode`) into RUNS/data/.
2. Runs each experiment as `python -m cs336_basics train --preset shakespeare <BUDGET> <overrides>`,
   every run reading RUNS/data/{train,val}.npy and RUNS/data/tokenizer, each in RUNS/<name>/.
3. Reads each run's metrics.jsonl and writes docs/experiments.json (final validation loss in
   nats/token and nats/byte, wall-clock time, command) and one loss-curve figure per group:
   docs/exp_lr.png, docs/exp_batch.png, docs/exp_ablations.png.

The budget is REDUCED from the `shakespeare` preset so that a run takes about a minute on a shared
2-core machine: a smaller model (d_model 128, 2 layers, 4 heads; d_ff and head_dim re-derived: 320 and
32; 1.43M parameters), batches of 16 x 128 tokens and 100 steps (204,800 training tokens, 13% of one
epoch) instead of the preset's 5.3M-parameter model, 32 x 128 tokens and 340 steps. The schedule keeps
the preset's shape: linear warm-up (10 steps), cosine decay to lr / 10. Each run uses one PyTorch thread
(OMP_NUM_THREADS=1): on a machine shared with other work, two threads were measured at anywhere from
800 to 6,500 tokens/s, one thread at a steady ~4,700. These are early-training numbers: they show which
settings learn fastest at the start, not where each would end. The final validation loss is over the
whole held-out set (75k tokens); the intermediate points use 16,384 of its tokens.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from cs336_basics.training.atomic import atomic_write
from cs336_basics.training.system import available_cores

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
CS336 = [sys.executable, "-m", "cs336_basics"]  # the `cs336` entry point, run by this interpreter

# The reduced budget shared by every run (see the module docstring). Options are `cs336 train`'s.
BUDGET = {
    "--model.d_model": "128",
    "--model.num_layers": "2",
    "--model.num_heads": "4",
    "--batch_size": "16",
    "--steps": "100",
    "--optim.warmup_steps": "10",
    "--optim.lr": "3e-3",
    "--optim.min_lr": "3e-4",
    "--log_interval": "5",
    "--eval_interval": "20",
    "--eval_tokens": "16384",
    "--checkpoint_interval": "1000",
    "--samples": "0",
    "--device": "cpu",
}


def _lr(lr: str) -> dict[str, str]:
    return {"--optim.lr": lr, "--optim.min_lr": f"{float(lr) / 10:g}"}


# name -> (group, label, overrides of BUDGET). "baseline" is shared by every group.
RUNS: dict[str, tuple[str, str, dict[str, str]]] = {
    "baseline": ("all", "baseline (lr 3e-3, batch 16, RoPE, pre-norm, SwiGLU)", {}),
    "lr_1e-3": ("lr", "lr 1e-3", _lr("1e-3")),
    "lr_1e-2": ("lr", "lr 1e-2", _lr("1e-2")),
    "lr_1e-1": ("lr", "lr 1e-1", _lr("1e-1")),
    "lr_1": ("lr", "lr 1", _lr("1")),
    # Same number of tokens: 4x the batch, 1/4 of the steps (and of the warm-up).
    "batch_64": (
        "batch",
        "batch 64, 25 steps",
        {"--batch_size": "64", "--steps": "25", "--optim.warmup_steps": "3",
         "--log_interval": "1", "--eval_interval": "5"},  # fmt: skip
    ),
    "no_norm": ("ablations", "no RMSNorm", {"--model.norm": "none"}),
    "post_norm": ("ablations", "post-norm", {"--model.norm": "post"}),
    "nope": ("ablations", "NoPE", {"--model.position": "none"}),
    "sinusoidal": ("ablations", "sinusoidal", {"--model.position": "sinusoidal"}),
    "learned": ("ablations", "learned absolute", {"--model.position": "learned"}),
    # 2 * 128 * 480 = 3 * 128 * 320: the two-matrix FFN with the SwiGLU FFN's parameter count.
    "silu": ("ablations", "SiLU FFN, d_ff 480", {"--model.ffn": "silu", "--model.d_ff": "480"}),
    # The baseline with other initial weights and batches: how far apart runs differing only by chance end.
    "seed_1": ("ablations", "baseline, seed 1 (noise reference, not plotted)", {"--seed": "1"}),
}
GROUPS = ("lr", "batch", "ablations")


def run_command(args: list[str], log_path: Path) -> tuple[int, float]:
    """Run a command with its output in `log_path`; return (exit status, wall seconds)."""
    started = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread: steady speed on a shared machine (docstring)
    with log_path.open("w") as log:
        status = subprocess.run(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
    return status, time.perf_counter() - started


def prepare_data(runs_dir: Path) -> dict[str, str]:
    """Corpus, tokenizer and token arrays in RUNS/data (reused when already there)."""
    from cs336_basics.training.corpus import write_shakespeare_corpus

    data = runs_dir / "data"
    tokenizer = data / "tokenizer"
    arrays = {"train": data / "train.npy", "val": data / "val.npy"}
    if not all(p.is_file() for p in arrays.values()) or not (tokenizer / "vocab.json").is_file():
        data.mkdir(parents=True, exist_ok=True)
        train_txt, val_txt = write_shakespeare_corpus(data / "corpus")
        steps = [
            ["train-tokenizer", "--input", str(train_txt), "--vocab-size", "4096", "--out", str(tokenizer)],
            ["encode", "--tokenizer", str(tokenizer), "--input", str(train_txt), "--out", str(arrays["train"])],
            ["encode", "--tokenizer", str(tokenizer), "--input", str(val_txt), "--out", str(arrays["val"])],
        ]
        for step in steps:
            status, seconds = run_command(CS336 + step, data / f"{step[0]}.log")
            print(f"cs336 {step[0]}: {seconds:.1f} s", flush=True)
            if status != 0:
                raise SystemExit(f"cs336 {' '.join(step)} failed; see {data / (step[0] + '.log')}")
    return {"--data.train": str(arrays["train"]), "--data.val": str(arrays["val"]), "--data.tokenizer": str(tokenizer)}


def train_options(name: str, runs_dir: Path, data_options: dict[str, str]) -> dict[str, str]:
    return {**BUDGET, **RUNS[name][2], **data_options, "--out_dir": str(runs_dir / name)}


def read_metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def run_experiment(name: str, runs_dir: Path, data_options: dict[str, str]) -> dict:
    options = train_options(name, runs_dir, data_options)
    args = ["train", "--preset", "shakespeare"] + [x for kv in options.items() for x in kv]
    (runs_dir / name).mkdir(parents=True, exist_ok=True)
    log_path = runs_dir / name / "train.log"
    status, seconds = run_command(CS336 + args, log_path)
    records = read_metrics(runs_dir / name / "metrics.jsonl")
    steps = int(options["--steps"])
    finished = status == 0 and records and records[-1]["step"] == steps and "val_loss" in records[-1]
    last_line = (log_path.read_text().strip().splitlines() or [""])[-1]
    result = {
        "name": name,
        "group": RUNS[name][0],
        "label": RUNS[name][1],
        "command": "uv run cs336 " + " ".join(args).replace(str(REPO) + os.sep, ""),
        "exit_status": status,
        "wall_seconds": round(seconds, 1),
        "finished": bool(finished),
        "final_val_nats_per_token": records[-1]["val_loss"] if finished else None,
        "final_val_nats_per_byte": records[-1].get("val_nats_per_byte") if finished else None,
        "last_train_loss": next((r["train_loss"] for r in reversed(records) if "train_loss" in r), None),
        "steps_logged": records[-1]["step"] if records else 0,
        "note": "" if finished else last_line[:300],
    }
    if finished:
        print(f"{name:<12} {result['final_val_nats_per_token']:.3f} nats/token, "
              f"{result['final_val_nats_per_byte']:.3f} nats/byte, {seconds:.0f} s", flush=True)  # fmt: skip
    else:
        print(f"{name:<12} did not finish (exit {status}, {seconds:.0f} s): {last_line[:200]}", flush=True)
    return result


def plot_group(group: str, names: list[str], runs_dir: Path, out: Path) -> None:
    """Validation (markers) and training (thin line) loss against training tokens, one colour per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = {
        "ablations": [("normalisation", ["baseline", "no_norm", "post_norm"]),
                      ("position information", ["baseline", "nope", "sinusoidal", "learned"]),
                      ("feed-forward", ["baseline", "silu"])],  # fmt: skip
    }.get(group, [({"lr": "learning rate", "batch": "batch size, same tokens"}.get(group, group), names)])
    fig, axes = plt.subplots(1, len(panels), figsize=(max(7.5, 5.2 * len(panels)), 4.4), dpi=110, squeeze=False)
    for ax, (title, members) in zip(axes[0], panels):
        for k, name in enumerate(members):
            records = read_metrics(runs_dir / name / "metrics.jsonl")
            colour = f"C{k}"
            finite = [r for r in records if math.isfinite(r.get("train_loss", math.nan))]
            train = [(r["tokens"] / 1e3, r["train_loss"]) for r in finite]
            val = [(r["tokens"] / 1e3, r["val_loss"]) for r in records if "val_loss" in r]
            label = RUNS[name][1] if name != "baseline" else "baseline"
            if train:
                ax.plot(*zip(*train), color=colour, lw=0.9, alpha=0.45)
            if val:
                ax.plot(*zip(*val), "o-", color=colour, lw=1.6, ms=4, label=f"{label} (val)")
            elif train:
                ax.plot([], [], color=colour, label=f"{label} (train only: diverged)")
        ax.set_title(title)
        ax.set_xlabel("training tokens (thousands)")
        ax.set_ylabel("loss (nats/token)")
        ax.set_ylim(5.0, 8.5)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Shakespeare, reduced CPU budget (d_model 128, 2 layers, 100 steps of 16 x 128 tokens)\n"
                 "thin lines: training loss; markers: validation loss", fontsize=9)  # fmt: skip
    fig.tight_layout()
    try:
        with atomic_write(out) as f:
            fig.savefig(f, format="png")
    finally:
        plt.close(fig)


def machine() -> dict:
    import torch

    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").is_file():
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), cpu)  # fmt: skip
    return {
        "platform": platform.platform(),
        "processor": cpu,
        "cpu_cores_available": available_cores(),
        "torch": torch.__version__,
        "torch_threads_per_run": 1,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=GROUPS, default=list(GROUPS), help="groups to run")
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), help="run only these runs (re-plotting their groups)")
    parser.add_argument("--runs-dir", type=Path, default=REPO / "runs" / "experiments", help="where the runs go")
    parser.add_argument("--json", type=Path, default=DOCS / "experiments.json", help="results file")
    parser.add_argument("--plot-only", action="store_true", help="only redraw the figures from the runs' metrics")
    args = parser.parse_args(argv)

    if args.plot_only:
        args.only = list(GROUPS)
    else:
        run_all(args)
    for group in args.only:
        members = ["baseline"] + [n for n, (g, _, _) in RUNS.items() if g == group]
        plot_group(group, members, args.runs_dir, DOCS / f"exp_{group}.png")
    return 0


def run_all(args: argparse.Namespace) -> None:
    """Prepare the data, run the selected runs and write the results file."""
    started = time.perf_counter()
    info = machine()
    load = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    data_options = prepare_data(args.runs_dir)
    names = ["baseline"] + [n for n, (g, _, _) in RUNS.items() if g in args.only]
    if args.runs:
        names = args.runs
        args.only = sorted({RUNS[n][0] for n in names} - {"all"}, key=GROUPS.index) or list(GROUPS)
    results, invocations = {}, []
    if args.json.is_file():  # keep the results of runs not re-run this time
        previous = json.loads(args.json.read_text())
        results = {r["name"]: r for r in previous.get("runs", [])}
        invocations = previous.get("invocations", [])
    for name in names:
        results[name] = run_experiment(name, args.runs_dir, data_options)
    total = time.perf_counter() - started
    payload = {
        "description": __doc__.split("\n\n")[-1].strip(),
        "budget": BUDGET,
        "machine": info,
        "invocations": invocations + [{"runs": names, "wall_seconds": round(total, 1), "load_average_at_start": load}],
        "runs": [results[n] for n in RUNS if n in results],
    }
    with atomic_write(args.json, "w", encoding="utf-8") as f:
        f.write(json.dumps(payload, indent=2) + "\n")
    print(f"total {total / 60:.1f} min; results in {args.json}")


if __name__ == "__main__":
    raise SystemExit(main())
