"""The Transformer LM against a float64 reference built from torch built-ins, on full and shorter inputs.

(State-dict layout: tests/test_module_init.py; ablation switches: tests/test_lm_ablations.py; bad input:
tests/test_input_validation.py.)"""

import pytest

from tests.adapters import run_transformer_lm
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("transformer_lm")

# Two blocks plus embedding, final norm and head in float32: measured 6.6e-7 on logits of size ~2
# against the float64 reference. 1e-5 keeps a >10x margin; a bf16 model (2e-2) or a wrong
# block/position/head detail is off by far more.
ATOL = RTOL = 1e-5
SHAPE_KEYS = ("vocab_size", "context_length", "d_model", "num_layers", "num_heads", "d_ff", "rope_theta")


def _weights(f, prefix="weights."):
    return {k.removeprefix(prefix): v for k, v in f.items() if k.startswith(prefix)}


def _shape(f):
    return [int(f[k]) if k != "rope_theta" else float(f[k]) for k in SHAPE_KEYS]


def test_transformer_lm_matches_float64_reference():
    f = load_tensors("transformer_lm")
    actual = run_transformer_lm(*_shape(f), _weights(f), f["in_indices"])
    assert_close(
        actual, f["expected"], atol=ATOL, rtol=RTOL,
        hint="LM logits are wrong: embeddings -> pre-norm blocks (RoPE at 0..seq-1) -> ln_final -> lm_head, "
        "no softmax at the end",
    )


def test_transformer_lm_on_truncated_input_matches_reference_prefix():
    # Shorter than the context: the model is causal, so its logits are the prefix of the full ones.
    f = load_tensors("transformer_lm")
    actual = run_transformer_lm(*_shape(f), _weights(f), f["in_indices"][:, :7])
    assert actual.shape == (2, 7, int(f["vocab_size"])), f"logits for 7 tokens should be (2, 7, vocab), got {tuple(actual.shape)}"
    assert_close(
        actual, f["expected"][:, :7], atol=ATOL, rtol=RTOL,
        hint="logits for an input shorter than context_length are wrong (positions and mask must follow the input length)",
    )
