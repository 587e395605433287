"""Learned absolute position embedding against float64 table lookups."""

import pytest
import torch

from tests.adapters import run_learned_pe
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("learned_pe")

# x + weight[pos] is one float32 addition, bit-exact against the float64 sum rounded to float32 except
# for ties; 1e-6 covers that.
ATOL = RTOL = 1e-6


def test_learned_pe_matches_table_lookup_oracle():
    f = load_tensors("learned_pe")
    assert_close(
        run_learned_pe(20, 8, f["weight"], f["in_features"]), f["expected"], atol=ATOL, rtol=RTOL,
        hint="learned PE must add weight[0..seq-1] to every sequence of the batch",
    )


def test_learned_pe_with_token_positions_matches_oracle():
    f = load_tensors("learned_pe")
    actual = run_learned_pe(20, 8, f["weight"], f["in_features"], f["token_positions"])
    assert_close(actual, f["expected_positions"], atol=ATOL, rtol=RTOL)


def test_learned_pe_weight_is_a_trained_table():
    from cs336_basics.nn.positional import LearnedPositionalEmbedding

    pe = LearnedPositionalEmbedding(20, 8)
    shapes = {k: tuple(v.shape) for k, v in pe.state_dict().items()}
    assert shapes == {"weight": (20, 8)}, f"learned PE holds one parameter weight (max_seq_len, d_model); got {shapes}"
    pe(torch.zeros(3, 5, 8)).sum().backward()
    used = pe.weight.grad.abs().sum(dim=-1) > 0
    assert used[:5].all() and not used[5:].any(), "only the rows of positions 0..seq-1 should receive gradient"


def test_learned_pe_rejects_sequences_longer_than_max_seq_len():
    f = load_tensors("learned_pe")
    with pytest.raises(ValueError):
        run_learned_pe(20, 8, f["weight"], torch.zeros(1, 21, 8))
