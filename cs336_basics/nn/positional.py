"""Position information: rotary (applied to queries and keys inside attention), and the absolute
sinusoidal and learned encodings (added to the token embeddings) used by the ablation."""

from __future__ import annotations

import einops
import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from cs336_basics.nn.functional import apply_rotary, rope_angles, sinusoidal_table


def check_positions(token_positions: Tensor, max_seq_len: int, what: str) -> None:
    """Raise ValueError unless `token_positions` holds integers in [0, max_seq_len)."""
    if token_positions.dtype == torch.bool or token_positions.is_floating_point() or token_positions.is_complex():
        raise ValueError(f"{what}: token_positions must be integers; received dtype {token_positions.dtype}")
    if token_positions.numel() == 0:
        return
    low, high = torch.stack(torch.aminmax(token_positions)).tolist()  # one host sync for both bounds
    if low < 0 or high >= max_seq_len:
        bad = low if low < 0 else high
        raise ValueError(f"{what}: position {bad} is outside [0, max_seq_len={max_seq_len})")


def default_positions(x: Tensor, offset: int, max_seq_len: int, what: str) -> slice:
    """The slice offset, ..., offset + seq - 1 of a position table (checked on the host, no device sync)."""
    seq_len = x.shape[-2]
    if offset < 0 or offset + seq_len > max_seq_len:
        raise ValueError(
            f"{what}: positions {offset}..{offset + seq_len - 1} of a sequence of length {seq_len} "
            f"(offset {offset}) do not fit max_seq_len={max_seq_len}"
        )
    return slice(offset, offset + seq_len)


def _check_input(x: Tensor, d: int, token_positions: Tensor | None, what: str) -> None:
    if x.ndim < 2 or x.shape[-1] != d:
        raise ValueError(f"{what} expects input of shape (..., seq, {d}); received {tuple(x.shape)}")
    if token_positions is not None and (token_positions.ndim == 0 or token_positions.shape[-1] != x.shape[-2]):
        raise ValueError(
            f"{what}: token_positions must have shape (..., seq={x.shape[-2]}); received {tuple(token_positions.shape)}"
        )


class RotaryPositionalEmbedding(nn.Module):
    """RoPE (Su et al. 2021): rotate feature pairs (0,1), (2,3), ... of a query or key at position i by
    the angles θ_{i,k} = i / Θ^{2k/d_k}. The cos/sin tables are non-persistent buffers (recomputed, never
    saved in a state dict) so one instance can be shared by every attention layer."""

    def __init__(self, theta: float, d_k: int, max_seq_len: int, device: torch.device | None = None):
        super().__init__()
        self.theta = theta
        self.d_k = d_k
        self.max_seq_len = max_seq_len
        # BEGIN SOLUTION
        if d_k % 2 != 0:
            raise ValueError(f"RoPE rotates pairs of features, so d_k must be even; received d_k={d_k}")
        # Angles in float64 keep large positions exact; the tables themselves are float32, (max_seq_len, d_k / 2).
        angles = rope_angles(d_k, max_seq_len, theta)
        self.register_buffer("cos", torch.cos(angles).to(device=device, dtype=torch.float32), persistent=False)
        self.register_buffer("sin", torch.sin(angles).to(device=device, dtype=torch.float32), persistent=False)
        # END SOLUTION

    def forward(
        self, x: Float[Tensor, " ... seq d_k"], token_positions: Int[Tensor, " ... seq"] | None = None, *, offset: int = 0
    ) -> Float[Tensor, " ... seq d_k"]:
        """`token_positions` broadcasts against x's leading dims (e.g. (batch, 1, seq) for x of shape
        (batch, heads, seq, d_k)); None means offset, offset + 1, ..., offset + seq - 1 (a KV cache
        continues a sequence at offset = number of cached tokens)."""
        # BEGIN SOLUTION
        _check_input(x, self.d_k, token_positions, "RotaryPositionalEmbedding")
        if token_positions is None:
            token_positions = default_positions(x, offset, self.max_seq_len, "RotaryPositionalEmbedding")
        else:
            check_positions(token_positions, self.max_seq_len, "RotaryPositionalEmbedding")
        return apply_rotary(x, self.cos[token_positions], self.sin[token_positions])
        # END SOLUTION


class SinusoidalPositionalEncoding(nn.Module):
    """Adds the fixed sinusoidal encoding of Vaswani et al. (2017, §3.5) to its input. No parameters:
    the table is a non-persistent buffer, so state dicts are unchanged by this module."""

    def __init__(self, d_model: int, max_seq_len: int, device: torch.device | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        self.d_model = d_model
        self.max_seq_len = max_seq_len
        # BEGIN SOLUTION
        table = sinusoidal_table(max_seq_len, d_model).to(device=device, dtype=dtype or torch.get_default_dtype())
        self.register_buffer("table", table, persistent=False)
        # END SOLUTION

    def forward(
        self, x: Float[Tensor, " ... seq d_model"], token_positions: Int[Tensor, " ... seq"] | None = None, *, offset: int = 0
    ) -> Float[Tensor, " ... seq d_model"]:
        """x + PE[token_positions]; positions default to offset, offset + 1, ..., offset + seq - 1."""
        # BEGIN SOLUTION
        _check_input(x, self.d_model, token_positions, "SinusoidalPositionalEncoding")
        if token_positions is None:
            token_positions = default_positions(x, offset, self.max_seq_len, "SinusoidalPositionalEncoding")
        else:
            check_positions(token_positions, self.max_seq_len, "SinusoidalPositionalEncoding")
        return x + self.table[token_positions].to(x.dtype)
        # END SOLUTION


class LearnedPositionalEmbedding(nn.Module):
    """Adds a trained vector per absolute position (as in GPT-2) to its input; `weight` has shape
    (max_seq_len, d_model)."""

    def __init__(self, max_seq_len: int, d_model: int, device: torch.device | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        self.max_seq_len = max_seq_len
        self.d_model = d_model
        self.weight = nn.Parameter(torch.empty(max_seq_len, d_model, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Truncated N(0, 1) clipped at ±3, like the token Embedding it is added to."""
        # BEGIN SOLUTION
        nn.init.trunc_normal_(self.weight, mean=0.0, std=1.0, a=-3.0, b=3.0)
        # END SOLUTION

    def forward(
        self, x: Float[Tensor, " ... seq d_model"], token_positions: Int[Tensor, " ... seq"] | None = None, *, offset: int = 0
    ) -> Float[Tensor, " ... seq d_model"]:
        """x + weight[token_positions]; positions default to offset, offset + 1, ..., offset + seq - 1."""
        # BEGIN SOLUTION
        _check_input(x, self.d_model, token_positions, "LearnedPositionalEmbedding")
        if token_positions is not None:
            check_positions(token_positions, self.max_seq_len, "LearnedPositionalEmbedding")
            return x + self.weight[token_positions]
        rows = default_positions(x, offset, self.max_seq_len, "LearnedPositionalEmbedding")
        # Fold all leading dims into one batch axis; repeat is a broadcast view, not a copy.
        packed, packed_shape = einops.pack([x], "* seq d_model")
        table = einops.repeat(self.weight[rows], "seq d_model -> batch seq d_model", batch=packed.shape[0])
        return einops.unpack(packed + table, packed_shape, "* seq d_model")[0]
        # END SOLUTION
