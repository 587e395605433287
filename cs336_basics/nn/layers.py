"""Parameter-holding building blocks: Linear, Embedding, RMSNorm and the two feed-forward networks.

Each module initialises its parameters in `reset_parameters` (one visible place) and computes its
output with the pure functions of functional.py or a single einsum.
"""

from __future__ import annotations

import math

import einops
import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from cs336_basics.nn.functional import silu


def _check_last_dim(x: Tensor, expected: int, what: str) -> None:
    if x.ndim == 0 or x.shape[-1] != expected:
        raise ValueError(f"{what} expects input of shape (..., {expected}); received {tuple(x.shape)}")


class Linear(nn.Module):
    """y = x W^T without bias; W has shape (out_features, in_features) (the PyTorch row layout)."""

    def __init__(self, in_features: int, out_features: int, device: torch.device | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Truncated normal with σ² = 2 / (d_in + d_out) (Glorot & Bengio 2010 variance), clipped at ±3σ."""
        # BEGIN SOLUTION
        std = math.sqrt(2.0 / (self.in_features + self.out_features))
        nn.init.trunc_normal_(self.weight, mean=0.0, std=std, a=-3.0 * std, b=3.0 * std)
        # END SOLUTION

    def forward(self, x: Float[Tensor, " ... d_in"]) -> Float[Tensor, " ... d_out"]:
        # BEGIN SOLUTION
        _check_last_dim(x, self.in_features, "Linear")
        return einops.einsum(x, self.weight, "... d_in, d_out d_in -> ... d_out")
        # END SOLUTION

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class Embedding(nn.Module):
    """Lookup table: row `i` of `weight` (num_embeddings, embedding_dim) is the vector of token id `i`."""

    def __init__(self, num_embeddings: int, embedding_dim: int, device: torch.device | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.weight = nn.Parameter(torch.empty(num_embeddings, embedding_dim, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Truncated standard normal N(0, 1), clipped at ±3."""
        # BEGIN SOLUTION
        nn.init.trunc_normal_(self.weight, mean=0.0, std=1.0, a=-3.0, b=3.0)
        # END SOLUTION

    def forward(self, token_ids: Int[Tensor, " ..."]) -> Float[Tensor, " ... embedding_dim"]:
        """Rows of the table for ids of any shape; bad ids raise ValueError naming the id."""
        # BEGIN SOLUTION
        if token_ids.dtype == torch.bool or token_ids.is_floating_point() or token_ids.is_complex():
            raise ValueError(f"Embedding expects integer token ids; received dtype {token_ids.dtype}")
        out_of_range = (token_ids < 0) | (token_ids >= self.num_embeddings)
        if out_of_range.any():  # one host sync; the message is built only on the error path
            bad = token_ids[out_of_range][0].item()
            raise ValueError(f"token id {bad} is out of range for an Embedding of vocab size {self.num_embeddings}")
        return self.weight[token_ids]  # advanced indexing: one row per id, in the ids' shape
        # END SOLUTION

    def extra_repr(self) -> str:
        return f"num_embeddings={self.num_embeddings}, embedding_dim={self.embedding_dim}"


class RMSNorm(nn.Module):
    """x / sqrt(mean(x²) + eps) * g over the last axis (Zhang & Sennrich 2019, eq. 4), computed in float32."""

    def __init__(self, d_model: int, eps: float = 1e-5, device: torch.device | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        self.d_model = d_model
        self.eps = eps
        self.weight = nn.Parameter(torch.empty(d_model, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Gain g = 1, so a fresh RMSNorm only rescales."""
        # BEGIN SOLUTION
        nn.init.ones_(self.weight)
        # END SOLUTION

    def forward(self, x: Float[Tensor, " ... d_model"]) -> Float[Tensor, " ... d_model"]:
        # BEGIN SOLUTION
        _check_last_dim(x, self.d_model, "RMSNorm")
        in_dtype = x.dtype
        # Squares of bf16/fp16 activations lose precision (and overflow fp16 above ~256), so the
        # statistics are taken in float32 and only the result is cast back.
        x = x.to(torch.float32)
        inverse_rms = torch.rsqrt(x.square().mean(dim=-1, keepdim=True) + self.eps)
        return (x * inverse_rms * self.weight).to(in_dtype)
        # END SOLUTION

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, eps={self.eps}"


class SwiGLU(nn.Module):
    """W2 (SiLU(W1 x) ⊙ W3 x), the gated feed-forward network of Shazeer (2020), eq. 6."""

    def __init__(self, d_model: int, d_ff: int, device: torch.device | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        self.w1 = Linear(d_model, d_ff, device=device, dtype=dtype)
        self.w2 = Linear(d_ff, d_model, device=device, dtype=dtype)
        self.w3 = Linear(d_model, d_ff, device=device, dtype=dtype)

    def forward(self, x: Float[Tensor, " ... d_model"]) -> Float[Tensor, " ... d_model"]:
        # BEGIN SOLUTION
        return self.w2(silu(self.w1(x)) * self.w3(x))
        # END SOLUTION


class SiLUFeedForward(nn.Module):
    """W2 SiLU(W1 x): the ungated feed-forward network, for the SwiGLU ablation (use d_ff = 4 d_model to
    match SwiGLU's parameter count at d_ff = 8/3 d_model)."""

    def __init__(self, d_model: int, d_ff: int, device: torch.device | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        self.w1 = Linear(d_model, d_ff, device=device, dtype=dtype)
        self.w2 = Linear(d_ff, d_model, device=device, dtype=dtype)

    def forward(self, x: Float[Tensor, " ... d_model"]) -> Float[Tensor, " ... d_model"]:
        # BEGIN SOLUTION
        return self.w2(silu(self.w1(x)))
        # END SOLUTION
