"""Causal multi-head self-attention against a float64 reference from F.linear and
F.scaled_dot_product_attention(is_causal=True), with RoPE at given (batch, seq) positions; causality itself.

(Wide heads and RoPE with token_positions=None: the extra tests/test_attention_extras.py.)"""

import pytest
import torch

from tests.adapters import run_multihead_self_attention, run_multihead_self_attention_with_rope
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("multihead_self_attention")

# Four float32 projections over 16-64 terms plus attention over <= 6 keys: measured 4.8e-7 on O(1)
# outputs. 1e-5 leaves a 20x margin; heads split in the wrong order, a mask shifted by one position or
# a missing scale change outputs by > 1e-2.
ATOL = RTOL = 1e-5
NAMES = ("q_proj_weight", "k_proj_weight", "v_proj_weight", "o_proj_weight")


def _weights(f, prefix=""):
    return [f[prefix + n] for n in NAMES]


def test_mha_matches_float64_reference():
    f = load_tensors("multihead_self_attention")
    assert_close(
        run_multihead_self_attention(16, 4, *_weights(f), f["in_features"]), f["expected"], atol=ATOL, rtol=RTOL,
        hint="causal MHA is wrong: split the projections' rows as (heads head_dim), each query attends to "
        "itself and earlier keys only",
    )


def test_mha_with_rope_and_token_positions_matches_float64_reference():
    f = load_tensors("multihead_self_attention")
    actual = run_multihead_self_attention_with_rope(
        16, 4, int(f["max_seq_len"]), float(f["theta"]), *_weights(f), f["in_features"], f["token_positions"]
    )
    assert_close(
        actual, f["expected_rope"], atol=ATOL, rtol=RTOL,
        hint="MHA with RoPE is wrong: rotate queries and keys (not values) of every head by token_positions",
    )


def test_mha_accepts_unbatched_input():
    f = load_tensors("multihead_self_attention")
    actual = run_multihead_self_attention(16, 4, *_weights(f), f["in_features"][1])
    assert_close(actual, f["expected"][1], atol=ATOL, rtol=RTOL)


def test_mha_is_causal_changing_a_future_token_leaves_earlier_outputs_unchanged():
    f = load_tensors("multihead_self_attention")
    x = f["in_features"]
    changed = x.clone()
    changed[:, 3] += 1.0
    before = run_multihead_self_attention(16, 4, *_weights(f), x)
    after = run_multihead_self_attention(16, 4, *_weights(f), changed)
    # Positions 0..2 cannot see position 3, so their outputs must be bit-identical up to float32
    # reduction-order noise (the same computation on the same inputs).
    assert_close(
        after[:, :3], before[:, :3], atol=1e-6, rtol=1e-6,
        hint="outputs at positions 0..2 changed when only position 3 changed: the mask lets queries see the future",
    )
    assert not torch.allclose(after[:, 3], before[:, 3], atol=1e-4), (
        "the output at position 3 ignored its own input: a query must attend to its own key (mask diagonal included)"
    )
