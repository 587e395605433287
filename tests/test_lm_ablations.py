"""The ablation switches of the Transformer LM (extra): position (rope / sinusoidal / learned / none),
norm (pre / post / none) and ffn (swiglu / silu), against float64 references built from torch built-ins
(tests/oracles/model.py), and the SiLU feed-forward network on its own."""

import itertools

import pytest
import torch

from tests import scenarios
from tests.adapters import run_transformer_lm_ablation
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("lm_ablations")

# as in test_transformer_lm.py: float32 blocks are within ~7e-7 of the float64 reference; 1e-5 keeps margin
ATOL = RTOL = 1e-5
SHAPE_KEYS = ("vocab_size", "context_length", "d_model", "num_layers", "num_heads", "d_ff", "rope_theta")

# name -> (position, norm, ffn); one-layer models whose float64 reference logits are in the fixture.
ABLATIONS = {
    "post_norm": ("rope", "post", "swiglu"),
    "no_norm": ("rope", "none", "swiglu"),
    "sinusoidal": ("sinusoidal", "pre", "swiglu"),
    "learned": ("learned", "pre", "swiglu"),
    "nope": ("none", "pre", "swiglu"),
    "silu_ffn": ("rope", "pre", "silu"),
}


def _shape(f):
    return [int(f[k]) if k != "rope_theta" else float(f[k]) for k in SHAPE_KEYS]


def _weights(f, prefix):
    return {k.removeprefix(prefix): v for k, v in f.items() if k.startswith(prefix)}


@pytest.mark.parametrize("name", list(ABLATIONS))
def test_transformer_lm_ablation_matches_float64_reference(name):
    f = load_tensors("transformer_lm_ablations")
    position, norm, ffn = ABLATIONS[name]
    actual = run_transformer_lm_ablation(
        *_shape(f), _weights(f, f"{name}.weights."), f["in_indices"], position=position, norm=norm, ffn=ffn
    )
    assert_close(
        actual, f[f"{name}.expected"], atol=ATOL, rtol=RTOL,
        hint=f"ablation {name} (position={position}, norm={norm}, ffn={ffn}) differs from the reference",
    )


def test_silu_feed_forward_matches_float64_oracle():
    f = load_tensors("positionwise_feedforward")
    actual = scenarios.module_forward(
        "silu_ffn", {"d_model": 16, "d_ff": 48}, {"w1.weight": f["w1"], "w2.weight": f["w2"]}, [f["in_features"]]
    )
    # two float32 matmuls over 16 and 48 terms: ~1e-7 on O(1) outputs
    assert_close(actual, f["silu_ffn_expected"], atol=ATOL, rtol=RTOL, hint="the SiLU feed-forward network must be W2 silu(W1 x)")


SWITCHES = list(itertools.product(("rope", "sinusoidal", "learned", "none"), ("pre", "post", "none"), ("swiglu", "silu")))


@pytest.mark.parametrize(("position", "norm", "ffn"), SWITCHES, ids=["-".join(s) for s in SWITCHES])
def test_transformer_lm_every_ablation_switch_runs_forward_and_backward(position, norm, ffn):
    config = {"vocab_size": 32, "context_length": 8, "d_model": 16, "num_layers": 1, "num_heads": 2, "d_ff": 32,
              "rope_theta": 10000.0, "position": position, "norm": norm, "ffn": ffn}  # fmt: skip
    ids = torch.randint(0, 32, (2, 8), generator=torch.Generator().manual_seed(0))
    result = scenarios.module_gradients("transformer_lm", config, [ids])
    logits = result["output"]
    assert logits.shape == (2, 8, 32) and torch.isfinite(logits).all(), f"logits {tuple(logits.shape)}, finite: {torch.isfinite(logits).all()}"
    no_grad = [n for n, g in result["grads"].items() if g is None or not torch.isfinite(g).all()]
    assert not no_grad, f"parameters without a finite gradient: {no_grad}"
