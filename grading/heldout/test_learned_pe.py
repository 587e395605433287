"""Held-out: the learned position embedding on fresh tables and positions, against a table lookup."""

from __future__ import annotations

import pytest
import torch

from grading.heldout.draw import describe, f64, integers, normal
from tests.adapters import run_learned_pe
from tests.numerics import assert_close

pytestmark = [pytest.mark.problem("learned_pe"), pytest.mark.heldout]


@pytest.mark.parametrize("positions", ["default", "given"])
def test_learned_pe_matches_table_lookup_on_fresh_tables(heldout_rng, positions):
    max_seq_len, d_model = integers(heldout_rng, 2, 40), integers(heldout_rng, 1, 24)
    seq = integers(heldout_rng, 1, max_seq_len)
    batch = integers(heldout_rng, 1, 4)
    while batch == seq:  # a batch axis the size of the sequence would hide which axis is read
        batch = integers(heldout_rng, 1, 4)
    table, x = normal(heldout_rng, max_seq_len, d_model), normal(heldout_rng, batch, seq, d_model)
    if positions == "default":
        token_positions, rows = None, f64(table)[:seq]
    else:
        token_positions = torch.from_numpy(heldout_rng.integers(0, max_seq_len, size=(batch, seq)))
        rows = f64(table)[token_positions]
    # one float32 addition of two float32 values: exact to half an ulp of the sum
    assert_close(
        run_learned_pe(max_seq_len, d_model, table, x, token_positions), (f64(x) + rows).float(), atol=1e-7, rtol=1e-7,
        hint=f"learned PE with {describe(max_seq_len=max_seq_len, d_model=d_model, in_features=x)} and "
        f"{'default positions 0..seq-1' if token_positions is None else 'given token_positions'} differs: add "
        f"weight[position] to each token (row p for position p, positions along the sequence axis)",
    )
