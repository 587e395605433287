"""Causal multi-head self-attention (Vaswani et al. 2017, §3.2.2), optionally with RoPE and a KV cache."""

from __future__ import annotations

import einops
import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

from cs336_basics.nn.functional import scaled_dot_product_attention
from cs336_basics.nn.kv_cache import LayerKVCache
from cs336_basics.nn.layers import Linear
from cs336_basics.nn.positional import RotaryPositionalEmbedding


def causal_mask(num_queries: int, num_keys: int, device: torch.device | None = None) -> Bool[Tensor, " queries keys"]:
    """mask[i, j] is True where query i may attend to key j. The queries are the last `num_queries` of
    the `num_keys` tokens (with a KV cache, the earlier keys are cached), so query i sits at absolute
    index num_keys - num_queries + i and sees keys j <= that index.

    Example: causal_mask(2, 3) -> [[True, True, False], [True, True, True]].
    """
    # BEGIN SOLUTION
    return torch.ones(num_queries, num_keys, dtype=torch.bool, device=device).tril(diagonal=num_keys - num_queries)
    # END SOLUTION


class MultiHeadSelfAttention(nn.Module):
    """Causal multi-head self-attention with projections q_proj, k_proj, v_proj of shape
    (num_heads * head_dim, d_model) and output_proj of shape (d_model, num_heads * head_dim); the rows
    of each projection are ordered (head, head_dim). head_dim defaults to d_model // num_heads;
    head_dim = d_model gives "wide" heads that each see the full width."""

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        head_dim: int | None = None,
        rope: RotaryPositionalEmbedding | None = None,
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
    ):
        super().__init__()
        if head_dim is None:
            if d_model % num_heads != 0:
                raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}; pass head_dim")
            head_dim = d_model // num_heads
        if rope is not None and rope.d_k != head_dim:
            raise ValueError(f"RoPE was built for d_k={rope.d_k} but the heads have head_dim={head_dim}")
        self.d_model = d_model
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.rope = rope
        inner = num_heads * head_dim
        self.q_proj = Linear(d_model, inner, device=device, dtype=dtype)
        self.k_proj = Linear(d_model, inner, device=device, dtype=dtype)
        self.v_proj = Linear(d_model, inner, device=device, dtype=dtype)
        self.output_proj = Linear(inner, d_model, device=device, dtype=dtype)

    def forward(
        self,
        x: Float[Tensor, " ... seq d_model"],
        token_positions: Int[Tensor, " ... seq"] | None = None,
        kv_cache: LayerKVCache | None = None,
    ) -> Float[Tensor, " ... seq d_model"]:
        """Each position attends to itself and earlier positions (of the cache too, when one is given).
        `token_positions` only feed RoPE; None means the positions continue after the cached tokens."""
        # BEGIN SOLUTION
        if x.ndim < 2 or x.shape[-1] != self.d_model:
            raise ValueError(f"attention expects input of shape (..., seq, {self.d_model}); received {tuple(x.shape)}")
        q, k, v = self._split_heads(self.q_proj(x)), self._split_heads(self.k_proj(x)), self._split_heads(self.v_proj(x))
        offset = 0 if kv_cache is None else kv_cache.start
        if self.rope is not None:
            # A heads axis lets (..., seq) positions broadcast against (..., heads, seq, head_dim).
            positions = None if token_positions is None else token_positions.unsqueeze(-2)
            q = self.rope(q, positions, offset=offset)
            k = self.rope(k, positions, offset=offset)
        if kv_cache is not None:
            k, v = kv_cache.update(k, v)
        num_queries, num_keys = q.shape[-2], k.shape[-2]
        mask = causal_mask(num_queries, num_keys, device=x.device)
        heads = scaled_dot_product_attention(q, k, v, mask)
        return self.output_proj(self._merge_heads(heads))
        # END SOLUTION

    # BEGIN SOLUTION
    def _split_heads(self, t: Float[Tensor, " ... seq inner"]) -> Float[Tensor, " ... heads seq head_dim"]:
        """The rows of each projection are ordered (head, head_dim): split them and move heads before seq."""
        return einops.rearrange(t, "... seq (heads head_dim) -> ... heads seq head_dim", heads=self.num_heads)

    def _merge_heads(self, t: Float[Tensor, " ... heads seq head_dim"]) -> Float[Tensor, " ... seq inner"]:
        """The inverse of _split_heads: concatenate the heads of each position (Vaswani et al. 2017, eq. 4)."""
        return einops.rearrange(t, "... heads seq head_dim -> ... seq (heads head_dim)")

    # END SOLUTION
