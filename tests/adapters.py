"""Adapters: the tests call these hooks, and each hook calls your code in `cs336_basics`.

The tests reach your code ONLY through this file: lay out `cs336_basics` as you like, as long as the
hooks return what their docstrings say. Every hook takes and returns plain data (tensors, numpy arrays,
numbers, strings, bytes, paths, and lists/tuples/dicts of them); the exceptions are `get_tokenizer` and
`get_tokenizer_from_files`, whose tokenizer the tests use only through encode, decode and
encode_iterable, and `make_module`, which the tests use only inside tests/scenarios.py.

The first group of hooks is the official CS336 Spring 2025 interface: names, parameters and meaning
unchanged, so adapters written for it work here. The second group (after `run_train_bpe`) serves our
extra problems only (handout: the problems marked "extra"); leaving one unimplemented costs only the
extra problem that uses it.

Each hook imports what it needs inside its body, so a broken file in `cs336_basics` fails only the
tests of the problems that use it, not the whole suite.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import IO, Any, BinaryIO

import numpy.typing as npt
import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor


def run_linear(
    d_in: int,
    d_out: int,
    weights: Float[Tensor, " d_out d_in"],
    in_features: Float[Tensor, " ... d_in"],
) -> Float[Tensor, " ... d_out"]:
    """Apply a Linear module (no bias) with the given `weights` to `in_features`."""
    # BEGIN SOLUTION
    from cs336_basics.nn.layers import Linear

    layer = Linear(d_in, d_out, device=weights.device, dtype=weights.dtype)
    layer.load_state_dict({"weight": weights})
    return layer(in_features)
    # END SOLUTION


def run_embedding(
    vocab_size: int,
    d_model: int,
    weights: Float[Tensor, " vocab_size d_model"],
    token_ids: Int[Tensor, " ..."],
) -> Float[Tensor, " ... d_model"]:
    """Look up `token_ids` in an Embedding module holding `weights`."""
    # BEGIN SOLUTION
    from cs336_basics.nn.layers import Embedding

    layer = Embedding(vocab_size, d_model, device=weights.device, dtype=weights.dtype)
    layer.load_state_dict({"weight": weights})
    return layer(token_ids)
    # END SOLUTION


def run_swiglu(
    d_model: int,
    d_ff: int,
    w1_weight: Float[Tensor, " d_ff d_model"],
    w2_weight: Float[Tensor, " d_model d_ff"],
    w3_weight: Float[Tensor, " d_ff d_model"],
    in_features: Float[Tensor, " ... d_model"],
) -> Float[Tensor, " ... d_model"]:
    """Apply the SwiGLU feed-forward network W2(SiLU(W1 x) * W3 x) with the given weights."""
    # BEGIN SOLUTION
    from cs336_basics.nn.layers import SwiGLU

    ffn = SwiGLU(d_model, d_ff, device=w1_weight.device, dtype=w1_weight.dtype)
    ffn.load_state_dict({"w1.weight": w1_weight, "w2.weight": w2_weight, "w3.weight": w3_weight})
    return ffn(in_features)
    # END SOLUTION


def run_scaled_dot_product_attention(
    Q: Float[Tensor, " ... queries d_k"],
    K: Float[Tensor, " ... keys d_k"],
    V: Float[Tensor, " ... keys d_v"],
    mask: Bool[Tensor, " ... queries keys"] | None = None,
) -> Float[Tensor, " ... queries d_v"]:
    """Scaled dot-product attention; `mask[..., i, j]` is True where query i may attend to key j."""
    # BEGIN SOLUTION
    from cs336_basics.nn.functional import scaled_dot_product_attention

    return scaled_dot_product_attention(Q, K, V, mask)
    # END SOLUTION


def run_multihead_self_attention(
    d_model: int,
    num_heads: int,
    q_proj_weight: Float[Tensor, " d_k d_in"],
    k_proj_weight: Float[Tensor, " d_k d_in"],
    v_proj_weight: Float[Tensor, " d_v d_in"],
    o_proj_weight: Float[Tensor, " d_model d_v"],
    in_features: Float[Tensor, " ... sequence_length d_in"],
) -> Float[Tensor, " ... sequence_length d_out"]:
    """Causal multi-head self-attention without position information.

    The projection weights hold all heads stacked along their rows, ordered (head, head_dim).
    """
    # BEGIN SOLUTION
    return _multihead_self_attention(
        d_model, num_heads, q_proj_weight, k_proj_weight, v_proj_weight, o_proj_weight, in_features, rope=None
    )
    # END SOLUTION


def run_multihead_self_attention_with_rope(
    d_model: int,
    num_heads: int,
    max_seq_len: int,
    theta: float,
    q_proj_weight: Float[Tensor, " d_k d_in"],
    k_proj_weight: Float[Tensor, " d_k d_in"],
    v_proj_weight: Float[Tensor, " d_v d_in"],
    o_proj_weight: Float[Tensor, " d_model d_v"],
    in_features: Float[Tensor, " ... sequence_length d_in"],
    token_positions: Int[Tensor, " ... sequence_length"] | None = None,
) -> Float[Tensor, " ... sequence_length d_out"]:
    """Causal multi-head self-attention with RoPE applied to queries and keys (not values)."""
    # BEGIN SOLUTION
    from cs336_basics.nn.positional import RotaryPositionalEmbedding

    head_dim = q_proj_weight.shape[0] // num_heads
    rope = RotaryPositionalEmbedding(theta, head_dim, max_seq_len, device=in_features.device)
    return _multihead_self_attention(
        d_model,
        num_heads,
        q_proj_weight,
        k_proj_weight,
        v_proj_weight,
        o_proj_weight,
        in_features,
        rope=rope,
        token_positions=token_positions,
    )
    # END SOLUTION


# BEGIN SOLUTION
def _multihead_self_attention(
    d_model, num_heads, q_proj_weight, k_proj_weight, v_proj_weight, o_proj_weight, in_features, rope, token_positions=None
):
    from cs336_basics.nn.attention import MultiHeadSelfAttention

    head_dim = q_proj_weight.shape[0] // num_heads
    attn = MultiHeadSelfAttention(
        d_model, num_heads, head_dim=head_dim, rope=rope, device=q_proj_weight.device, dtype=q_proj_weight.dtype
    )
    attn.load_state_dict(
        {
            "q_proj.weight": q_proj_weight,
            "k_proj.weight": k_proj_weight,
            "v_proj.weight": v_proj_weight,
            "output_proj.weight": o_proj_weight,
        }
    )
    return attn(in_features, token_positions=token_positions)


# END SOLUTION


def run_rope(
    d_k: int,
    theta: float,
    max_seq_len: int,
    in_query_or_key: Float[Tensor, " ... sequence_length d_k"],
    token_positions: Int[Tensor, " ... sequence_length"],
) -> Float[Tensor, " ... sequence_length d_k"]:
    """Rotate the pairs (0,1), (2,3), ... of `in_query_or_key` by the angles of `token_positions`."""
    # BEGIN SOLUTION
    from cs336_basics.nn.positional import RotaryPositionalEmbedding

    rope = RotaryPositionalEmbedding(theta, d_k, max_seq_len, device=in_query_or_key.device)
    return rope(in_query_or_key, token_positions)
    # END SOLUTION


def run_sinusoidal_pe(
    d_model: int,
    max_seq_len: int,
    in_features: Float[Tensor, " ... sequence_length d_model"],
    token_positions: Int[Tensor, " ... sequence_length"] | None = None,
) -> Float[Tensor, " ... sequence_length d_model"]:
    """Add the sinusoidal position encoding (Vaswani et al. 2017, §3.5) to `in_features`.

    Positions default to 0, 1, ..., sequence_length - 1.
    """
    # BEGIN SOLUTION
    from cs336_basics.nn.positional import SinusoidalPositionalEncoding

    pe = SinusoidalPositionalEncoding(d_model, max_seq_len, device=in_features.device, dtype=in_features.dtype)
    return pe(in_features, token_positions)
    # END SOLUTION


def run_learned_pe(
    max_seq_len: int,
    d_model: int,
    weights: Float[Tensor, " max_seq_len d_model"],
    in_features: Float[Tensor, " ... sequence_length d_model"],
    token_positions: Int[Tensor, " ... sequence_length"] | None = None,
) -> Float[Tensor, " ... sequence_length d_model"]:
    """Add a learned absolute position embedding holding `weights` to `in_features`.

    Positions default to 0, 1, ..., sequence_length - 1.
    """
    # BEGIN SOLUTION
    from cs336_basics.nn.positional import LearnedPositionalEmbedding

    pe = LearnedPositionalEmbedding(max_seq_len, d_model, device=weights.device, dtype=weights.dtype)
    pe.load_state_dict({"weight": weights})
    return pe(in_features, token_positions)
    # END SOLUTION


def run_transformer_block(
    d_model: int,
    num_heads: int,
    d_ff: int,
    max_seq_len: int,
    theta: float,
    weights: dict[str, Tensor],
    in_features: Float[Tensor, " batch sequence_length d_model"],
) -> Float[Tensor, " batch sequence_length d_model"]:
    """Apply a pre-norm Transformer block (RoPE, SwiGLU) holding `weights` to `in_features`.

    `weights` has the keys attn.{q_proj,k_proj,v_proj,output_proj}.weight, ln1.weight,
    ffn.{w1,w2,w3}.weight and ln2.weight.
    """
    # BEGIN SOLUTION
    from cs336_basics.nn.positional import RotaryPositionalEmbedding
    from cs336_basics.nn.transformer import TransformerBlock

    device, dtype = in_features.device, weights["ln1.weight"].dtype
    rope = RotaryPositionalEmbedding(theta, d_model // num_heads, max_seq_len, device=device)
    block = TransformerBlock(d_model, num_heads, d_ff, rope=rope, device=device, dtype=dtype)
    block.load_state_dict(weights)
    return block(in_features)
    # END SOLUTION


def run_transformer_lm(
    vocab_size: int,
    context_length: int,
    d_model: int,
    num_layers: int,
    num_heads: int,
    d_ff: int,
    rope_theta: float,
    weights: dict[str, Tensor],
    in_indices: Int[Tensor, " batch_size sequence_length"],
) -> Float[Tensor, " batch_size sequence_length vocab_size"]:
    """Run the Transformer LM holding `weights` on `in_indices` and return unnormalised logits.

    `weights` has the keys token_embeddings.weight, layers.{i}.<block keys>, ln_final.weight and
    lm_head.weight.
    """
    # BEGIN SOLUTION
    model = _transformer_lm(
        vocab_size, context_length, d_model, num_layers, num_heads, d_ff, rope_theta,
        device=in_indices.device, dtype=weights["lm_head.weight"].dtype,
    )  # fmt: skip
    model.load_state_dict(weights)
    return model(in_indices)
    # END SOLUTION


def run_rmsnorm(
    d_model: int,
    eps: float,
    weights: Float[Tensor, " d_model"],
    in_features: Float[Tensor, " ... d_model"],
) -> Float[Tensor, " ... d_model"]:
    """Apply RMSNorm with gain `weights` to `in_features`."""
    # BEGIN SOLUTION
    from cs336_basics.nn.layers import RMSNorm

    norm = RMSNorm(d_model, eps=eps, device=weights.device, dtype=weights.dtype)
    norm.load_state_dict({"weight": weights})
    return norm(in_features)
    # END SOLUTION


def run_silu(in_features: Float[Tensor, " ..."]) -> Float[Tensor, " ..."]:
    """SiLU(x) = x * sigmoid(x), elementwise."""
    # BEGIN SOLUTION
    from cs336_basics.nn.functional import silu

    return silu(in_features)
    # END SOLUTION


def run_get_batch(
    dataset: npt.NDArray, batch_size: int, context_length: int, device: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample `batch_size` windows of `context_length` tokens (inputs) and the next-token targets."""
    # BEGIN SOLUTION
    from cs336_basics.data import get_batch

    return get_batch(dataset, batch_size, context_length, device)
    # END SOLUTION


def run_softmax(in_features: Float[Tensor, " ..."], dim: int) -> Float[Tensor, " ..."]:
    """Numerically stable softmax of `in_features` along `dim`."""
    # BEGIN SOLUTION
    from cs336_basics.nn.functional import softmax

    return softmax(in_features, dim)
    # END SOLUTION


def run_cross_entropy(
    inputs: Float[Tensor, " ... vocab_size"], targets: Int[Tensor, " ..."]
) -> Float[Tensor, ""]:
    """Mean cross-entropy of the logits `inputs` against the target ids `targets`."""
    # BEGIN SOLUTION
    from cs336_basics.nn.loss import cross_entropy

    return cross_entropy(inputs, targets)
    # END SOLUTION


def run_gradient_clipping(parameters: Iterable[torch.nn.Parameter], max_l2_norm: float) -> None:
    """Scale the gradients of `parameters` in place so their global L2 norm is at most `max_l2_norm`."""
    # BEGIN SOLUTION
    from cs336_basics.optim.clipping import clip_gradients

    clip_gradients(parameters, max_l2_norm)
    # END SOLUTION


def get_adamw_cls() -> Any:
    """Return your AdamW optimiser class (a torch.optim.Optimizer subclass)."""
    # BEGIN SOLUTION
    from cs336_basics.optim.adamw import AdamW

    return AdamW
    # END SOLUTION


def run_get_lr_cosine_schedule(
    it: int,
    max_learning_rate: float,
    min_learning_rate: float,
    warmup_iters: int,
    cosine_cycle_iters: int,
) -> float:
    """Learning rate at iteration `it` of the cosine schedule with linear warm-up."""
    # BEGIN SOLUTION
    from cs336_basics.optim.schedule import get_lr_cosine_schedule

    return get_lr_cosine_schedule(it, max_learning_rate, min_learning_rate, warmup_iters, cosine_cycle_iters)
    # END SOLUTION


def run_save_checkpoint(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    iteration: int,
    out: str | os.PathLike | BinaryIO | IO[bytes],
) -> None:
    """Save the model, the optimizer and the iteration number to `out` (a path or a binary file)."""
    # BEGIN SOLUTION
    from cs336_basics.checkpoint import save_checkpoint

    save_checkpoint(model, optimizer, iteration, out)
    # END SOLUTION


def run_load_checkpoint(
    src: str | os.PathLike | BinaryIO | IO[bytes],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
) -> int:
    """Restore `model` and `optimizer` from `src` and return the saved iteration number."""
    # BEGIN SOLUTION
    from cs336_basics.checkpoint import load_checkpoint

    return load_checkpoint(src, model, optimizer)
    # END SOLUTION


def get_tokenizer(
    vocab: dict[int, bytes],
    merges: list[tuple[bytes, bytes]],
    special_tokens: list[str] | None = None,
) -> Any:
    """Return your BPE Tokenizer built from `vocab`, `merges` and `special_tokens`."""
    # BEGIN SOLUTION
    from cs336_basics.tokenizer.tokenizer import Tokenizer

    return Tokenizer(vocab, merges, special_tokens)
    # END SOLUTION


def run_train_bpe(
    input_path: str | os.PathLike,
    vocab_size: int,
    special_tokens: list[str],
    **kwargs,
) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """Train a byte-level BPE tokenizer on the text file `input_path`.

    Returns the vocabulary (id -> bytes: the special tokens, the 256 single bytes and one token per
    merge, with ids in any order) and the merges in the order they were made. The tests pass no extra
    keyword arguments.
    """
    # BEGIN SOLUTION
    from cs336_basics.tokenizer.train_bpe import train_bpe

    return train_bpe(input_path, vocab_size, special_tokens, **kwargs)
    # END SOLUTION


# ---------------------------------------------------------------- hooks of the extra problems


def run_multihead_self_attention_with_head_dim(
    d_model: int,
    num_heads: int,
    head_dim: int,
    q_proj_weight: Float[Tensor, " heads_x_head_dim d_model"],
    k_proj_weight: Float[Tensor, " heads_x_head_dim d_model"],
    v_proj_weight: Float[Tensor, " heads_x_head_dim d_model"],
    o_proj_weight: Float[Tensor, " d_model heads_x_head_dim"],
    in_features: Float[Tensor, " ... sequence_length d_model"],
    token_positions: Int[Tensor, " ... sequence_length"] | None = None,
    theta: float | None = None,
    max_seq_len: int | None = None,
) -> Float[Tensor, " ... sequence_length d_model"]:
    """Causal multi-head self-attention whose heads have width `head_dim` (not necessarily
    d_model / num_heads; head_dim = d_model gives "wide" heads), extra problem `attention_extras`.

    The projections hold num_heads * head_dim rows (q, k, v) or columns (o), ordered (head, head_dim).
    With `theta` (and `max_seq_len`) given, RoPE of width head_dim rotates queries and keys at
    `token_positions` (None: 0 .. sequence_length - 1); with theta None there is no position information.
    """
    # BEGIN SOLUTION
    from cs336_basics.nn.positional import RotaryPositionalEmbedding

    rope = None
    if theta is not None:
        rope = RotaryPositionalEmbedding(theta, head_dim, max_seq_len, device=in_features.device)
    # the stacked projections have num_heads * head_dim rows: the shared helper reads head_dim from them
    return _multihead_self_attention(
        d_model, num_heads, q_proj_weight, k_proj_weight, v_proj_weight, o_proj_weight, in_features,
        rope=rope, token_positions=token_positions,
    )  # fmt: skip
    # END SOLUTION


def run_transformer_lm_ablation(
    vocab_size: int,
    context_length: int,
    d_model: int,
    num_layers: int,
    num_heads: int,
    d_ff: int,
    rope_theta: float,
    weights: dict[str, Tensor],
    in_indices: Int[Tensor, " batch_size sequence_length"],
    position: str = "rope",
    norm: str = "pre",
    ffn: str = "swiglu",
) -> Float[Tensor, " batch_size sequence_length vocab_size"]:
    """`run_transformer_lm` with the ablation switches of the handout (extra problem `lm_ablations`).

    position: "rope" | "sinusoidal" (added to the embeddings) | "learned" (added; weight key
    `position_embeddings.weight`, shape (context_length, d_model)) | "none".
    norm: "pre" | "post" (ln1/ln2 after each residual add, no ln_final) | "none" (no norms at all).
    ffn: "swiglu" | "silu" (W2 SiLU(W1 x): keys ffn.w1.weight and ffn.w2.weight only).
    """
    # BEGIN SOLUTION
    model = _transformer_lm(
        vocab_size, context_length, d_model, num_layers, num_heads, d_ff, rope_theta, position, norm, ffn,
        device=in_indices.device, dtype=weights["lm_head.weight"].dtype,
    )  # fmt: skip
    model.load_state_dict(weights)
    return model(in_indices)
    # END SOLUTION


def run_transformer_lm_with_kv_cache(
    vocab_size: int,
    context_length: int,
    d_model: int,
    num_layers: int,
    num_heads: int,
    d_ff: int,
    rope_theta: float,
    weights: dict[str, Tensor],
    in_indices: Int[Tensor, " batch_size sequence_length"],
    chunk_sizes: list[int],
) -> Float[Tensor, " batch_size sequence_length vocab_size"]:
    """Decode `in_indices` chunk by chunk with a key/value cache (extra problem `kv_cache`).

    Feed the model in_indices[:, 0:chunk_sizes[0]], then the next chunk_sizes[1] tokens, ..., each call
    seeing only its new tokens plus the cached keys and values of the earlier ones (positions continue
    after the cached tokens); return the logits of every call concatenated along the sequence axis. They
    must equal `run_transformer_lm` on the whole input. sum(chunk_sizes) == sequence_length.
    """
    # BEGIN SOLUTION
    from cs336_basics.nn.kv_cache import KVCache

    model = _transformer_lm(
        vocab_size, context_length, d_model, num_layers, num_heads, d_ff, rope_theta,
        device=in_indices.device, dtype=weights["lm_head.weight"].dtype,
    )  # fmt: skip
    model.load_state_dict(weights)
    cache = KVCache.for_model(model, batch_size=in_indices.shape[0])
    pieces, start = [], 0
    with torch.no_grad():
        for size in chunk_sizes:
            pieces.append(model(in_indices[:, start : start + size], kv_cache=cache))
            start += size
    return torch.cat(pieces, dim=1)
    # END SOLUTION


# BEGIN SOLUTION
def _transformer_lm(
    vocab_size, context_length, d_model, num_layers, num_heads, d_ff, rope_theta,
    position="rope", norm="pre", ffn="swiglu", head_dim=None, device=None, dtype=None,
):  # fmt: skip
    from cs336_basics.training.config import ModelConfig
    from cs336_basics.nn.transformer import TransformerLM

    config = ModelConfig(
        vocab_size=vocab_size,
        context_length=context_length,
        d_model=d_model,
        num_layers=num_layers,
        num_heads=num_heads,
        d_ff=d_ff,
        rope_theta=rope_theta,
        head_dim=head_dim,
        position=position,
        norm=norm,
        ffn=ffn,
    )
    return TransformerLM(config, device=device, dtype=dtype)


# END SOLUTION


def make_module(name: str, **kwargs) -> torch.nn.Module:
    """A freshly initialised module of yours (float32, on the CPU), for the checks of parameter names,
    shapes and initialisation (extra problems `module_init`, `learned_pe`, `sinusoidal_pe`, `lm_ablations`,
    `input_validation`).

    `name` and its keyword arguments (the config arguments of the hook of the same module):
      "linear": d_in, d_out                  -> state dict {"weight": (d_out, d_in)}
      "embedding": vocab_size, d_model       -> {"weight": (vocab_size, d_model)}
      "rmsnorm": d_model, eps                -> {"weight": (d_model,)}
      "swiglu": d_model, d_ff                -> {"w1.weight", "w2.weight", "w3.weight"}
      "silu_ffn": d_model, d_ff              -> {"w1.weight": (d_ff, d_model), "w2.weight": (d_model, d_ff)}
      "rope": d_k, theta, max_seq_len        -> no parameters and an empty state dict
      "sinusoidal_pe": d_model, max_seq_len  -> no parameters and an empty state dict
      "learned_pe": max_seq_len, d_model     -> {"weight": (max_seq_len, d_model)}
      "transformer_block": d_model, num_heads, d_ff, max_seq_len, theta  -> the keys of run_transformer_block
      "transformer_lm": vocab_size, context_length, d_model, num_layers, num_heads, d_ff, rope_theta, and
          optionally position, norm, ffn (as in run_transformer_lm_ablation) -> the keys of run_transformer_lm
    The module's forward takes what the hook of the same name passes (for "rope": x and token_positions;
    for the position encodings: x and optional token_positions).
    """
    # BEGIN SOLUTION
    from cs336_basics.nn import layers, positional
    from cs336_basics.nn.transformer import TransformerBlock

    k = kwargs
    if name == "linear":
        return layers.Linear(k["d_in"], k["d_out"])
    if name == "embedding":
        return layers.Embedding(k["vocab_size"], k["d_model"])
    if name == "rmsnorm":
        return layers.RMSNorm(k["d_model"], eps=k.get("eps", 1e-5))
    if name == "swiglu":
        return layers.SwiGLU(k["d_model"], k["d_ff"])
    if name == "silu_ffn":
        return layers.SiLUFeedForward(k["d_model"], k["d_ff"])
    if name == "rope":
        return positional.RotaryPositionalEmbedding(k["theta"], k["d_k"], k["max_seq_len"])
    if name == "sinusoidal_pe":
        return positional.SinusoidalPositionalEncoding(k["d_model"], k["max_seq_len"])
    if name == "learned_pe":
        return positional.LearnedPositionalEmbedding(k["max_seq_len"], k["d_model"])
    if name == "transformer_block":
        rope = positional.RotaryPositionalEmbedding(k["theta"], k["d_model"] // k["num_heads"], k["max_seq_len"])
        return TransformerBlock(k["d_model"], k["num_heads"], k["d_ff"], rope=rope)
    if name == "transformer_lm":
        return _transformer_lm(**k)
    raise ValueError(f"make_module: unknown module name {name!r}")
    # END SOLUTION


def run_save_tokenizer(
    vocab: dict[int, bytes],
    merges: list[tuple[bytes, bytes]],
    special_tokens: list[str] | None,
    directory: str | os.PathLike,
) -> tuple[str | os.PathLike, str | os.PathLike]:
    """Save the tokenizer built from `vocab`, `merges` and `special_tokens` into the (existing, empty)
    `directory` in your own file format; return (vocab_filepath, merges_filepath) for
    `get_tokenizer_from_files` (extra problem `tokenizer_files`)."""
    # BEGIN SOLUTION
    from pathlib import Path

    from cs336_basics.tokenizer.tokenizer import Tokenizer

    vocab_path, merges_path = Path(directory) / "vocab.json", Path(directory) / "merges.txt"
    Tokenizer(vocab, merges, special_tokens).save(vocab_path, merges_path)
    return vocab_path, merges_path
    # END SOLUTION


def get_tokenizer_from_files(
    vocab_filepath: str | os.PathLike,
    merges_filepath: str | os.PathLike,
    special_tokens: list[str] | None = None,
) -> Any:
    """Your Tokenizer loaded (`Tokenizer.from_files`) from the files that `run_save_tokenizer` wrote."""
    # BEGIN SOLUTION
    from cs336_basics.tokenizer.tokenizer import Tokenizer

    return Tokenizer.from_files(vocab_filepath, merges_filepath, special_tokens)
    # END SOLUTION


def run_encode_file(
    vocab: dict[int, bytes],
    merges: list[tuple[bytes, bytes]],
    special_tokens: list[str] | None,
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    num_processes: int,
) -> None:
    """Encode the UTF-8 text file `input_path` with the tokenizer of `vocab`/`merges`/`special_tokens`
    into a 1-D `.npy` array at `output_path` (uint16 when every id < 65536, else uint32), using
    `num_processes` processes, leaving no other file behind (extra problem `tokenizer_files`)."""
    # BEGIN SOLUTION
    from cs336_basics.tokenizer.tokenizer import Tokenizer

    Tokenizer(vocab, merges, special_tokens).encode_file(input_path, output_path, num_processes=num_processes, progress=False)
    # END SOLUTION


def run_train_bpe_parallel(
    input_path: str | os.PathLike,
    vocab_size: int,
    special_tokens: list[str],
    num_processes: int,
) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """`run_train_bpe` with pre-tokenisation split over `num_processes` processes; the result must be the
    same as with one process (extra problem `train_bpe_parallel`)."""
    # BEGIN SOLUTION
    from cs336_basics.tokenizer.train_bpe import train_bpe

    return train_bpe(input_path, vocab_size, special_tokens, num_processes=num_processes)
    # END SOLUTION
