"""Typed configuration dataclasses and named presets.

A config validates itself in `__post_init__` and names the bad field; a checkpoint stores
`dataclasses.asdict(config)` so the model can be rebuilt without flags.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

Position = Literal["rope", "sinusoidal", "learned", "none"]
Norm = Literal["pre", "post", "none"]
FFN = Literal["swiglu", "silu"]


def default_d_ff(d_model: int) -> int:
    """About 8/3 * d_model (keeps SwiGLU's parameter count equal to a 4*d_model SiLU FFN), rounded to a
    multiple of 64 for efficient matrix shapes. Example: default_d_ff(512) -> 1344."""
    return max(64, round(8 * d_model / 3 / 64) * 64)


def _check(condition: bool, field: str, message: str) -> None:
    if not condition:
        raise ValueError(f"ModelConfig.{field}: {message}")


@dataclass
class ModelConfig:
    """Architecture of a Transformer LM; the defaults are the CS336 pre-norm / RoPE / SwiGLU model."""

    vocab_size: int
    """Number of token ids the embedding and the LM head cover."""
    context_length: int
    """Longest input sequence the model accepts (and the size of the position tables)."""
    d_model: int
    """Width of the residual stream."""
    num_layers: int
    """Number of Transformer blocks."""
    num_heads: int
    """Number of attention heads."""
    d_ff: int | None = None
    """Hidden width of the feed-forward network; None means the parameter-matched default:
    `default_d_ff(d_model)` (≈ 8/3 d_model) for swiglu, 4 * d_model for silu."""
    rope_theta: float = 10000.0
    """RoPE base Θ (Su et al. 2021): angle of pair k at position i is i / Θ^(2k/head_dim)."""
    head_dim: int | None = None
    """Width of each head; None means d_model // num_heads. head_dim = d_model gives wide heads."""
    position: Position = "rope"
    """Position information: rope, sinusoidal (added to the embeddings), learned (added) or none (NoPE)."""
    norm: Norm = "pre"
    """Placement of RMSNorm in each block: pre (before each sub-layer), post (after the residual add) or none."""
    ffn: FFN = "swiglu"
    """Feed-forward network: swiglu (gated, three matrices) or silu (two matrices, for the ablation)."""
    eps: float = 1e-5
    """RMSNorm epsilon, added inside the square root."""

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context_length", "d_model", "num_layers", "num_heads"):
            value = getattr(self, name)
            _check(isinstance(value, int) and value > 0, name, f"must be a positive integer, got {value!r}")
        for name, allowed in (("position", Position), ("norm", Norm), ("ffn", FFN)):
            choices = allowed.__args__
            _check(getattr(self, name) in choices, name, f"must be one of {choices}, got {getattr(self, name)!r}")
        if self.d_ff is None:
            # Three d_model x d_ff matrices at 8/3 d_model hold as many weights as two at 4 d_model.
            self.d_ff = default_d_ff(self.d_model) if self.ffn == "swiglu" else 4 * self.d_model
        _check(isinstance(self.d_ff, int) and self.d_ff > 0, "d_ff", f"must be a positive integer, got {self.d_ff!r}")
        if self.head_dim is None:
            _check(
                self.d_model % self.num_heads == 0,
                "num_heads",
                f"d_model={self.d_model} is not divisible by num_heads={self.num_heads}; set head_dim explicitly",
            )
            self.head_dim = self.d_model // self.num_heads
        _check(isinstance(self.head_dim, int) and self.head_dim > 0, "head_dim", f"must be positive, got {self.head_dim!r}")
        if self.position == "rope":
            _check(self.head_dim % 2 == 0, "head_dim", f"RoPE rotates pairs, so head_dim must be even, got {self.head_dim}")
        _check(self.rope_theta > 0, "rope_theta", f"must be positive, got {self.rope_theta!r}")
        _check(self.eps > 0, "eps", f"must be positive, got {self.eps!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"ModelConfig: unknown field(s) {unknown}; known fields are {sorted(known)}")
        return cls(**data)


# Named model sizes. The training presets (data, optimiser, steps) build on these.
MODEL_PRESETS: dict[str, ModelConfig] = {
    # tiny, for tests and CI
    "debug": ModelConfig(vocab_size=512, context_length=32, d_model=64, num_layers=2, num_heads=4, d_ff=128),
    # the default laptop-CPU run on the embedded Shakespeare corpus
    "shakespeare": ModelConfig(vocab_size=4096, context_length=128, d_model=256, num_layers=4, num_heads=8),
    # the 17M-parameter (non-embedding) model the CS336 2025 handout recommends for TinyStories
    "tinystories-17m": ModelConfig(
        vocab_size=10000, context_length=256, d_model=512, num_layers=4, num_heads=16, d_ff=1344, rope_theta=10000.0
    ),
}
