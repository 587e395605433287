"""The pre-norm Transformer block (RoPE, SwiGLU) against a float64 reference built from torch built-ins.

(Its state-dict keys: tests/test_module_init.py.)"""

import pytest

from tests.adapters import run_transformer_block
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("transformer_block")

# Two RMSNorms, attention and SwiGLU in float32: measured 6e-7 on outputs of size ~4 against the float64
# reference. 1e-5 keeps a >10x margin; post-norm instead of pre-norm or a missing residual is off by O(1).
ATOL = RTOL = 1e-5


def _load():
    f = load_tensors("transformer_block")
    weights = {k.removeprefix("weights."): v for k, v in f.items() if k.startswith("weights.")}
    args = (int(f["d_model"]), int(f["num_heads"]), int(f["d_ff"]), int(f["max_seq_len"]), float(f["theta"]))
    return f, weights, args


def test_transformer_block_matches_float64_reference():
    f, weights, args = _load()
    assert_close(
        run_transformer_block(*args, weights, f["in_features"]), f["expected"], atol=ATOL, rtol=RTOL,
        hint="the block must be pre-norm: h = x + attn(ln1(x)) with RoPE at positions 0..seq-1, "
        "y = h + ffn(ln2(h))",
    )


def test_transformer_block_on_shorter_sequence_matches_reference_prefix():
    # Causal attention: the first 5 outputs depend only on the first 5 inputs.
    f, weights, args = _load()
    actual = run_transformer_block(*args, weights, f["in_features"][:, :5])
    assert_close(actual, f["expected"][:, :5], atol=ATOL, rtol=RTOL)
