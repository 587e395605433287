"""Experiment log of a training run: `metrics.jsonl` (one JSON object per log step) and its `loss.png` plot.

Records carry `step`, `tokens`, `train_loss`, `lr`, `grad_norm`, `tokens_per_s` and, at evaluation steps,
`val_loss` (nats/token), `val_nats_per_byte` and `val_perplexity`. A resumed run first drops the records
written after its checkpoint, so the file reads as if the run had never stopped.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from cs336_basics.training.atomic import atomic_write


class MetricsLog:
    """Append-only JSON-lines log, flushed after every record so a killed run loses nothing it logged."""

    def __init__(self, path: str | Path, resume_from_step: int | None = None):
        self.path = Path(path)
        if resume_from_step is None:
            self.path.write_text("")
        else:
            kept = [r for r in read_metrics(self.path) if r["step"] <= resume_from_step] if self.path.exists() else []
            with atomic_write(self.path, "w", encoding="utf-8") as f:
                f.write("".join(json.dumps(r) + "\n" for r in kept))

    def write(self, record: dict) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")


def read_metrics(path: str | Path) -> list[dict]:
    """The records of a metrics.jsonl file (a torn last line, from a killed run, is skipped)."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def plot_losses(metrics_path: str | Path, out_png: str | Path, baseline_nats_per_token: float | None = None) -> None:
    """Plot train and validation loss (nats/token) against tokens seen; written atomically."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed; must precede pyplot
    import matplotlib.pyplot as plt

    records = read_metrics(metrics_path)
    train = [(r["tokens"], r["train_loss"]) for r in records if math.isfinite(r.get("train_loss", math.nan))]
    val = [(r["tokens"], r["val_loss"]) for r in records if "val_loss" in r]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    if train:
        ax.plot(*zip(*train), lw=1, alpha=0.8, label="train")
    if val:
        ax.plot(*zip(*val), "o-", lw=1.5, ms=3, label="validation")
    if baseline_nats_per_token is not None:
        ax.axhline(baseline_nats_per_token, color="gray", ls="--", lw=1, label="unigram baseline (validation)")
    ax.set_xlabel("tokens seen")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        with atomic_write(out_png) as f:
            fig.savefig(f, format="png")
    finally:
        plt.close(fig)

