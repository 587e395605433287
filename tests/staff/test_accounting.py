"""The accounting functions handout.md quotes agree with the real model (staff: the starter ships
`cs336_basics/accounting.py` as an exercise, with its bodies removed).

Oracles: `sum(p.numel())` of a real `TransformerLM` for parameters, and torch's own
`torch.utils.flop_counter.FlopCounterMode` for matmul FLOPs. FlopCounterMode counts exactly the ops our
function counts (mm/bmm/addmm/baddbmm and the einsums that lower to them, at 2*m*n*k each) and nothing
elementwise, so the two must agree to the FLOP: norms, softmax, SiLU, RoPE and the embedding gather are
left out by both (the function by design, the counter because they are not matmuls).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from cs336_basics import accounting
from cs336_basics.training.config import MODEL_PRESETS, ModelConfig

pytestmark = pytest.mark.staff


SMALL = ModelConfig(vocab_size=97, context_length=16, d_model=32, num_layers=2, num_heads=4, d_ff=48)

# Every ablation switch, wide heads and an odd-sized FFN: each changes which parameters exist.
VARIANTS = {
    "default": SMALL,
    "wide_heads": dataclasses.replace(SMALL, head_dim=32),
    "head_dim_12": dataclasses.replace(SMALL, head_dim=12),
    "sinusoidal": dataclasses.replace(SMALL, position="sinusoidal"),
    "learned": dataclasses.replace(SMALL, position="learned"),
    "nope": dataclasses.replace(SMALL, position="none"),
    "post_norm": dataclasses.replace(SMALL, norm="post"),
    "no_norm": dataclasses.replace(SMALL, norm="none"),
    "silu_ffn": dataclasses.replace(SMALL, ffn="silu", d_ff=128),
    "three_layers_d_ff_40": dataclasses.replace(SMALL, num_layers=3, d_ff=40),
}


def _model(config: ModelConfig) -> torch.nn.Module:
    from cs336_basics.nn.transformer import TransformerLM

    torch.manual_seed(0)
    return TransformerLM(config, device="cpu", dtype=torch.float32)


def test_parameter_breakdown_of_debug_preset_matches_hand_count():
    # Worked by hand: V=512, d=64, 2 layers of 4 heads x 16, d_ff=128, pre-norm, RoPE, SwiGLU.
    # embeddings 512*64 + head 64*512 + 2 * (4 * 64*64 + 3 * 128*64 + 2 * 64) + final norm 64
    expected = 32768 + 32768 + 2 * (16384 + 24576 + 128) + 64
    assert accounting.count_parameters(MODEL_PRESETS["debug"]) == expected == 147_776


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_parameter_count_matches_sum_of_numel_of_real_model(name):
    config = VARIANTS[name]
    model = _model(config)
    real = {n: p.numel() for n, p in model.named_parameters()}
    assert accounting.count_parameters(config) == sum(real.values()), (
        f"{name}: accounting says {accounting.count_parameters(config)} parameters, the model has "
        f"{sum(real.values())}: {real}"
    )


def _counted_flops(model: torch.nn.Module, batch: int, seq_len: int, vocab: int) -> tuple[int, int]:
    ids = torch.randint(0, vocab, (batch, seq_len), generator=torch.Generator().manual_seed(0))
    with FlopCounterMode(display=False) as fwd_counter:
        logits = model(ids)
    with FlopCounterMode(display=False) as bwd_counter:
        logits.sum().backward()
    return fwd_counter.get_total_flops(), bwd_counter.get_total_flops()


@pytest.mark.parametrize("name", ["default", "wide_heads", "learned", "no_norm", "silu_ffn"])
@pytest.mark.parametrize("seq_len", [16, 11])
def test_forward_flops_match_flop_counter_mode(name, seq_len):
    config, batch = VARIANTS[name], 3
    forward, _ = _counted_flops(_model(config), batch, seq_len, config.vocab_size)
    expected = batch * accounting.forward_flops(config, seq_len)
    assert forward == expected, (
        f"{name}, seq_len={seq_len}: FlopCounterMode counts {forward} forward FLOPs, accounting says {expected} "
        f"({[(i.name, i.total) for i in accounting.forward_flops_breakdown(config, seq_len)]})"
    )


def test_backward_flops_are_twice_forward_as_the_handout_assumes():
    # Every matmul has two differentiable operands (weights, or activations that depend on weights),
    # so backward runs exactly two matmuls of the forward's size per forward matmul.
    forward, backward = _counted_flops(_model(SMALL), 2, 16, SMALL.vocab_size)
    assert backward == 2 * forward, f"backward {backward} FLOPs is not twice forward {forward}"
    assert accounting.training_flops_per_token(SMALL) * 16 == 3 * accounting.forward_flops(SMALL)


def test_forward_flops_per_token_equal_2n_plus_attention_term():
    # Identity behind the 6N rule: every matmul weight does one multiply-add per token (2N), and the
    # two seq x seq attention matmuls add 2 * 2 * T * (heads * head_dim) per layer per token.
    for config in VARIANTS.values():
        T = config.context_length
        attention = 4 * config.num_layers * T * config.num_heads * config.head_dim
        per_token = 2 * accounting.count_matmul_parameters(config) + attention
        assert accounting.forward_flops(config) == T * per_token


def test_memory_is_params_grads_two_moments_and_batch_scaled_activations():
    config = MODEL_PRESETS["debug"]
    n = accounting.count_parameters(config)
    one = {i.name: i.total for i in accounting.training_memory_bytes(config, batch_size=1, dtype_bytes=2)}
    eight = {i.name: i.total for i in accounting.training_memory_bytes(config, batch_size=8, dtype_bytes=2)}
    assert one["parameters"] == one["gradients"] == 2 * n
    assert one["AdamW state (m, v)"] == 4 * n
    assert eight["activations"] == 8 * one["activations"]
    # the attention score and probability matrices grow with T^2; halving T more than halves them
    full = accounting.total(accounting.activation_breakdown(config))
    half = accounting.total(accounting.activation_breakdown(config, config.context_length // 2))
    assert half < full / 2


def test_seq_len_outside_context_is_rejected():
    with pytest.raises(ValueError, match="context_length"):
        accounting.forward_flops(SMALL, SMALL.context_length + 1)


def test_cli_prints_the_parameter_total(capsys):
    from cs336_basics.training.cli import main

    assert main(["accounting", "--preset", "debug", "--set", "head_dim=64", "--dtype", "bfloat16"]) == 0
    out = capsys.readouterr().out
    wide = dataclasses.replace(MODEL_PRESETS["debug"], head_dim=64)
    assert f"{accounting.count_parameters(wide) / 1e3:.2f}k" in out
    assert "bfloat16" in out


def test_cli_rederives_d_ff_and_head_dim_when_sizes_change():
    from cs336_basics.training.commands.cost_table import model_config

    config = model_config("shakespeare", ["d_model=512", "num_heads=16"])
    assert (config.d_ff, config.head_dim) == (1344, 32)
    assert model_config("shakespeare", ["d_model=512", "d_ff=2048"]).d_ff == 2048
