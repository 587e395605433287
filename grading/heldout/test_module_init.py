"""Held-out: initialisation statistics of fresh Linear and Embedding modules (fresh sizes, fresh seeds) from
`make_module`: the handout's truncated normals, checked against their exact moments."""

from __future__ import annotations

import math

import pytest
import torch

from grading.heldout.draw import integers
from tests.scenarios import module_state

pytestmark = [pytest.mark.problem("module_init"), pytest.mark.heldout]

TRUNCATED_STD = 0.98657  # std of N(0, σ²) truncated at ±3σ, in units of σ: sqrt(1 - 6φ(3)/(2Φ(3) - 1))


def _check_truncated_normal(w: torch.Tensor, sigma: float, what: str) -> None:
    w, n = w.double(), w.numel()
    # n >= 1e5 draws: the sample std's relative spread is ~1/sqrt(2n) < 0.25%, so 2% is ~10 spreads; the
    # mean's spread is σ/sqrt(n), 5 of them; ~0.1% of the draws lie between 2.9σ and 3σ
    std = w.std().item()
    assert abs(std / (TRUNCATED_STD * sigma) - 1) < 0.02, (
        f"{what}: init std {std:.5f}, expected about {TRUNCATED_STD * sigma:.5f} (σ = {sigma:.5f}, truncated at ±3σ)"
    )
    assert abs(w.mean().item()) < 5 * sigma / math.sqrt(n), f"{what}: init mean {w.mean().item():.2e} should be 0"
    largest = w.abs().max().item()
    assert 2.9 * sigma < largest <= 3 * sigma * (1 + 1e-6), (
        f"{what}: largest |w| is {largest / sigma:.3f}σ; the init must be a normal truncated at exactly ±3σ"
    )


def test_linear_init_is_truncated_glorot_normal_for_fresh_sizes(heldout_rng):
    d_in, d_out = integers(heldout_rng, 320, 700), integers(heldout_rng, 320, 700)  # >= 1e5 weights
    w = module_state("linear", {"d_in": d_in, "d_out": d_out}, seed=integers(heldout_rng, 0, 2**31))["weight"]
    assert tuple(w.shape) == (d_out, d_in), f"Linear({d_in}, {d_out}).weight must have shape {(d_out, d_in)}, got {tuple(w.shape)}"
    _check_truncated_normal(w, math.sqrt(2 / (d_in + d_out)), f"Linear({d_in}, {d_out})")


def test_embedding_init_is_truncated_standard_normal_for_fresh_sizes(heldout_rng):
    vocab, d_model = integers(heldout_rng, 1600, 4000), integers(heldout_rng, 64, 160)  # >= 1e5 rows x cols
    w = module_state("embedding", {"vocab_size": vocab, "d_model": d_model}, seed=integers(heldout_rng, 0, 2**31))["weight"]
    assert tuple(w.shape) == (vocab, d_model), f"Embedding({vocab}, {d_model}).weight must have shape {(vocab, d_model)}"
    _check_truncated_normal(w, 1.0, f"Embedding({vocab}, {d_model})")
