"""The Transformer LM against a float64 reference built from torch built-ins (default model and the
ablation variants), its state-dict layout, input-length handling, and every ablation switch."""

import itertools

import pytest
import torch

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


def test_transformer_lm_rejects_input_longer_than_context():
    f = load_tensors("transformer_lm")
    too_long = torch.zeros(1, int(f["context_length"]) + 1, dtype=torch.long)
    with pytest.raises(ValueError, match=str(int(f["context_length"]))):
        run_transformer_lm(*_shape(f), _weights(f), too_long)


def test_transformer_lm_state_dict_has_the_cs336_layout():
    from cs336_basics.training.config import ModelConfig
    from cs336_basics.nn.transformer import TransformerLM

    f = load_tensors("transformer_lm")
    config = ModelConfig(**dict(zip(SHAPE_KEYS, _shape(f))))
    expected = {k: tuple(v.shape) for k, v in _weights(f).items()}
    actual = {k: tuple(v.shape) for k, v in TransformerLM(config).state_dict().items()}
    missing, unexpected = sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected))
    assert not missing and not unexpected, f"state-dict keys differ from the CS336 layout: missing {missing}, unexpected {unexpected}"
    wrong = {k: (actual[k], expected[k]) for k in expected if actual[k] != expected[k]}
    assert not wrong, f"parameter shapes (yours, expected): {wrong}"


# name -> (position, norm, ffn); one-layer models whose float64 reference logits are in the fixture.
ABLATIONS = {
    "post_norm": ("rope", "post", "swiglu"),
    "no_norm": ("rope", "none", "swiglu"),
    "sinusoidal": ("sinusoidal", "pre", "swiglu"),
    "learned": ("learned", "pre", "swiglu"),
    "nope": ("none", "pre", "swiglu"),
    "silu_ffn": ("rope", "pre", "silu"),
}


@pytest.mark.parametrize("name", list(ABLATIONS))
def test_transformer_lm_ablation_matches_float64_reference(name):
    from cs336_basics.training.config import ModelConfig
    from cs336_basics.nn.transformer import TransformerLM

    f = load_tensors("transformer_lm_ablations")
    position, norm, ffn = ABLATIONS[name]
    config = ModelConfig(**dict(zip(SHAPE_KEYS, _shape(f))), position=position, norm=norm, ffn=ffn)
    model = TransformerLM(config)
    model.load_state_dict(_weights(f, f"{name}.weights."))
    assert_close(
        model(f["in_indices"]), f[f"{name}.expected"], atol=ATOL, rtol=RTOL,
        hint=f"ablation {name} (position={position}, norm={norm}, ffn={ffn}) differs from the reference",
    )


SWITCHES = list(itertools.product(("rope", "sinusoidal", "learned", "none"), ("pre", "post", "none"), ("swiglu", "silu")))


@pytest.mark.parametrize(("position", "norm", "ffn"), SWITCHES, ids=["-".join(s) for s in SWITCHES])
def test_transformer_lm_every_ablation_switch_runs_forward_and_backward(position, norm, ffn):
    from cs336_basics.training.config import ModelConfig
    from cs336_basics.nn.transformer import TransformerLM

    torch.manual_seed(0)
    config = ModelConfig(vocab_size=32, context_length=8, d_model=16, num_layers=1, num_heads=2, d_ff=32,
                         position=position, norm=norm, ffn=ffn)
    model = TransformerLM(config)
    logits = model(torch.randint(0, 32, (2, 8)))
    assert logits.shape == (2, 8, 32) and torch.isfinite(logits).all()
    logits.logsumexp(-1).mean().backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not no_grad, f"parameters without a finite gradient: {no_grad}"


def test_transformer_lm_with_wide_heads_runs():
    from cs336_basics.training.config import ModelConfig
    from cs336_basics.nn.transformer import TransformerLM

    config = ModelConfig(vocab_size=32, context_length=8, d_model=16, num_layers=1, num_heads=2, head_dim=16)
    model = TransformerLM(config)
    assert model.state_dict()["layers.0.attn.q_proj.weight"].shape == (32, 16), "wide heads: q_proj is (heads * d_model, d_model)"
    assert model(torch.randint(0, 32, (1, 8))).shape == (1, 8, 32)


def test_transformer_lm_rejects_ids_that_are_not_batch_by_seq():
    f = load_tensors("transformer_lm")
    with pytest.raises(ValueError, match=r"\(batch, seq\)"):
        run_transformer_lm(*_shape(f), _weights(f), f["in_indices"][0])
