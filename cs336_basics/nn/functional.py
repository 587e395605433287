"""Pure tensor math of the Transformer: activations, softmax, attention, and the RoPE angle table.

Nothing here holds parameters; the modules in layers.py, positional.py and attention.py call these.
"""

from __future__ import annotations

import math

import einops
import torch
from jaxtyping import Bool, Float
from torch import Tensor


def silu(x: Float[Tensor, " ..."]) -> Float[Tensor, " ..."]:
    """SiLU (a.k.a. swish) x * sigmoid(x), elementwise (Elfwing et al. 2017; Hendrycks & Gimpel 2016).

    Example: silu(tensor([0., 1.])) -> tensor([0.0000, 0.7311]).
    """
    # BEGIN SOLUTION
    # torch.sigmoid is the numerically safe building block (no overflow of exp(-x) for large |x|).
    return x * torch.sigmoid(x)
    # END SOLUTION


def softmax(x: Float[Tensor, " ..."], dim: int) -> Float[Tensor, " ..."]:
    """Numerically stable softmax of `x` along `dim`.

    exp(x - max) is mathematically the same as exp(x) after normalisation but never overflows. A slice
    whose entries are all -inf (a query that may attend to nothing) gets all zeros rather than NaN.

    Example: softmax(tensor([[0., log(3.)]]), dim=-1) -> tensor([[0.2500, 0.7500]]).
    """
    # BEGIN SOLUTION
    row_max = x.amax(dim=dim, keepdim=True)
    # An all -inf slice has max -inf, and -inf - (-inf) is NaN: shift such a slice by 0 instead, so that
    # every exp(-inf) is 0. Any slice holding a finite entry is shifted by its own max as usual.
    row_max = torch.where(torch.isfinite(row_max), row_max, 0.0)
    exps = torch.exp(x - row_max)
    total = exps.sum(dim=dim, keepdim=True)
    # total >= 1 whenever the slice holds a finite entry (its max contributes exp(0) = 1). An empty slice
    # has total 0; dividing its zeros by 1 keeps the output and its gradient 0 instead of 0 / 0.
    return exps / torch.where(total > 0, total, 1.0)
    # END SOLUTION


def scaled_dot_product_attention(
    Q: Float[Tensor, " ... queries d_k"],
    K: Float[Tensor, " ... keys d_k"],
    V: Float[Tensor, " ... keys d_v"],
    mask: Bool[Tensor, " ... queries keys"] | None = None,
) -> Float[Tensor, " ... queries d_v"]:
    """softmax(Q K^T / sqrt(d_k)) V (Vaswani et al. 2017, eq. 1) over any leading batch dimensions.

    `mask[..., i, j]` is True where query i may attend to key j (it broadcasts against the leading
    dimensions). A query whose keys are all masked out returns a zero vector, never NaN.
    """
    # BEGIN SOLUTION
    if Q.ndim < 2 or K.ndim < 2 or V.ndim < 2:
        raise ValueError(f"Q, K, V need shape (..., seq, dim); received {tuple(Q.shape)}, {tuple(K.shape)}, {tuple(V.shape)}")
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"Q and K must share d_k: received Q {tuple(Q.shape)} and K {tuple(K.shape)}")
    if K.shape[-2] != V.shape[-2]:
        raise ValueError(f"K and V must have the same number of keys: received K {tuple(K.shape)} and V {tuple(V.shape)}")
    if mask is not None:
        if mask.dtype != torch.bool:
            raise ValueError(f"mask must be a bool tensor (True = attend); received dtype {mask.dtype}")
        expected = (Q.shape[-2], K.shape[-2])
        if mask.ndim < 2 or any(m not in (1, e) for m, e in zip(mask.shape[-2:], expected)):
            raise ValueError(f"mask must end in (queries, keys) = {expected}; received {tuple(mask.shape)}")
    d_k = Q.shape[-1]
    # Dividing by sqrt(d_k) keeps the scores' variance near 1 for unit-variance q and k (§3.2.1), so the
    # softmax does not saturate.
    scores = einops.einsum(Q, K, "... queries d_k, ... keys d_k -> ... queries keys") / math.sqrt(d_k)
    if mask is not None:
        # -inf, not a large negative number: a masked key then gets weight exactly 0, and a query with no
        # key left gets zeros from softmax instead of an average over the masked keys.
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = softmax(scores, dim=-1)  # over the keys: each query's weights sum to 1
    return einops.einsum(weights, V, "... queries keys, ... keys d_v -> ... queries d_v")
    # END SOLUTION


def rope_angles(d_k: int, max_seq_len: int, theta: float) -> Float[Tensor, " max_seq_len half_d_k"]:
    """Angles θ_{i,k} = i / Θ^{2k/d_k} of RoPE (Su et al. 2021, eq. 15) for positions i < max_seq_len and
    pairs k < d_k / 2, in float64 on the CPU (so the tables are exact up to float64 rounding at any
    position; callers take cos/sin and cast).

    Example: rope_angles(4, 2, 100.0) -> tensor([[0., 0.], [1., 0.1]], dtype=torch.float64).
    """
    # BEGIN SOLUTION
    if d_k % 2 != 0:
        raise ValueError(f"RoPE rotates pairs of features, so d_k must be even; received d_k={d_k}")
    inverse_frequency = theta ** (-torch.arange(0, d_k, 2, dtype=torch.float64) / d_k)
    positions = torch.arange(max_seq_len, dtype=torch.float64)
    return einops.einsum(positions, inverse_frequency, "seq, half -> seq half")
    # END SOLUTION


def apply_rotary(
    x: Float[Tensor, " ... seq d_k"],
    cos: Float[Tensor, " ... seq half_d_k"],
    sin: Float[Tensor, " ... seq half_d_k"],
) -> Float[Tensor, " ... seq d_k"]:
    """Rotate each interleaved pair (x[2k], x[2k+1]) of `x` by the angle whose cos/sin are given.

    (x0, x1) -> (x0 cos - x1 sin, x0 sin + x1 cos); cos/sin broadcast against x's leading dims.
    Example: apply_rotary(tensor([1., 0.]), tensor([0.]), tensor([1.])) -> tensor([0., 1.]).
    """
    # BEGIN SOLUTION
    # Pair k is the features (2k, 2k + 1) (Su et al. 2021, eq. 34), not the two halves of the vector.
    pairs = einops.rearrange(x, "... (half two) -> ... half two", two=2)
    even, odd = pairs[..., 0], pairs[..., 1]
    rotated = torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1)
    # The tables may be float32 under bf16 activations; the output keeps the input's dtype.
    return einops.rearrange(rotated, "... half two -> ... (half two)").to(x.dtype)
    # END SOLUTION


def sinusoidal_table(max_seq_len: int, d_model: int) -> Float[Tensor, " max_seq_len d_model"]:
    """Sinusoidal position encoding (Vaswani et al. 2017, §3.5), float64 on the CPU:
    PE[pos, 2i] = sin(pos / 10000^{2i/d_model}), PE[pos, 2i+1] = cos(pos / 10000^{2i/d_model}).

    Works for odd d_model (the last column is then a sine). Example: sinusoidal_table(2, 3)[1] ->
    tensor([sin(1), cos(1), sin(1 / 10000^{2/3})]).
    """
    # BEGIN SOLUTION
    feature = torch.arange(d_model, dtype=torch.float64)
    # Columns 2i and 2i+1 share the exponent 2i / d_model.
    inverse_frequency = 10000.0 ** (-(feature - feature % 2) / d_model)
    angles = einops.einsum(torch.arange(max_seq_len, dtype=torch.float64), inverse_frequency, "seq, d -> seq d")
    return torch.where(feature % 2 == 0, torch.sin(angles), torch.cos(angles))
    # END SOLUTION
