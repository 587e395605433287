"""Learned absolute position embedding (extra) against float64 table lookups."""

import pytest

from tests import scenarios
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
    assert_close(
        actual, f["expected_positions"], atol=ATOL, rtol=RTOL,
        hint="with token_positions given, add weight[token_positions] (row b of the batch uses token_positions[b])",
    )  # fmt: skip


def test_learned_pe_weight_is_a_trained_table():
    f = load_tensors("learned_pe")
    kwargs = {"max_seq_len": 20, "d_model": 8}
    shapes = {k: tuple(v.shape) for k, v in scenarios.module_state("learned_pe", kwargs).items()}
    assert shapes == {"weight": (20, 8)}, f"learned PE holds one parameter weight (max_seq_len, d_model); got {shapes}"
    result = scenarios.module_gradients("learned_pe", kwargs, [f["in_features"]], state={"weight": f["weight"]})
    assert_close(result["output"], f["expected"], atol=ATOL, rtol=RTOL, hint="make_module('learned_pe') must add weight[0..seq-1]")
    grad = result["grads"].get("weight")
    assert grad is not None, "the learned table must be an nn.Parameter named 'weight' that receives a gradient"
    used = grad.abs().sum(dim=-1) > 0
    seq = f["in_features"].shape[-2]
    assert used[:seq].all() and not used[seq:].any(), f"only the rows of positions 0..{seq - 1} should receive gradient"
