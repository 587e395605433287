"""The same Transformer LM built from torch built-ins: the peer our from-scratch model is timed against.

Pre-norm blocks, RoPE on interleaved pairs (0,1), (2,3), ... (Su et al. 2021), SwiGLU, no biases, untied
LM head, with the parameter names of `cs336_basics.nn.transformer.TransformerLM`, so one state_dict
loads into both and the two compute the same function.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cs336_basics.training.config import ModelConfig


class Rope(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        half = config.head_dim // 2
        inv_freq = config.rope_theta ** (-torch.arange(half, dtype=torch.float64) * 2 / config.head_dim)
        angles = torch.arange(config.context_length, dtype=torch.float64)[:, None] * inv_freq
        self.register_buffer("cos", angles.cos().float(), persistent=False)
        self.register_buffer("sin", angles.sin().float(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (batch, heads, seq, head_dim)
        seq = x.shape[-2]
        cos, sin = self.cos[:seq], self.sin[:seq]
        even, odd = x[..., 0::2], x[..., 1::2]
        return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)


class Attention(nn.Module):
    def __init__(self, config: ModelConfig, rope: Rope):
        super().__init__()
        inner = config.num_heads * config.head_dim
        self.num_heads, self.rope = config.num_heads, rope
        self.q_proj = nn.Linear(config.d_model, inner, bias=False)
        self.k_proj = nn.Linear(config.d_model, inner, bias=False)
        self.v_proj = nn.Linear(config.d_model, inner, bias=False)
        self.output_proj = nn.Linear(inner, config.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        q, k, v = (p(x).view(b, s, self.num_heads, -1).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
        out = F.scaled_dot_product_attention(self.rope(q), self.rope(k), v, is_causal=True)
        return self.output_proj(out.transpose(1, 2).reshape(b, s, -1))


class SwiGLU(nn.Module):
    def __init__(self, d_model: int, d_ff: int):
        super().__init__()
        self.w1 = nn.Linear(d_model, d_ff, bias=False)
        self.w2 = nn.Linear(d_ff, d_model, bias=False)
        self.w3 = nn.Linear(d_model, d_ff, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class RMSNorm(nn.Module):
    def __init__(self, d_model: int, eps: float):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(d_model)), eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


class Block(nn.Module):
    def __init__(self, config: ModelConfig, rope: Rope):
        super().__init__()
        self.ln1, self.ln2 = RMSNorm(config.d_model, config.eps), RMSNorm(config.d_model, config.eps)
        self.attn = Attention(config, rope)
        self.ffn = SwiGLU(config.d_model, config.d_ff)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.ffn(self.ln2(x))


class TorchTransformerLM(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        if (config.position, config.norm, config.ffn) != ("rope", "pre", "swiglu"):
            raise ValueError("the torch twin implements the default architecture (rope, pre-norm, swiglu) only")
        rope = Rope(config)
        self.token_embeddings = nn.Embedding(config.vocab_size, config.d_model)
        self.layers = nn.ModuleList(Block(config, rope) for _ in range(config.num_layers))
        self.ln_final = RMSNorm(config.d_model, config.eps)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.token_embeddings(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(self.ln_final(x))
