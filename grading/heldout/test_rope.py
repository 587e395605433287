"""Held-out: RoPE on fresh widths, thetas and (batched, unsorted, repeated) positions against complex multiplication."""

from __future__ import annotations

import pytest
import torch

from grading.heldout.draw import describe, f64, integers, leading_shape, log_uniform, normal
from tests.adapters import run_rope
from tests.numerics import assert_close
from tests.oracles.model import rope_complex

pytestmark = [pytest.mark.problem("rope"), pytest.mark.heldout]

# Positions stay below 64. Angles p·θ^(-2k/d) computed in float32 (a legitimate choice) are off by up to
# 64·2^-23 ≈ 8e-6 rad, which moves outputs of size |x| <= 4 by up to 3e-5; 5e-5 absorbs that, while
# rotating halves instead of pairs, a frequency index off by one or the opposite rotation changes
# outputs by O(1).
TOL = 5e-5


def _draw(heldout_rng):
    d_k = 2 * integers(heldout_rng, 1, 16)
    theta = float(heldout_rng.choice([10000.0, log_uniform(heldout_rng, 10.0, 1e5)]))
    max_seq_len = integers(heldout_rng, 4, 64)
    seq = integers(heldout_rng, 1, min(max_seq_len, 12))
    return d_k, theta, max_seq_len, seq


def test_rope_matches_complex_oracle_on_fresh_batched_positions(heldout_rng):
    d_k, theta, max_seq_len, seq = _draw(heldout_rng)
    batch = leading_shape(heldout_rng, 2, min_dims=1)
    x = normal(heldout_rng, *batch, seq, d_k)
    # any positions below max_seq_len, one row per batch element: unsorted, repeats allowed
    positions = torch.from_numpy(heldout_rng.integers(0, max_seq_len, size=(*batch, seq)))
    assert_close(
        run_rope(d_k, theta, max_seq_len, x, positions), rope_complex(f64(x), positions, theta).float(), atol=TOL, rtol=TOL,
        hint=f"RoPE with {describe(d_k=d_k, theta=theta, max_seq_len=max_seq_len, in_query_or_key=x)} and positions "
        f"{positions.flatten()[:8].tolist()}... differs: rotate the pairs (x0, x1), (x2, x3), ... by the angles "
        f"position · theta^(-2k/d_k), k = 0, 1, ..., reading each token's own position",
    )


def test_rope_broadcasts_positions_over_leading_axes(heldout_rng):
    d_k, theta, max_seq_len, seq = _draw(heldout_rng)
    # (batch, heads, seq, d_k) queries with one (seq,) position vector shared by everything
    x = normal(heldout_rng, integers(heldout_rng, 1, 3), integers(heldout_rng, 1, 4), seq, d_k)
    positions = torch.from_numpy(heldout_rng.choice(max_seq_len, size=seq, replace=False))
    assert_close(
        run_rope(d_k, theta, max_seq_len, x, positions), rope_complex(f64(x), positions, theta).float(), atol=TOL, rtol=TOL,
        hint=f"RoPE of 4-D input {describe(in_query_or_key=x)} with shared positions {positions.tolist()} differs: "
        f"positions of shape (seq,) apply to every leading axis",
    )
