"""Held-out: the sinusoidal position encoding for fresh (even and odd) widths and positions, against a per-entry loop."""

from __future__ import annotations

import pytest
import torch

from grading.heldout.draw import describe, f64, integers, normal
from tests.adapters import run_sinusoidal_pe
from tests.numerics import assert_close
from tests.oracles.model import sinusoidal_loop

pytestmark = [pytest.mark.problem("sinusoidal_pe"), pytest.mark.heldout]

# Positions below 64: angles computed in float32 are off by up to 64·2^-23 ≈ 8e-6 rad; the table entries
# are in [-1, 1] and the inputs O(1): 2e-5 absorbs that, while swapping sin and cos or using the column
# index in the exponent changes entries by O(1).
TOL = 2e-5


@pytest.mark.parametrize("positions", ["default", "given"])
def test_sinusoidal_pe_matches_loop_oracle_on_fresh_widths(heldout_rng, positions):
    d_model = integers(heldout_rng, 2, 40)  # odd widths too: the last column is a sine
    max_seq_len = integers(heldout_rng, 2, 64)
    batch, seq = integers(heldout_rng, 1, 3), integers(heldout_rng, 1, max_seq_len)
    x = normal(heldout_rng, batch, seq, d_model)
    table = sinusoidal_loop(max_seq_len, d_model)
    if positions == "default":
        token_positions, rows = None, table[:seq]
    else:
        token_positions = torch.from_numpy(heldout_rng.integers(0, max_seq_len, size=(batch, seq)))
        rows = table[token_positions]
    assert_close(
        run_sinusoidal_pe(d_model, max_seq_len, x, token_positions), (f64(x) + rows).float(), atol=TOL, rtol=TOL,
        hint=f"sinusoidal PE with {describe(d_model=d_model, max_seq_len=max_seq_len, in_features=x)} and "
        f"{'default positions 0..seq-1' if token_positions is None else 'given token_positions'} differs: "
        f"PE[p, 2i] = sin(p / 10000^(2i/d_model)), PE[p, 2i+1] = cos(...), added to the input",
    )
