"""SiLU and the SwiGLU feed-forward network against torch's F.silu / F.linear in float64.

(SwiGLU's parameter names: tests/test_module_init.py; the SiLU network of the ablation: tests/test_lm_ablations.py.)"""

import pytest

from tests.adapters import run_silu, run_swiglu
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("positionwise_feedforward")

# Elementwise x * sigmoid(x) in float32 is within a couple of ulps of the float64 value: 1e-6 relative
# (plus 1e-6 absolute near 0) leaves margin. The networks add two float32 matmuls over 16 and 48 terms
# (measured error 1.2e-7 on O(1) outputs): 1e-5 absorbs that, and a swapped w1/w3 or a bf16 matmul
# misses by >1e-3.
SILU_TOL = 1e-6
FFN_TOL = 1e-5


def test_silu_matches_torch_silu_oracle_including_large_inputs():
    f = load_tensors("positionwise_feedforward")
    actual = run_silu(f["silu_in"])
    assert_close(
        actual, f["silu_expected"], atol=SILU_TOL, rtol=SILU_TOL,
        hint="silu(x) must be x * sigmoid(x), finite for |x| = 100 (use torch.sigmoid)",
    )


def test_swiglu_matches_float64_oracle():
    f = load_tensors("positionwise_feedforward")
    actual = run_swiglu(16, 48, f["w1"], f["w2"], f["w3"], f["in_features"])
    assert_close(
        actual, f["swiglu_expected"], atol=FFN_TOL, rtol=FFN_TOL,
        hint="SwiGLU must be W2 (silu(W1 x) * W3 x): the SiLU gates W1 x, not W3 x",
    )
