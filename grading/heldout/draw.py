"""Drawing held-out inputs from a test's `heldout_rng` (numpy PCG64), as torch tensors.

Values are drawn in float64 by numpy and rounded once to the dtype the hook receives; oracles then
recompute from exactly those rounded values in float64 (`f64`), so the only error a test must absorb is
the student's own float32 arithmetic.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def normal(rng: np.random.Generator, *shape: int, std: float = 1.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """N(0, std²) values of `shape`, e.g. normal(rng, 2, 3) -> float32 tensor of shape (2, 3)."""
    return torch.from_numpy(rng.standard_normal(shape) * std).to(dtype)


def weight(rng: np.random.Generator, d_out: int, d_in: int) -> torch.Tensor:
    """A (d_out, d_in) float32 weight with the Glorot std sqrt(2 / (d_in + d_out)) of the handout's init."""
    return normal(rng, d_out, d_in, std=math.sqrt(2.0 / (d_in + d_out)))


def gain(rng: np.random.Generator, d: int) -> torch.Tensor:
    """RMSNorm gains in [0.5, 1.5): away from 1, so an implementation that ignores them fails."""
    return torch.from_numpy(rng.uniform(0.5, 1.5, size=d)).float()


def leading_shape(rng: np.random.Generator, max_dims: int, max_size: int = 4, min_dims: int = 0) -> tuple[int, ...]:
    """A batch shape of min_dims..max_dims axes, each of size 1..max_size, e.g. (3,) or (2, 1, 4) or ()."""
    return tuple(int(n) for n in rng.integers(1, max_size + 1, size=int(rng.integers(min_dims, max_dims + 1))))


def log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """A float spread evenly in log scale between low and high (e.g. a scale from 1e-3 to 1e3)."""
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def integers(rng: np.random.Generator, low: int, high: int) -> int:
    """One int in [low, high] (both ends included)."""
    return int(rng.integers(low, high + 1))


def f64(t: torch.Tensor) -> torch.Tensor:
    """The exact float64 value of a (lower precision) tensor, for the oracles; integer tensors unchanged."""
    return t.double() if t.is_floating_point() else t


def describe(**config) -> str:
    """The drawn configuration for a failure message: describe(d_in=3, shape=(2, 3)) -> 'd_in=3, shape=(2, 3)'."""
    return ", ".join(f"{k}={tuple(v.shape) if isinstance(v, torch.Tensor) else v}" for k, v in config.items())


def lm_problem(
    rng: np.random.Generator, min_layers: int = 2, max_layers: int = 3, position: str = "rope", norm: str = "pre",
    ffn: str = "swiglu",
) -> tuple[dict, dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """A fresh small LM: (hook config, float32 weights, ids (batch, seq), float64 reference logits as float32).

    The config has the keys of run_transformer_lm (vocab_size, context_length, d_model, num_layers,
    num_heads, d_ff, rope_theta); weights and logits come from tests/oracles/model.py.
    """
    from tests.oracles.model import _lm_weights, lm_reference

    num_heads = int(rng.choice([1, 2, 4]))
    d_model = num_heads * 2 * integers(rng, 1, 3)
    config = dict(
        vocab_size=integers(rng, 8, 96), context_length=integers(rng, 4, 24), d_model=d_model,
        num_layers=integers(rng, min_layers, max_layers), num_heads=num_heads, d_ff=integers(rng, d_model, 64),
        rope_theta=float(rng.choice([10000.0, 1000.0])),
    )
    arrays = _lm_weights(
        rng, config["vocab_size"], config["context_length"], d_model, config["num_layers"], num_heads, config["d_ff"],
        position=position, norm=norm, ffn=ffn,
    )
    weights = {k: torch.from_numpy(v) for k, v in arrays.items()}
    seq = integers(rng, 1, config["context_length"])
    ids = torch.from_numpy(rng.integers(0, config["vocab_size"], size=(integers(rng, 1, 3), seq)))
    logits = lm_reference(
        ids, {k: v.double() for k, v in weights.items()}, config["num_layers"], num_heads, config["rope_theta"],
        position=position, norm=norm, ffn=ffn,
    )
    return config, weights, ids, logits.float()
