"""Building blocks: linear and embedding layers, RMSNorm, the feed-forward networks, position encodings."""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import Tensor, nn


def softmax(x: Tensor, dim: int) -> Tensor:
    """exp(x) / sum exp(x) along `dim`, with each slice's maximum subtracted first."""
    z = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return z / z.sum(dim=dim, keepdim=True)


def silu(x: Tensor) -> Tensor:
    return x * torch.sigmoid(x)


def _trunc_normal(shape, std, device, dtype):
    w = torch.empty(shape, device=device, dtype=dtype)
    nn.init.trunc_normal_(w, mean=0.0, std=std, a=-3 * std, b=3 * std)
    return w


class Lin(nn.Module):
    """y = x W^T without bias; W is (out_features, in_features), truncated-normal Glorot init."""

    def __init__(self, in_features, out_features, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        std = math.sqrt(2.0 / (in_features + out_features))
        self.weight = nn.Parameter(_trunc_normal((out_features, in_features), std, device, dtype))

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"Lin expects last dim {self.in_features}, got shape {tuple(x.shape)}")
        return torch.einsum("...i,oi->...o", x, self.weight)


class Embed(nn.Module):
    """Row lookup in a (num_embeddings, embedding_dim) table, truncated N(0, 1) init."""

    def __init__(self, num_embeddings, embedding_dim, device=None, dtype=None):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.weight = nn.Parameter(_trunc_normal((num_embeddings, embedding_dim), 1.0, device, dtype))

    def forward(self, token_ids: Tensor) -> Tensor:
        if token_ids.is_floating_point() or token_ids.is_complex() or token_ids.dtype == torch.bool:
            raise TypeError(f"token ids must be an integer tensor, got {token_ids.dtype}")
        if token_ids.numel():
            lo, hi = int(token_ids.min()), int(token_ids.max())
            bad = lo if lo < 0 else hi
            if lo < 0 or hi >= self.num_embeddings:
                raise IndexError(f"token id {bad} out of range for vocabulary of size {self.num_embeddings}")
        return self.weight[token_ids]


class RMS(nn.Module):
    """x / sqrt(mean(x^2) + eps) * g, computed in float32 and cast back."""

    def __init__(self, d_model, eps=1e-5, device=None, dtype=None):
        super().__init__()
        self.d_model, self.eps = d_model, eps
        self.weight = nn.Parameter(torch.ones(d_model, device=device, dtype=dtype))

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.d_model:
            raise ValueError(f"RMS expects last dim {self.d_model}, got shape {tuple(x.shape)}")
        in_dtype = x.dtype
        x32 = x.to(torch.float32)
        inv = torch.rsqrt(x32.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return (x32 * inv * self.weight.to(torch.float32)).to(in_dtype)


class GatedFFN(nn.Module):
    """SwiGLU: w2(silu(w1 x) * w3 x)."""

    def __init__(self, d_model, d_ff, device=None, dtype=None):
        super().__init__()
        self.w1 = Lin(d_model, d_ff, device, dtype)
        self.w2 = Lin(d_ff, d_model, device, dtype)
        self.w3 = Lin(d_model, d_ff, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        return self.w2(silu(self.w1(x)) * self.w3(x))


class PlainFFN(nn.Module):
    """w2(silu(w1 x)), the two-matrix network of the ffn ablation."""

    def __init__(self, d_model, d_ff, device=None, dtype=None):
        super().__init__()
        self.w1 = Lin(d_model, d_ff, device, dtype)
        self.w2 = Lin(d_ff, d_model, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        return self.w2(silu(self.w1(x)))


def _positions(x: Tensor, token_positions, offset, limit, what):
    seq = x.shape[-2]
    if token_positions is None:
        token_positions = torch.arange(offset, offset + seq, device=x.device)
    token_positions = torch.as_tensor(token_positions, device=x.device).long()
    if token_positions.numel() and (int(token_positions.min()) < 0 or int(token_positions.max()) >= limit):
        raise IndexError(f"{what}: positions must lie in [0, {limit}), got up to {int(token_positions.max())}")
    return token_positions


class SinusoidalPE(nn.Module):
    """Adds PE(i, 2k) = sin(i w_k), PE(i, 2k+1) = cos(i w_k), w_k = 10000^(-2k/d) (Vaswani et al. 2017, §3.5)."""

    def __init__(self, d_model, max_seq_len, device=None, dtype=None):
        super().__init__()
        self.max_seq_len = max_seq_len
        pos = torch.arange(max_seq_len, dtype=torch.float64)
        k = torch.arange(d_model, dtype=torch.float64) // 2
        angle = pos[:, None] * torch.pow(10000.0, -2.0 * k / d_model)[None, :]
        even = (torch.arange(d_model) % 2 == 0)[None, :]
        table = torch.where(even, torch.sin(angle), torch.cos(angle))
        self.register_buffer("table", table.to(device=device, dtype=dtype or torch.get_default_dtype()), persistent=False)

    def forward(self, x, token_positions=None, offset=0):
        pos = _positions(x, token_positions, offset, self.max_seq_len, "SinusoidalPE")
        return x + self.table[pos].to(x.dtype)


class LearnedPE(nn.Module):
    """Adds row i of a learned (max_seq_len, d_model) table at position i (GPT-2)."""

    def __init__(self, max_seq_len, d_model, device=None, dtype=None):
        super().__init__()
        self.max_seq_len = max_seq_len
        self.weight = nn.Parameter(_trunc_normal((max_seq_len, d_model), 1.0, device, dtype))

    def forward(self, x, token_positions=None, offset=0):
        pos = _positions(x, token_positions, offset, self.max_seq_len, "LearnedPE")
        return x + self.weight[pos]


class Rotary(nn.Module):
    """RoPE (Su et al. 2021): rotate interleaved pairs (x_2k, x_2k+1) by i / theta^(2k/d_k)."""

    def __init__(self, theta, d_k, max_seq_len, device=None):
        super().__init__()
        if d_k % 2:
            raise ValueError(f"RoPE needs an even d_k, got {d_k}")
        self.max_seq_len = max_seq_len
        inv_freq = theta ** (-torch.arange(0, d_k, 2, dtype=torch.float64) / d_k)
        angles = torch.outer(torch.arange(max_seq_len, dtype=torch.float64), inv_freq)
        self.register_buffer("cos_table", torch.cos(angles).to(device), persistent=False)
        self.register_buffer("sin_table", torch.sin(angles).to(device), persistent=False)

    def forward(self, x, token_positions=None, offset=0):
        pos = _positions(x, token_positions, offset, self.max_seq_len, "Rotary")
        cos = self.cos_table[pos].to(x.dtype)
        sin = self.sin_table[pos].to(x.dtype)
        pairs = rearrange(x, "... (k two) -> ... k two", two=2)
        even, odd = pairs[..., 0], pairs[..., 1]
        rotated = torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1)
        return rearrange(rotated, "... k two -> ... (k two)")
