"""Parameter names, shapes and initialisation of fresh modules from `make_module` (extra): the handout's
truncated-normal initialisations, RMSNorm's unit gain, the CS336 state-dict layout, no saved RoPE tables.
Each test also runs the module (or compares with a hook's result), so it needs that module's code."""

import math

import pytest
import torch

from tests import scenarios
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("module_init")

# N(0, σ²) truncated at ±3σ has std σ·sqrt(1 - 6φ(3)/(2Φ(3) - 1)) = 0.98657σ.
TRUNCATED_STD = 0.98657


def _check_truncated_normal(w: torch.Tensor, sigma: float, what: str) -> None:
    w = w.double()
    n = w.numel()
    expected_std = TRUNCATED_STD * sigma
    # the sample std of n >= 1e5 draws has relative spread ~1/sqrt(2n) < 0.25%; 2% is ~10 spreads
    assert abs(w.std().item() / expected_std - 1) < 0.02, (
        f"{what} init std is {w.std().item():.5f}; expected about {expected_std:.5f} (σ = {sigma:.5f}, truncated at ±3σ)"
    )
    assert abs(w.mean().item()) < 5 * sigma / math.sqrt(n), f"{what} init mean {w.mean().item():.2e} should be 0"
    largest = w.abs().max().item()
    assert largest <= 3 * sigma * (1 + 1e-6), f"{what} init must be clipped at ±3σ = {3 * sigma:.5f}; found {largest:.5f}"
    # about 0.1% of the draws lie between 2.9σ and 3σ: clipping at a smaller bound shows here
    assert largest > 2.9 * sigma, f"largest |w| is {largest / sigma:.2f}σ: are you clipping at ±3σ (not ±2σ or ±2)?"


def _shapes(state: dict) -> dict:
    return {k: tuple(v.shape) for k, v in state.items()}


def test_linear_has_only_a_weight_of_shape_out_by_in():
    shapes = _shapes(scenarios.module_state("linear", {"d_in": 3, "d_out": 5}))
    assert shapes == {"weight": (5, 3)}, f"Linear must hold exactly one parameter 'weight' of shape (d_out, d_in) = (5, 3), no bias; got {shapes}"
    f = load_tensors("linear")
    actual = scenarios.module_forward("linear", {"d_in": 24, "d_out": 40}, {"weight": f["weight"]}, [f["in_features"]])
    assert_close(actual, f["expected"], atol=1e-5, rtol=1e-5, hint="make_module('linear') with the fixture weight")


def test_linear_init_is_truncated_normal_with_glorot_variance():
    d_in, d_out = 256, 512
    w = scenarios.module_state("linear", {"d_in": d_in, "d_out": d_out}, seed=0)["weight"]
    _check_truncated_normal(w, math.sqrt(2 / (d_in + d_out)), "Linear (σ = sqrt(2 / (d_in + d_out)))")


def test_embedding_init_is_truncated_standard_normal():
    state = scenarios.module_state("embedding", {"vocab_size": 1000, "d_model": 128}, seed=0)
    assert _shapes(state) == {"weight": (1000, 128)}, f"Embedding holds weight (vocab_size, d_model); got {_shapes(state)}"
    _check_truncated_normal(state["weight"], 1.0, "Embedding (N(0, 1) truncated at ±3)")


def test_rmsnorm_gain_is_initialised_to_one():
    state = scenarios.module_state("rmsnorm", {"d_model": 8, "eps": 1e-5})
    assert list(state) == ["weight"], f"RMSNorm holds one parameter 'weight'; got {list(state)}"
    assert torch.equal(state["weight"], torch.ones(8)), f"RMSNorm gain must start at 1, got {state['weight']}"
    f = load_tensors("rmsnorm")
    actual = scenarios.module_forward("rmsnorm", {"d_model": 16, "eps": float(f["eps"])}, {"weight": f["weight"]}, [f["in_features"]])
    assert_close(actual, f["expected"], atol=1e-6, rtol=1e-6, hint="make_module('rmsnorm') with the fixture gain")


def test_swiglu_parameter_names_and_shapes():
    shapes = _shapes(scenarios.module_state("swiglu", {"d_model": 16, "d_ff": 48}))
    expected = {"w1.weight": (48, 16), "w2.weight": (16, 48), "w3.weight": (48, 16)}
    assert shapes == expected, f"SwiGLU parameters should be {expected}, got {shapes}"
    # the module must compute SwiGLU with them (so this test needs the SwiGLU code, not only Linear)
    f = load_tensors("positionwise_feedforward")
    state = {"w1.weight": f["w1"], "w2.weight": f["w2"], "w3.weight": f["w3"]}
    actual = scenarios.module_forward("swiglu", {"d_model": 16, "d_ff": 48}, state, [f["in_features"]])
    assert_close(actual, f["swiglu_expected"], atol=1e-5, rtol=1e-5, hint="make_module('swiglu') must compute W2(SiLU(W1 x) * W3 x)")


def test_rope_tables_are_not_saved_in_the_state_dict():
    f = load_tensors("rope")
    kwargs = {"d_k": int(f["d_k"]), "theta": float(f["theta"]), "max_seq_len": int(f["max_seq_len"])}
    assert scenarios.module_state("rope", kwargs) == {}, (
        "RoPE has no trainable state: register the cos/sin tables with persistent=False"
    )
    assert scenarios.module_parameter_count("rope", kwargs) == 0, "RoPE must not have parameters"
    actual = scenarios.module_forward("rope", kwargs, {}, [f["in_features"], f["token_positions"]])
    assert_close(actual, f["expected"], atol=1e-5, rtol=1e-5, hint="make_module('rope') must rotate by token_positions")


def test_transformer_block_state_dict_keys():
    f = load_tensors("transformer_block")
    weights = {k.removeprefix("weights."): v for k, v in f.items() if k.startswith("weights.")}
    kwargs = {"d_model": int(f["d_model"]), "num_heads": int(f["num_heads"]), "d_ff": int(f["d_ff"]),
              "max_seq_len": int(f["max_seq_len"]), "theta": float(f["theta"])}  # fmt: skip
    expected, actual = _shapes(weights), _shapes(scenarios.module_state("transformer_block", kwargs))
    assert actual == expected, (
        f"block state dict differs: missing {sorted(set(expected) - set(actual))}, "
        f"unexpected {sorted(set(actual) - set(expected))}, shapes {actual}"
    )
    output = scenarios.module_forward("transformer_block", kwargs, weights, [f["in_features"]])
    assert_close(output, f["expected"], atol=1e-5, rtol=1e-5, hint="make_module('transformer_block') with the fixture weights")


def test_transformer_lm_state_dict_has_the_cs336_layout():
    f = load_tensors("transformer_lm")
    keys = ("vocab_size", "context_length", "d_model", "num_layers", "num_heads", "d_ff", "rope_theta")
    kwargs = {k: float(f[k]) if k == "rope_theta" else int(f[k]) for k in keys}
    weights = {k.removeprefix("weights."): v for k, v in f.items() if k.startswith("weights.")}
    expected, actual = _shapes(weights), _shapes(scenarios.module_state("transformer_lm", kwargs))
    missing, unexpected = sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected))
    assert not missing and not unexpected, f"state-dict keys differ from the CS336 layout: missing {missing}, unexpected {unexpected}"
    wrong = {k: (actual[k], expected[k]) for k in expected if actual[k] != expected[k]}
    assert not wrong, f"parameter shapes (yours, expected): {wrong}"
    logits = scenarios.module_forward("transformer_lm", kwargs, weights, [f["in_indices"]])
    assert_close(logits, f["expected"], atol=1e-5, rtol=1e-5, hint="make_module('transformer_lm') with the fixture weights")
