"""Resource accounting for the Transformer LM: parameters, matmul FLOPs and training memory.

Pure functions of a `ModelConfig` (plus sequence length, batch size and bytes per number where they
matter). They mirror `cs336_basics.nn.transformer.TransformerLM` piece by piece, so they can be checked
against the real model (`sum(p.numel())`) and against `torch.utils.flop_counter.FlopCounterMode`.

Conventions (also stated in handout.md, "Resource accounting"):
- A matmul of an (m x k) by a (k x n) matrix costs 2*m*n*k FLOPs (one multiply and one add per term).
  Only matmuls are counted: norms, softmax, SiLU, RoPE rotations, residual adds and the embedding lookup
  are O(seq * d_model) elementwise work, small next to the O(seq * d_model^2) matmuls.
- Attention scores and the weighted sum are counted over the full seq x seq square, as a plain
  implementation computes them (the causal mask hides half but does not skip the work).
- Backward costs twice the forward: each matmul y = x W needs dL/dx = dL/dy W^T and dL/dW = x^T dL/dy,
  two matmuls of the same size (Kaplan et al. 2020, §2.1). Training is therefore 3x the forward.
- Training memory = parameters + gradients + AdamW state (two moments per parameter, Loshchilov &
  Hutter 2019) + activations, all in the same dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

from cs336_basics.training.config import ModelConfig


@dataclass(frozen=True)
class Item:
    """One line of an accounting table: `count` for one copy of a component, `copies` of it."""

    name: str
    count: int
    copies: int = 1

    @property
    def total(self) -> int:
        return self.count * self.copies


def total(items: list[Item]) -> int:
    """Sum of `item.total` over a breakdown. Example: total([Item("a", 3, copies=2)]) -> 6."""
    return sum(item.total for item in items)


def _attn_width(config: ModelConfig) -> int:
    """Width of the concatenated heads, num_heads * head_dim (= d_model for the usual narrow heads)."""
    return config.num_heads * config.head_dim


def has_final_norm(config: ModelConfig) -> bool:
    """Whether the LM applies `ln_final` before the head: only pre-norm needs it, because a pre-norm
    residual stream is never normalised at the end of a block (Xiong et al. 2020); post-norm blocks end
    with a norm already and the no-norm ablation has none at all."""
    return config.norm == "pre"


def parameter_breakdown(config: ModelConfig) -> list[Item]:
    """Parameter count per component; per-layer components have `copies = num_layers`.

    Example: the "debug" preset (V=512, d=64, 2 layers, d_ff=128) has token_embeddings 512*64 = 32768 and
    attn.q_proj 64*64 = 4096 with copies=2.
    """
    # BEGIN SOLUTION
    d, a, f, L, V = config.d_model, _attn_width(config), config.d_ff, config.num_layers, config.vocab_size
    items = [Item("token_embeddings", V * d)]
    if config.position == "learned":
        # rope and sinusoidal hold fixed (non-trainable) tables, none holds nothing
        items.append(Item("position_embeddings", config.context_length * d))
    items += [
        Item("attn.q_proj", a * d, L),
        Item("attn.k_proj", a * d, L),
        Item("attn.v_proj", a * d, L),
        Item("attn.output_proj", d * a, L),
        Item("ffn.w1", f * d, L),
        Item("ffn.w2", d * f, L),
    ]
    if config.ffn == "swiglu":
        items.append(Item("ffn.w3", f * d, L))  # the gate's second projection (Shazeer 2020)
    if config.norm != "none":
        items += [Item("ln1", d, L), Item("ln2", d, L)]
    if has_final_norm(config):
        items.append(Item("ln_final", d))
    items.append(Item("lm_head", V * d))  # untied from token_embeddings, as in the CS336 layout
    return items
    # END SOLUTION


def count_parameters(config: ModelConfig) -> int:
    """Total trainable parameters; equals sum(p.numel() for p in TransformerLM(config).parameters())."""
    return total(parameter_breakdown(config))


def count_matmul_parameters(config: ModelConfig) -> int:
    """Parameters that multiply activations in a matmul: all but the embedding tables and norm gains.

    These are the "N" of the rule forward FLOPs per token ≈ 2N (Kaplan et al. 2020), since each such
    weight takes part in one multiply-add per token.
    """
    lookups = {"token_embeddings", "position_embeddings", "ln1", "ln2", "ln_final"}
    return sum(item.total for item in parameter_breakdown(config) if item.name not in lookups)


def forward_flops_breakdown(config: ModelConfig, seq_len: int | None = None) -> list[Item]:
    """Matmul FLOPs of one forward pass over one sequence of `seq_len` tokens (default: the context).

    Example: for d_model=64, 4 heads of 16, seq_len=32, attn.scores costs 2 * 4 * 32 * 32 * 16 = 262144
    per layer.
    """
    T = config.context_length if seq_len is None else seq_len
    if not 0 < T <= config.context_length:
        raise ValueError(f"seq_len must be in [1, context_length={config.context_length}], got {seq_len}")
    # BEGIN SOLUTION
    d, a, f, L, V = config.d_model, _attn_width(config), config.d_ff, config.num_layers, config.vocab_size
    h, dh = config.num_heads, config.head_dim
    items = [
        Item("attn.q_proj", 2 * T * d * a, L),
        Item("attn.k_proj", 2 * T * d * a, L),
        Item("attn.v_proj", 2 * T * d * a, L),
        Item("attn.scores (Q K^T)", 2 * h * T * T * dh, L),
        Item("attn.weighted_sum (P V)", 2 * h * T * T * dh, L),
        Item("attn.output_proj", 2 * T * a * d, L),
        Item("ffn.w1", 2 * T * d * f, L),
    ]
    if config.ffn == "swiglu":
        items.append(Item("ffn.w3", 2 * T * d * f, L))
    items += [Item("ffn.w2", 2 * T * f * d, L), Item("lm_head", 2 * T * d * V)]
    return items
    # END SOLUTION


def forward_flops(config: ModelConfig, seq_len: int | None = None) -> int:
    """Matmul FLOPs of one forward pass over one sequence (see `forward_flops_breakdown`)."""
    return total(forward_flops_breakdown(config, seq_len))


def training_flops_per_token(config: ModelConfig, seq_len: int | None = None) -> int:
    """Forward + backward matmul FLOPs per token at `seq_len`: 3x the forward (backward = 2x forward)."""
    T = config.context_length if seq_len is None else seq_len
    return 3 * forward_flops(config, T) // T


def activation_breakdown(config: ModelConfig, seq_len: int | None = None) -> list[Item]:
    """Numbers stored for the backward pass, for one sequence of `seq_len` tokens.

    Assumption (a plain, non-fused implementation without recomputation): autograd keeps the output of
    every named step below, each counted once; temporaries inside RMSNorm, softmax and SiLU are not
    counted separately, and neither are the integer token ids or the boolean mask. Real implementations
    keep somewhat more or less; the point is which terms grow with seq_len^2 (scores) and with V (logits).
    """
    # BEGIN SOLUTION
    T = config.context_length if seq_len is None else seq_len
    d, a, f, L, V, h = config.d_model, _attn_width(config), config.d_ff, config.num_layers, config.vocab_size, config.num_heads
    items = [Item("token embedding output", T * d)]
    if config.position in ("sinusoidal", "learned"):
        items.append(Item("embedding + position", T * d))
    if config.norm != "none":
        items.append(Item("ln1 output", T * d, L))
    items.append(Item("q, k, v projections", 3 * T * a, L))
    if config.position == "rope":
        items.append(Item("rotated q, k", 2 * T * a, L))
    items += [
        Item("attention scores", h * T * T, L),
        Item("attention probabilities", h * T * T, L),
        Item("weighted sum (heads concatenated)", T * a, L),
        Item("output projection", T * d, L),
        Item("residual add (attention)", T * d, L),
    ]
    if config.norm != "none":
        items.append(Item("ln2 output", T * d, L))
    gated = config.ffn == "swiglu"
    items += [
        Item("ffn w1 (and w3) outputs", (2 if gated else 1) * T * f, L),
        Item("ffn SiLU (and gate product)", (2 if gated else 1) * T * f, L),
        Item("ffn w2 output", T * d, L),
        Item("residual add (ffn)", T * d, L),
    ]
    if has_final_norm(config):
        items.append(Item("ln_final output", T * d))
    items += [Item("logits", T * V), Item("log-softmax for the loss", T * V)]
    return items
    # END SOLUTION


def training_memory_bytes(
    config: ModelConfig, batch_size: int, dtype_bytes: int = 4, seq_len: int | None = None
) -> list[Item]:
    """Bytes held during an AdamW training step: parameters, gradients, optimizer state, activations.

    Example: a model of N parameters in float32 needs 4N (params) + 4N (grads) + 8N (AdamW m and v) bytes
    before activations, which add batch_size * sum(activation_breakdown) * dtype_bytes.
    """
    if batch_size <= 0 or dtype_bytes <= 0:
        raise ValueError(f"batch_size and dtype_bytes must be positive, got {batch_size} and {dtype_bytes}")
    n = count_parameters(config)
    acts = total(activation_breakdown(config, seq_len))
    return [
        Item("parameters", n * dtype_bytes),
        Item("gradients", n * dtype_bytes),
        Item("AdamW state (m, v)", 2 * n * dtype_bytes),
        Item("activations", acts * dtype_bytes, batch_size),
    ]
