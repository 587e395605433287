"""Staff script: draw the figures handout.md shows, from the package's own modules.

    uv run python docs/make_figures.py            # writes docs/position_similarity.png

position_similarity.png: cosine similarity between the position vectors of positions i and j for
  (a) sinusoidal encodings (Vaswani et al. 2017 §3.5), (b) one fixed random vector rotated by RoPE to
  every position (Su et al. 2021), (c) a freshly initialised learned table, and (d) each one's similarity
  to position 0 as a function of the offset. The claims it illustrates are checked by
  tests/staff/test_position_similarity.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt
import torch

from cs336_basics.nn.positional import (
    LearnedPositionalEmbedding,
    RotaryPositionalEmbedding,
    SinusoidalPositionalEncoding,
)
from cs336_basics.training.atomic import atomic_write

DOCS = Path(__file__).resolve().parent


def cosine_matrix(vectors: torch.Tensor) -> torch.Tensor:
    """(n, d) -> (n, n) cosine similarities between rows."""
    unit = vectors / vectors.norm(dim=-1, keepdim=True)
    return unit @ unit.T


def position_vectors(seq: int, d: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """One (seq, d) matrix of position vectors per scheme, all from cs336_basics.nn.positional."""
    torch.manual_seed(seed)
    sinusoidal = SinusoidalPositionalEncoding(d, seq)(torch.zeros(seq, d))  # forward returns x + PE
    rope = RotaryPositionalEmbedding(10000.0, d, seq)
    fixed = torch.randn(d, generator=torch.Generator().manual_seed(seed))
    rotated = rope(fixed.expand(seq, d).clone(), torch.arange(seq))
    learned = LearnedPositionalEmbedding(seq, d).weight.detach()
    return {
        "sinusoidal": sinusoidal,
        "RoPE: R_i v for one fixed v": rotated,
        "learned (fresh init)": learned,
    }


def draw_position_similarity(out: Path, seq: int = 128, d: int = 64) -> None:
    sims = {name: cosine_matrix(v.double()).numpy() for name, v in position_vectors(seq, d).items()}
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), layout="constrained", gridspec_kw={"width_ratios": [1, 1, 1, 1.3]})
    for ax, (name, sim) in zip(axes, sims.items()):
        image = ax.imshow(sim, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("position j")
        ax.set_ylabel("position i")
    fig.colorbar(image, ax=axes[2], fraction=0.046, pad=0.03, label="cosine similarity")
    for name, sim in sims.items():
        axes[3].plot(sim[0], label=name.split(":")[0], linewidth=1.2)
    axes[3].axhline(0, color="grey", linewidth=0.5)
    axes[3].set_title("similarity to position 0", fontsize=10)
    axes[3].set_xlabel("position j (offset from 0)")
    axes[3].set_ylim(-1, 1.05)
    axes[3].legend(fontsize=8, loc="lower left")
    fig.suptitle(f"Position vectors, d = {d}, positions 0..{seq - 1} (docs/make_figures.py)", fontsize=11)
    _save(fig, out)


def _save(fig, out: Path) -> None:
    """Write the PNG atomically (cs336_basics.training.atomic)."""
    try:
        with atomic_write(out) as f:
            fig.savefig(f, format="png", dpi=80, bbox_inches="tight")
    finally:
        plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DOCS)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    path = args.out_dir / "position_similarity.png"
    draw_position_similarity(path)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
