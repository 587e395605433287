"""RoPE against the complex-multiplication form (float64), with non-arange, batched and 4-D positions.

(No saved state: tests/test_module_init.py; bad input: tests/test_input_validation.py.)"""

import pytest
import torch

from tests.adapters import run_rope
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("rope")

# Each output is x0 cos - x1 sin with float32 tables: a few float32 ulps of O(1) values (measured
# 2.4e-7). 1e-5 absorbs that; rotating the wrong pairs, by the wrong frequency or at the wrong position
# changes outputs by > 1e-2.
ATOL = RTOL = 1e-5


def _rope(f, x, positions):
    return run_rope(int(f["d_k"]), float(f["theta"]), int(f["max_seq_len"]), x, positions)


def test_rope_matches_complex_multiplication_oracle_with_batched_positions():
    # Positions differ per sequence and are not 0..seq-1, so they must be read from token_positions.
    f = load_tensors("rope")
    assert_close(
        _rope(f, f["in_features"], f["token_positions"]), f["expected"], atol=ATOL, rtol=RTOL,
        hint="RoPE is wrong: rotate the interleaved pairs (x0, x1), (x2, x3), ... of each vector by the "
        "angle position / theta^(2k/d_k), k = 0, 1, ..., using token_positions (not 0..seq-1)",
    )


def test_rope_with_shared_arange_positions_matches_oracle():
    f = load_tensors("rope")
    assert_close(_rope(f, f["in_features"], torch.arange(6)), f["expected_arange"], atol=ATOL, rtol=RTOL)


def test_rope_on_4d_inputs_broadcasts_positions_over_heads():
    # x: (batch, heads, seq, d_k); positions (batch, 1, seq) broadcast over the heads axis.
    f = load_tensors("rope")
    actual = _rope(f, f["in_features_4d"], f["token_positions"][:, None, :])
    assert_close(
        actual, f["expected_4d"], atol=ATOL, rtol=RTOL,
        hint="RoPE on (batch, heads, seq, d_k) inputs is wrong: support any leading dims",
    )
