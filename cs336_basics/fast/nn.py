"""Fast twins of the reference modules: the same parameters and state-dict keys, torch's fused kernels.

Each class subclasses its reference module and overrides only `forward`, so `accelerate` can swap a
module's class in place (no copy of any parameter) and the reference's `__init__`, initialisation and
`extra_repr` still apply. tests/staff/test_fast_path.py checks every forward and gradient against the
reference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from cs336_basics.nn.attention import MultiHeadSelfAttention, causal_mask
from cs336_basics.nn.kv_cache import LayerKVCache
from cs336_basics.nn.layers import Embedding, Linear, RMSNorm, SiLUFeedForward, SwiGLU
from cs336_basics.nn.positional import RotaryPositionalEmbedding, _check_input, check_positions, default_positions


class FastLinear(Linear):
    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"Linear expects input of shape (..., {self.in_features}); received {tuple(x.shape)}")
        return F.linear(x, self.weight)


class FastEmbedding(Embedding):
    def forward(self, token_ids: Tensor) -> Tensor:
        if token_ids.dtype == torch.bool or token_ids.is_floating_point() or token_ids.is_complex():
            raise ValueError(f"Embedding expects integer token ids; received dtype {token_ids.dtype}")
        return F.embedding(token_ids, self.weight)  # raises IndexError on an id outside the table


class FastRMSNorm(RMSNorm):
    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.d_model:
            raise ValueError(f"RMSNorm expects input of shape (..., {self.d_model}); received {tuple(x.shape)}")
        # Statistics in float32 as in the reference; F.rms_norm fuses the square, mean, rsqrt and scale.
        return F.rms_norm(x.float(), (self.d_model,), self.weight.float(), self.eps).to(x.dtype)


class FastRotaryPositionalEmbedding(RotaryPositionalEmbedding):
    """Pair (2k, 2k + 1) read as the complex number x_2k + i x_2k+1: the rotation is one product with
    cos + i sin (Su et al. 2021, eq. 34) instead of the reference's four products and a stack."""

    def forward(self, x: Tensor, token_positions: Tensor | None = None, *, offset: int = 0) -> Tensor:
        return complex_rotate(x, self.rotation(x, token_positions, offset=offset))

    def rotation(self, x: Tensor, token_positions: Tensor | None = None, *, offset: int = 0) -> Tensor:
        """cos + i sin at the positions of x (checked as the reference checks them), for `complex_rotate`."""
        _check_input(x, self.d_k, token_positions, "RotaryPositionalEmbedding")
        if token_positions is None:
            token_positions = default_positions(x, offset, self.max_seq_len, "RotaryPositionalEmbedding")
        else:
            check_positions(token_positions, self.max_seq_len, "RotaryPositionalEmbedding")
        return torch.complex(self.cos[token_positions], self.sin[token_positions])


def complex_rotate(x: Tensor, rotation: Tensor) -> Tensor:
    """x with each feature pair multiplied by `rotation` (complex, broadcasting against x's leading dims)."""
    pairs = x.to(torch.promote_types(x.dtype, torch.float32)).unflatten(-1, (-1, 2))
    if pairs.storage_offset() % 2 or any(stride % 2 for stride in pairs.stride()[:-1]) or pairs.stride(-1) != 1:
        pairs = pairs.contiguous()  # a complex view needs each pair in place, at an even offset
    return torch.view_as_real(torch.view_as_complex(pairs) * rotation).flatten(-2).to(x.dtype)


class FastSwiGLU(SwiGLU):
    def forward(self, x: Tensor) -> Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class FastSiLUFeedForward(SiLUFeedForward):
    def forward(self, x: Tensor) -> Tensor:
        return self.w2(F.silu(self.w1(x)))


class FastMultiHeadSelfAttention(MultiHeadSelfAttention):
    def forward(self, x: Tensor, token_positions: Tensor | None = None, kv_cache: LayerKVCache | None = None) -> Tensor:
        if x.ndim < 2 or x.shape[-1] != self.d_model:
            raise ValueError(f"attention expects input of shape (..., seq, {self.d_model}); received {tuple(x.shape)}")

        def split(t: Tensor) -> Tensor:  # (... seq (heads head_dim)) -> (... heads seq head_dim)
            return t.unflatten(-1, (self.num_heads, self.head_dim)).transpose(-3, -2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        offset = 0 if kv_cache is None else kv_cache.start
        if self.rope is not None:
            positions = None if token_positions is None else token_positions.unsqueeze(-2)
            if type(self.rope) is FastRotaryPositionalEmbedding:  # one table for queries and keys
                rotation = self.rope.rotation(q, positions, offset=offset)
                q, k = complex_rotate(q, rotation), complex_rotate(k, rotation)
            else:
                q, k = self.rope(q, positions, offset=offset), self.rope(k, positions, offset=offset)
        if kv_cache is not None:
            k, v = kv_cache.update(k, v)
        num_queries, num_keys = q.shape[-2], k.shape[-2]
        if num_queries == num_keys:
            heads = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        elif num_queries == 1:  # one new token after a cache sees every key: no mask at all
            heads = F.scaled_dot_product_attention(q, k, v)
        else:  # a chunk after a cache: query i sees the cached keys and the chunk's keys up to i
            heads = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(num_queries, num_keys, device=x.device))
        return self.output_proj(heads.transpose(-3, -2).flatten(-2))


# Reference class -> its fast twin. Exact types only: a subclass of a reference module may compute
# something else, so it is left alone.
FAST_TWINS = {
    Linear: FastLinear,
    Embedding: FastEmbedding,
    RMSNorm: FastRMSNorm,
    SwiGLU: FastSwiGLU,
    SiLUFeedForward: FastSiLUFeedForward,
    MultiHeadSelfAttention: FastMultiHeadSelfAttention,
    RotaryPositionalEmbedding: FastRotaryPositionalEmbedding,
}


def accelerate(model: torch.nn.Module) -> torch.nn.Module:
    """Swap every reference module inside `model` (itself included) for its fast twin, in place, and
    return `model`. Parameters, buffers, state-dict keys and the computed function are unchanged (up to
    float rounding). Idempotent."""
    for module in model.modules():
        twin = FAST_TWINS.get(type(module))
        if twin is not None:
            module.__class__ = twin
    return model


def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """The reference `cross_entropy` (mean over every position, reduced in float32 at least) with
    torch's fused kernel."""
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1).long())
