"""Adapters of the alt submission: each hook builds a module of this submission's cs336_basics and runs it."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import IO, Any, BinaryIO

import numpy.typing as npt
import torch
from torch import Tensor


def _load(module: torch.nn.Module, weights: dict[str, Tensor]) -> torch.nn.Module:
    module.load_state_dict(weights)
    return module


def run_linear(d_in: int, d_out: int, weights: Tensor, in_features: Tensor) -> Tensor:
    from cs336_basics.layers import Lin

    return _load(Lin(d_in, d_out, weights.device, weights.dtype), {"weight": weights})(in_features)


def run_embedding(vocab_size: int, d_model: int, weights: Tensor, token_ids: Tensor) -> Tensor:
    from cs336_basics.layers import Embed

    return _load(Embed(vocab_size, d_model, weights.device, weights.dtype), {"weight": weights})(token_ids)


def run_swiglu(d_model: int, d_ff: int, w1_weight: Tensor, w2_weight: Tensor, w3_weight: Tensor, in_features: Tensor) -> Tensor:
    from cs336_basics.layers import GatedFFN

    ffn = GatedFFN(d_model, d_ff, w1_weight.device, w1_weight.dtype)
    return _load(ffn, {"w1.weight": w1_weight, "w2.weight": w2_weight, "w3.weight": w3_weight})(in_features)


def run_scaled_dot_product_attention(Q: Tensor, K: Tensor, V: Tensor, mask: Tensor | None = None) -> Tensor:
    from cs336_basics.model import attention

    return attention(Q, K, V, mask)


def _mha(d_model, num_heads, head_dim, q, k, v, o, x, rope=None, token_positions=None):
    from cs336_basics.model import CausalSelfAttention

    attn = CausalSelfAttention(d_model, num_heads, head_dim, rope, q.device, q.dtype)
    _load(attn, {"q_proj.weight": q, "k_proj.weight": k, "v_proj.weight": v, "output_proj.weight": o})
    return attn(x, token_positions)


def run_multihead_self_attention(d_model: int, num_heads: int, q_proj_weight: Tensor, k_proj_weight: Tensor,
                                 v_proj_weight: Tensor, o_proj_weight: Tensor, in_features: Tensor) -> Tensor:
    return _mha(d_model, num_heads, None, q_proj_weight, k_proj_weight, v_proj_weight, o_proj_weight, in_features)


def run_multihead_self_attention_with_rope(d_model: int, num_heads: int, max_seq_len: int, theta: float,
                                           q_proj_weight: Tensor, k_proj_weight: Tensor, v_proj_weight: Tensor,
                                           o_proj_weight: Tensor, in_features: Tensor,
                                           token_positions: Tensor | None = None) -> Tensor:
    from cs336_basics.layers import Rotary

    rope = Rotary(theta, d_model // num_heads, max_seq_len, in_features.device)
    return _mha(d_model, num_heads, None, q_proj_weight, k_proj_weight, v_proj_weight, o_proj_weight, in_features,
                rope, token_positions)


def run_multihead_self_attention_with_head_dim(d_model: int, num_heads: int, head_dim: int, q_proj_weight: Tensor,
                                               k_proj_weight: Tensor, v_proj_weight: Tensor, o_proj_weight: Tensor,
                                               in_features: Tensor, token_positions: Tensor | None = None,
                                               theta: float | None = None, max_seq_len: int | None = None) -> Tensor:
    from cs336_basics.layers import Rotary

    rope = None
    if theta is not None:
        rope = Rotary(theta, head_dim, max_seq_len or in_features.shape[-2], in_features.device)
    return _mha(d_model, num_heads, head_dim, q_proj_weight, k_proj_weight, v_proj_weight, o_proj_weight, in_features,
                rope, token_positions)


def run_rope(d_k: int, theta: float, max_seq_len: int, in_query_or_key: Tensor, token_positions: Tensor) -> Tensor:
    from cs336_basics.layers import Rotary

    return Rotary(theta, d_k, max_seq_len, in_query_or_key.device)(in_query_or_key, token_positions)


def run_sinusoidal_pe(d_model: int, max_seq_len: int, in_features: Tensor, token_positions: Tensor | None = None) -> Tensor:
    from cs336_basics.layers import SinusoidalPE

    return SinusoidalPE(d_model, max_seq_len, in_features.device, in_features.dtype)(in_features, token_positions)


def run_learned_pe(max_seq_len: int, d_model: int, weights: Tensor, in_features: Tensor,
                   token_positions: Tensor | None = None) -> Tensor:
    from cs336_basics.layers import LearnedPE

    pe = _load(LearnedPE(max_seq_len, d_model, weights.device, weights.dtype), {"weight": weights})
    return pe(in_features, token_positions)


def run_transformer_block(d_model: int, num_heads: int, d_ff: int, max_seq_len: int, theta: float,
                          weights: dict[str, Tensor], in_features: Tensor) -> Tensor:
    from cs336_basics.layers import Rotary
    from cs336_basics.model import Block

    dtype = weights["ln1.weight"].dtype
    rope = Rotary(theta, d_model // num_heads, max_seq_len, in_features.device)
    block = Block(d_model, num_heads, d_ff, rope, device=in_features.device, dtype=dtype)
    return _load(block, weights)(in_features)


def _lm(vocab_size, context_length, d_model, num_layers, num_heads, d_ff, rope_theta, weights, device,
        position="rope", norm="pre", ffn="swiglu"):
    from cs336_basics.model import DecoderLM

    dtype = weights["lm_head.weight"].dtype
    model = DecoderLM(vocab_size, context_length, d_model, num_layers, num_heads, d_ff, rope_theta,
                      position=position, norm=norm, ffn=ffn, device=device, dtype=dtype)
    return _load(model, weights)


def run_transformer_lm(vocab_size: int, context_length: int, d_model: int, num_layers: int, num_heads: int, d_ff: int,
                       rope_theta: float, weights: dict[str, Tensor], in_indices: Tensor) -> Tensor:
    model = _lm(vocab_size, context_length, d_model, num_layers, num_heads, d_ff, rope_theta, weights, in_indices.device)
    return model(in_indices)


def run_transformer_lm_ablation(vocab_size: int, context_length: int, d_model: int, num_layers: int, num_heads: int,
                                d_ff: int, rope_theta: float, weights: dict[str, Tensor], in_indices: Tensor,
                                position: str = "rope", norm: str = "pre", ffn: str = "swiglu") -> Tensor:
    model = _lm(vocab_size, context_length, d_model, num_layers, num_heads, d_ff, rope_theta, weights, in_indices.device,
                position, norm, ffn)
    return model(in_indices)


def run_transformer_lm_with_kv_cache(vocab_size: int, context_length: int, d_model: int, num_layers: int,
                                     num_heads: int, d_ff: int, rope_theta: float, weights: dict[str, Tensor],
                                     in_indices: Tensor, chunk_sizes: list[int], **ablation) -> Tensor:
    model = _lm(vocab_size, context_length, d_model, num_layers, num_heads, d_ff, rope_theta, weights, in_indices.device,
                **ablation)
    cache = model.new_cache()
    outputs, start = [], 0
    with torch.no_grad():
        for size in chunk_sizes:
            outputs.append(model(in_indices[:, start : start + size], cache))
            start += size
    return torch.cat(outputs, dim=1)


def make_module(name: str, **kwargs) -> torch.nn.Module:
    """A fresh module of this submission, configured with the hook's config arguments."""
    from cs336_basics import layers, model

    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    if name == "linear":
        return layers.Lin(kwargs["d_in"], kwargs["d_out"], device, dtype)
    if name == "embedding":
        return layers.Embed(kwargs["vocab_size"], kwargs["d_model"], device, dtype)
    if name == "rmsnorm":
        return layers.RMS(kwargs["d_model"], kwargs.get("eps", 1e-5), device, dtype)
    if name == "swiglu":
        return layers.GatedFFN(kwargs["d_model"], kwargs["d_ff"], device, dtype)
    if name == "silu_ffn":
        return layers.PlainFFN(kwargs["d_model"], kwargs["d_ff"], device, dtype)
    if name == "rope":
        return layers.Rotary(kwargs["theta"], kwargs["d_k"], kwargs["max_seq_len"], device)
    if name == "sinusoidal_pe":
        return layers.SinusoidalPE(kwargs["d_model"], kwargs["max_seq_len"], device, dtype)
    if name == "learned_pe":
        return layers.LearnedPE(kwargs["max_seq_len"], kwargs["d_model"], device, dtype)
    if name == "transformer_block":
        d_model, num_heads = kwargs["d_model"], kwargs["num_heads"]
        rope = layers.Rotary(kwargs["theta"], d_model // num_heads, kwargs["max_seq_len"], device)
        return model.Block(d_model, num_heads, kwargs["d_ff"], rope, device=device, dtype=dtype)
    if name == "transformer_lm":
        return model.DecoderLM(**kwargs, device=device, dtype=dtype)
    raise KeyError(f"make_module: unknown module {name!r}")


def run_rmsnorm(d_model: int, eps: float, weights: Tensor, in_features: Tensor) -> Tensor:
    from cs336_basics.layers import RMS

    return _load(RMS(d_model, eps, weights.device, weights.dtype), {"weight": weights})(in_features)


def run_silu(in_features: Tensor) -> Tensor:
    from cs336_basics.layers import silu

    return silu(in_features)


def run_get_batch(dataset: npt.NDArray, batch_size: int, context_length: int, device: str) -> tuple[Tensor, Tensor]:
    from cs336_basics.training_utils import sample_batch

    return sample_batch(dataset, batch_size, context_length, device)


def run_softmax(in_features: Tensor, dim: int) -> Tensor:
    from cs336_basics.layers import softmax

    return softmax(in_features, dim)


def run_cross_entropy(inputs: Tensor, targets: Tensor) -> Tensor:
    from cs336_basics.training_utils import cross_entropy

    return cross_entropy(inputs, targets)


def run_gradient_clipping(parameters: Iterable[torch.nn.Parameter], max_l2_norm: float) -> None:
    from cs336_basics.optimizer import clip_grad_norm

    clip_grad_norm(parameters, max_l2_norm)


def get_adamw_cls() -> Any:
    from cs336_basics.optimizer import DecoupledAdam

    return DecoupledAdam


def run_get_lr_cosine_schedule(it: int, max_learning_rate: float, min_learning_rate: float, warmup_iters: int,
                               cosine_cycle_iters: int) -> float:
    from cs336_basics.optimizer import cosine_lr

    return cosine_lr(it, max_learning_rate, min_learning_rate, warmup_iters, cosine_cycle_iters)


def run_save_checkpoint(model: torch.nn.Module, optimizer: torch.optim.Optimizer, iteration: int,
                        out: str | os.PathLike | BinaryIO | IO[bytes]) -> None:
    from cs336_basics.training_utils import save_checkpoint

    save_checkpoint(model, optimizer, iteration, out)


def run_load_checkpoint(src: str | os.PathLike | BinaryIO | IO[bytes], model: torch.nn.Module,
                        optimizer: torch.optim.Optimizer) -> int:
    from cs336_basics.training_utils import load_checkpoint

    return load_checkpoint(src, model, optimizer)


def get_tokenizer(vocab: dict[int, bytes], merges: list[tuple[bytes, bytes]], special_tokens: list[str] | None = None) -> Any:
    from cs336_basics.tok import BPETokenizer

    return BPETokenizer(vocab, merges, special_tokens)


def get_tokenizer_from_files(vocab_filepath, merges_filepath, special_tokens=None) -> Any:
    from cs336_basics.tok import BPETokenizer

    return BPETokenizer.from_files(vocab_filepath, merges_filepath, special_tokens)


def run_save_tokenizer(vocab, merges, special_tokens, directory):
    from cs336_basics.tok import BPETokenizer

    vocab_path, merges_path = os.path.join(directory, "vocab.json"), os.path.join(directory, "merges.txt")
    BPETokenizer(vocab, merges, special_tokens).save(vocab_path, merges_path)
    return vocab_path, merges_path


def run_encode_file(vocab, merges, special_tokens, input_path, output_path, num_processes) -> None:
    from cs336_basics.tok import BPETokenizer

    BPETokenizer(vocab, merges, special_tokens).encode_file(input_path, output_path, num_processes)


def run_train_bpe(input_path: str | os.PathLike, vocab_size: int, special_tokens: list[str],
                  **kwargs) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    from cs336_basics.bpe import train_bpe

    return train_bpe(input_path, vocab_size, special_tokens, num_workers=kwargs.get("num_processes", 1))


def run_train_bpe_parallel(input_path, vocab_size, special_tokens, num_processes):
    from cs336_basics.bpe import train_bpe

    return train_bpe(input_path, vocab_size, special_tokens, num_workers=num_processes)
