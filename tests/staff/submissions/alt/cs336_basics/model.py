"""Attention, the Transformer block, the decoder-only language model and its key/value cache."""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import Tensor, nn

from cs336_basics.layers import RMS, Embed, GatedFFN, LearnedPE, Lin, PlainFFN, Rotary, SinusoidalPE, softmax


def attention(Q: Tensor, K: Tensor, V: Tensor, mask: Tensor | None = None) -> Tensor:
    """softmax(Q K^T / sqrt(d_k)) V; mask[..., i, j] True where query i may see key j.

    Queries that may see no key at all get a zero output (and zero gradient) rather than NaN.
    """
    d_k = Q.shape[-1]
    if K.shape[-1] != d_k:
        raise ValueError(f"queries have width {d_k} but keys have width {K.shape[-1]}")
    if K.shape[-2] != V.shape[-2]:
        raise ValueError(f"{K.shape[-2]} keys but {V.shape[-2]} values")
    scores = torch.einsum("...qd,...kd->...qk", Q, K) / math.sqrt(d_k)
    if mask is None:
        probs = softmax(scores, dim=-1)
    else:
        mask = mask.to(torch.bool)
        any_key = mask.any(dim=-1, keepdim=True)
        scores = scores.masked_fill(~mask, float("-inf"))
        scores = torch.where(any_key, scores, torch.zeros_like(scores))
        probs = softmax(scores, dim=-1) * any_key
    return torch.einsum("...qk,...kv->...qv", probs, V)


class KVStore:
    """Keys and values of every layer for the tokens seen so far (batch fixed, at most `capacity` tokens)."""

    def __init__(self, num_layers: int, capacity: int):
        self.capacity = capacity
        self.keys: list[Tensor | None] = [None] * num_layers
        self.values: list[Tensor | None] = [None] * num_layers
        self.length = 0
        self.batch = None

    def check(self, batch: int, new_tokens: int):
        if self.batch is not None and batch != self.batch:
            raise ValueError(f"the cache holds batch size {self.batch}, got {batch}")
        if self.length + new_tokens > self.capacity:
            raise ValueError(f"{self.length} cached + {new_tokens} new tokens exceed the context length {self.capacity}")

    def append(self, layer: int, k: Tensor, v: Tensor):
        """Store this step's keys/values of `layer` and return all of them (past then new)."""
        if self.keys[layer] is not None:
            k = torch.cat((self.keys[layer], k), dim=-2)
            v = torch.cat((self.values[layer], v), dim=-2)
        self.keys[layer], self.values[layer] = k, v
        return k, v


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, num_heads, head_dim=None, rope=None, device=None, dtype=None):
        super().__init__()
        if head_dim is None:
            if d_model % num_heads:
                raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
            head_dim = d_model // num_heads
        self.d_model, self.num_heads, self.head_dim = d_model, num_heads, head_dim
        inner = num_heads * head_dim
        self.q_proj = Lin(d_model, inner, device, dtype)
        self.k_proj = Lin(d_model, inner, device, dtype)
        self.v_proj = Lin(d_model, inner, device, dtype)
        self.output_proj = Lin(inner, d_model, device, dtype)
        self.rope = rope

    def forward(self, x, token_positions=None, cache: KVStore | None = None, layer: int = 0):
        if x.shape[-1] != self.d_model:
            raise ValueError(f"attention expects width {self.d_model}, got shape {tuple(x.shape)}")
        seq = x.shape[-2]
        past = cache.length if cache is not None else 0
        split = "... s (h d) -> ... h s d"
        q = rearrange(self.q_proj(x), split, h=self.num_heads)
        k = rearrange(self.k_proj(x), split, h=self.num_heads)
        v = rearrange(self.v_proj(x), split, h=self.num_heads)
        if self.rope is not None:
            if token_positions is None:
                pos = torch.arange(past, past + seq, device=x.device)
            else:
                pos = torch.as_tensor(token_positions, device=x.device)
                if pos.dim() > 1:  # (..., seq): broadcast over the head axis
                    pos = pos.unsqueeze(-2)
            q = self.rope(q, pos)
            k = self.rope(k, pos)
        if cache is not None:
            k, v = cache.append(layer, k, v)
        q_idx = torch.arange(past, past + seq, device=x.device)
        k_idx = torch.arange(k.shape[-2], device=x.device)
        causal = k_idx[None, :] <= q_idx[:, None]
        out = attention(q, k, v, causal)
        return self.output_proj(rearrange(out, "... h s d -> ... s (h d)"))


class Block(nn.Module):
    """norm="pre": x + attn(ln1 x), then + ffn(ln2 .); "post": ln1(x + attn x), ln2(. + ffn .); "none": no norms."""

    def __init__(self, d_model, num_heads, d_ff, rope=None, head_dim=None, norm="pre", ffn="swiglu", eps=1e-5,
                 device=None, dtype=None):
        super().__init__()
        if norm not in ("pre", "post", "none"):
            raise ValueError(f"norm must be pre, post or none, got {norm!r}")
        if ffn not in ("swiglu", "silu"):
            raise ValueError(f"ffn must be swiglu or silu, got {ffn!r}")
        self.norm = norm
        self.attn = CausalSelfAttention(d_model, num_heads, head_dim, rope, device, dtype)
        self.ffn = (GatedFFN if ffn == "swiglu" else PlainFFN)(d_model, d_ff, device, dtype)
        if norm != "none":
            self.ln1 = RMS(d_model, eps, device, dtype)
            self.ln2 = RMS(d_model, eps, device, dtype)

    def forward(self, x, token_positions=None, cache=None, layer=0):
        if self.norm == "pre":
            x = x + self.attn(self.ln1(x), token_positions, cache, layer)
            return x + self.ffn(self.ln2(x))
        if self.norm == "post":
            x = self.ln1(x + self.attn(x, token_positions, cache, layer))
            return self.ln2(x + self.ffn(x))
        x = x + self.attn(x, token_positions, cache, layer)
        return x + self.ffn(x)


class DecoderLM(nn.Module):
    """Token embedding, optional absolute position encoding, `num_layers` blocks, final norm, LM head."""

    def __init__(self, vocab_size, context_length, d_model, num_layers, num_heads, d_ff, rope_theta=10000.0,
                 position="rope", norm="pre", ffn="swiglu", head_dim=None, device=None, dtype=None):
        super().__init__()
        if position not in ("rope", "sinusoidal", "learned", "none"):
            raise ValueError(f"position must be rope, sinusoidal, learned or none, got {position!r}")
        self.vocab_size, self.context_length, self.position, self.norm = vocab_size, context_length, position, norm
        self.num_layers = num_layers
        self.token_embeddings = Embed(vocab_size, d_model, device, dtype)
        rope = None
        if position == "rope":
            hd = head_dim if head_dim is not None else d_model // num_heads
            rope = Rotary(rope_theta, hd, context_length, device)
        elif position == "sinusoidal":
            self.sinusoid = SinusoidalPE(d_model, context_length, device, dtype)
        elif position == "learned":
            self.position_embeddings = LearnedPE(context_length, d_model, device, dtype)
        self.layers = nn.ModuleList(
            Block(d_model, num_heads, d_ff, rope, head_dim, norm, ffn, device=device, dtype=dtype) for _ in range(num_layers)
        )
        if norm == "pre":
            self.ln_final = RMS(d_model, device=device, dtype=dtype)
        self.lm_head = Lin(d_model, vocab_size, device, dtype)

    def new_cache(self) -> KVStore:
        return KVStore(self.num_layers, self.context_length)

    def forward(self, in_indices: Tensor, cache: KVStore | None = None) -> Tensor:
        if in_indices.dim() != 2:
            raise ValueError(f"expected token ids of shape (batch, seq), got {tuple(in_indices.shape)}")
        batch, seq = in_indices.shape
        past = 0
        if cache is not None:
            cache.check(batch, seq)
            past = cache.length
        elif seq > self.context_length:
            raise ValueError(f"sequence of {seq} tokens is longer than context_length={self.context_length}")
        x = self.token_embeddings(in_indices)
        if self.position == "sinusoidal":
            x = self.sinusoid(x, offset=past)
        elif self.position == "learned":
            x = self.position_embeddings(x, offset=past)
        for i, block in enumerate(self.layers):
            x = block(x, None, cache, i)
        if cache is not None:
            cache.batch = batch
            cache.length += seq
        if self.norm == "pre":
            x = self.ln_final(x)
        return self.lm_head(x)
