"""The Transformer block and the decoder-only Transformer language model.

With the ModelConfig defaults this is the CS336 model: pre-norm blocks (Xiong et al. 2020) with RMSNorm,
RoPE in attention and a SwiGLU feed-forward network, and an untied LM head. The switches `position`,
`norm` and `ffn` build the ablation variants.
"""

from __future__ import annotations

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from cs336_basics.training.config import ModelConfig
from cs336_basics.nn.attention import MultiHeadSelfAttention
from cs336_basics.nn.kv_cache import KVCache, LayerKVCache
from cs336_basics.nn.layers import Embedding, Linear, RMSNorm, SiLUFeedForward, SwiGLU
from cs336_basics.nn.positional import LearnedPositionalEmbedding, RotaryPositionalEmbedding, SinusoidalPositionalEncoding


class TransformerBlock(nn.Module):
    """One block: attention then feed-forward, each with a residual connection.

    norm="pre":  h = x + attn(ln1(x));   y = h + ffn(ln2(h))     (the default)
    norm="post": h = ln1(x + attn(x));   y = ln2(h + ffn(h))     (Vaswani et al. 2017)
    norm="none": h = x + attn(x);        y = h + ffn(h)          (no ln1 / ln2 parameters)
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int,
        rope: RotaryPositionalEmbedding | None = None,
        head_dim: int | None = None,
        norm: str = "pre",
        ffn: str = "swiglu",
        eps: float = 1e-5,
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
    ):
        super().__init__()
        if norm not in ("pre", "post", "none"):
            raise ValueError(f"norm must be 'pre', 'post' or 'none'; received {norm!r}")
        if ffn not in ("swiglu", "silu"):
            raise ValueError(f"ffn must be 'swiglu' or 'silu'; received {ffn!r}")
        self.norm = norm
        self.attn = MultiHeadSelfAttention(d_model, num_heads, head_dim=head_dim, rope=rope, device=device, dtype=dtype)
        feed_forward = SwiGLU if ffn == "swiglu" else SiLUFeedForward
        self.ffn = feed_forward(d_model, d_ff, device=device, dtype=dtype)
        if norm != "none":
            self.ln1 = RMSNorm(d_model, eps=eps, device=device, dtype=dtype)
            self.ln2 = RMSNorm(d_model, eps=eps, device=device, dtype=dtype)

    def forward(
        self,
        x: Float[Tensor, " ... seq d_model"],
        token_positions: Int[Tensor, " ... seq"] | None = None,
        kv_cache: LayerKVCache | None = None,
    ) -> Float[Tensor, " ... seq d_model"]:
        # BEGIN SOLUTION
        if self.norm == "pre":
            h = x + self.attn(self.ln1(x), token_positions, kv_cache)
            return h + self.ffn(self.ln2(h))
        if self.norm == "post":
            h = self.ln1(x + self.attn(x, token_positions, kv_cache))
            return self.ln2(h + self.ffn(h))
        h = x + self.attn(x, token_positions, kv_cache)
        return h + self.ffn(h)
        # END SOLUTION


class TransformerLM(nn.Module):
    """Token ids (batch, seq) -> next-token logits (batch, seq, vocab_size), unnormalised.

    Layout of the default state dict: token_embeddings.weight, layers.{i}.attn.{q,k,v,output}_proj.weight,
    layers.{i}.ln1.weight, layers.{i}.ffn.{w1,w2,w3}.weight, layers.{i}.ln2.weight, ln_final.weight,
    lm_head.weight. position="learned" adds position_embeddings.weight; norm="none" drops every
    ln*.weight, and norm="post" drops ln_final (each post-norm block already ends with a norm).
    """

    def __init__(self, config: ModelConfig, device: torch.device | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        self.config = config
        c = config
        self.token_embeddings = Embedding(c.vocab_size, c.d_model, device=device, dtype=dtype)
        # BEGIN SOLUTION
        self.position_embeddings: nn.Module | None = None
        if c.position == "sinusoidal":
            self.position_embeddings = SinusoidalPositionalEncoding(c.d_model, c.context_length, device=device, dtype=dtype)
        elif c.position == "learned":
            self.position_embeddings = LearnedPositionalEmbedding(c.context_length, c.d_model, device=device, dtype=dtype)
        # One RoPE table serves every layer; its buffers are non-persistent, so no state-dict keys.
        rope = RotaryPositionalEmbedding(c.rope_theta, c.head_dim, c.context_length, device=device) if c.position == "rope" else None
        self.layers = nn.ModuleList(
            TransformerBlock(
                c.d_model,
                c.num_heads,
                c.d_ff,
                rope=rope,
                head_dim=c.head_dim,
                norm=c.norm,
                ffn=c.ffn,
                eps=c.eps,
                device=device,
                dtype=dtype,
            )
            for _ in range(c.num_layers)
        )
        self.ln_final = RMSNorm(c.d_model, eps=c.eps, device=device, dtype=dtype) if c.norm == "pre" else None
        # END SOLUTION
        self.lm_head = Linear(c.d_model, c.vocab_size, device=device, dtype=dtype)

    def forward(
        self, in_indices: Int[Tensor, " batch seq"], kv_cache: KVCache | None = None
    ) -> Float[Tensor, " batch seq vocab_size"]:
        """Logits for every position. With `kv_cache`, `in_indices` continues the cached sequences: the
        new tokens take positions cache.length, cache.length + 1, ..., and the cache grows by seq."""
        # BEGIN SOLUTION
        if in_indices.ndim != 2:
            raise ValueError(f"TransformerLM expects token ids of shape (batch, seq); received {tuple(in_indices.shape)}")
        seq_len = in_indices.shape[1]
        offset = 0 if kv_cache is None else kv_cache.length
        if seq_len == 0 or offset + seq_len > self.config.context_length:
            cached = f" after {offset} cached tokens" if kv_cache is not None else ""
            raise ValueError(
                f"TransformerLM takes 1 to context_length={self.config.context_length} tokens; "
                f"received {seq_len}{cached}"
            )
        if kv_cache is not None and kv_cache.batch_size != in_indices.shape[0]:
            raise ValueError(f"KV cache holds batch size {kv_cache.batch_size}; received {in_indices.shape[0]} sequences")
        x = self.token_embeddings(in_indices)
        if self.position_embeddings is not None:
            x = self.position_embeddings(x, offset=offset)
        for index, layer in enumerate(self.layers):
            x = layer(x, kv_cache=None if kv_cache is None else kv_cache.layer(index))
        if kv_cache is not None:
            kv_cache.advance(seq_len)
        if self.ln_final is not None:
            x = self.ln_final(x)
        return self.lm_head(x)
        # END SOLUTION
