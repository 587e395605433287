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


# BEGIN SOLUTION
class _SiLUGate(torch.autograd.Function):
    """silu(a) * b, the SwiGLU gate, with a hand-written backward.

    Autograd through a * sigmoid(a) * b spends about nine passes over the (..., d_ff) activations, each
    into a fresh buffer; torch's fused F.silu needs five. Here: three passes forward and seven backward,
    two fresh buffers each way, from a, b and s = sigmoid(a):
        d/db = dy * silu(a),    d/da = dy * b * silu'(a),    silu'(a) = s + a s (1 - s) = s (1 + a - a s).
    """

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor) -> Tensor:
        s = torch.sigmoid(a)
        ctx.save_for_backward(a, b, s)
        return (a * s).mul_(b)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dy: Tensor) -> tuple[Tensor, Tensor]:
        a, b, s = ctx.saved_tensors
        silu_a = a * s
        db = silu_a * dy
        # silu'(a) = s (1 + a - silu(a)), built over silu_a's buffer once db no longer needs it.
        da = torch.sub(a, silu_a, out=silu_a).add_(1.0).mul_(s).mul_(dy).mul_(b)
        return da, db


def silu_gate(a: Float[Tensor, " ..."], b: Float[Tensor, " ..."]) -> Float[Tensor, " ..."]:
    """silu(a) * b elementwise, for a and b of one shape: the gate of SwiGLU."""
    if a.shape != b.shape:
        raise ValueError(f"silu_gate expects two tensors of one shape; received {tuple(a.shape)} and {tuple(b.shape)}")
    if torch.is_grad_enabled() and (a.requires_grad or b.requires_grad):
        return _SiLUGate.apply(a, b)
    return torch.sigmoid(a).mul_(a).mul_(b)  # no graph to record: one fresh buffer


def _stable_softmax(x: Tensor, dim: int, inplace: bool = False) -> Tensor:
    """softmax(x) along dim; with inplace=True it overwrites x (a caller's own fresh buffer) and returns it."""
    # Clamping the max to the most negative finite value keeps an all -inf slice at exp(-inf) = 0
    # instead of exp(-inf - -inf) = NaN; it changes nothing for any slice holding a finite entry.
    row_max = x.amax(dim=dim, keepdim=True).clamp_min(torch.finfo(x.dtype).min)
    # exp and the division run in place on the difference: one large temporary instead of three, or
    # none with inplace (each new buffer of attention scores costs page faults on a CPU).
    exps = (x.sub_(row_max) if inplace else x - row_max).exp_()
    # The sum is >= 1 whenever the slice holds a finite entry (its max contributes exp(0) = 1); the
    # clamp only turns 0 / 0 into 0 / tiny = 0 for an all -inf slice.
    return exps.div_(exps.sum(dim=dim, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny))


class _Softmax(torch.autograd.Function):
    """Softmax with a hand-written backward that keeps only the output y.

    Autograd through _stable_softmax would save x - max, exp and the sum and spend about six passes
    over the scores (max, exp, sum and division backward); with y alone the vector-Jacobian product is
    dx = y * (dy - sum(dy * y)), two passes. Attention softmax is the largest elementwise cost of a
    training step, so this is worth ~10% of step time on a CPU.
    """

    @staticmethod
    def forward(ctx, x: Tensor, dim: int, inplace: bool) -> Tensor:
        y = _stable_softmax(x, dim, inplace)
        if inplace:
            ctx.mark_dirty(x)  # autograd must know x now holds y
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dy: Tensor) -> tuple[Tensor, None, None]:
        (y,) = ctx.saved_tensors
        dy_y = dy * y
        # y * dy - y * sum(dy * y), in one fused multiply-subtract; masked entries (y = 0) get 0.
        return dy_y.addcmul_(y, dy_y.sum(dim=ctx.dim, keepdim=True), value=-1.0), None, None


def _softmax(x: Tensor, dim: int, inplace: bool) -> Tensor:
    """softmax(x) along dim, with the hand-written backward when autograd records a graph. inplace=True
    writes over x, for a buffer the caller made and no one else reads (attention's scores): no
    scores-sized temporary in the forward pass."""
    if torch.is_grad_enabled() and x.requires_grad:
        return _Softmax.apply(x, dim, inplace)
    return _stable_softmax(x, dim, inplace)  # no graph to record: skip the autograd.Function call overhead
# END SOLUTION


def softmax(x: Float[Tensor, " ..."], dim: int) -> Float[Tensor, " ..."]:
    """Numerically stable softmax of `x` along `dim`.

    exp(x - max) is mathematically the same as exp(x) after normalisation but never overflows. A slice
    whose entries are all -inf (a query that may attend to nothing) gets all zeros rather than NaN.

    Example: softmax(tensor([[0., log(3.)]]), dim=-1) -> tensor([[0.2500, 0.7500]]).
    """
    # BEGIN SOLUTION
    return _softmax(x, dim, inplace=False)
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
    # Scaling Q (queries x d_k entries) is cheaper than scaling the scores (queries x keys entries).
    # (... queries d_k) @ (... d_k keys) -> (... queries keys). matmul rather than einops.einsum here: the
    # einsum's per-call overhead (~10 µs) is a fifth of a decoding step's attention on a CPU.
    scores = (Q * (1.0 / math.sqrt(Q.shape[-1]))) @ K.mT
    if mask is not None:
        # An additive 0 / -inf bias rather than masked_fill: its backward is the identity, where
        # masked_fill's would spend a pass re-masking gradients the softmax already zeroes.
        scores += torch.where(mask, 0.0, float("-inf")).to(scores.dtype)  # in place on the fresh product
    weights = _softmax(scores, dim=-1, inplace=True)  # softmax(scores), over the fresh product itself
    return weights @ V  # (... queries keys) @ (... keys d_v) -> (... queries d_v)
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


# BEGIN SOLUTION
def _as_complex(pairs: Float[Tensor, " ... half two"]) -> Tensor:
    """View (..., half, 2) real pairs as (..., half) complex numbers, copying only when the memory layout
    does not allow a view (each pair must be adjacent: last stride 1, every other stride even)."""
    if pairs.is_contiguous() and pairs.storage_offset() % 2 == 0:
        return torch.view_as_complex(pairs)  # the common case, without the stride checks below
    if pairs.stride(-1) != 1 or pairs.storage_offset() % 2 or any(s % 2 for s in pairs.stride()[:-1]):
        pairs = pairs.clone(memory_format=torch.contiguous_format)  # fresh storage: offset 0, dense strides
    return torch.view_as_complex(pairs)


def _rotate_pairs(
    x: Float[Tensor, " ... seq d_k"], rotation: Float[Tensor, " ... seq half_d_k two"]
) -> Float[Tensor, " ... seq d_k"]:
    """apply_rotary with cos and sin as the pairs (cos, sin) of one tensor: e^{iθ} in real form, which
    RoPE stores as its table, so that a decoding step views it as complex numbers instead of building them."""
    # (x0 + i x1)(cos + i sin) = (x0 cos - x1 sin) + i (x0 sin + x1 cos): the rotation of a pair is one
    # complex product, a single vectorised kernel where four real products and a stack take 5x longer.
    dtype = torch.promote_types(x.dtype, torch.float32)  # complex numbers come in float32/float64 only
    pairs = x.unflatten(-1, (-1, 2)).to(dtype)  # (... seq d_k) -> (... seq half two): pair k is (2k, 2k+1)
    rotation = rotation.to(dtype)
    if torch.compiler.is_compiling():
        # torch.compile fuses the real form into one kernel but cannot trace complex views.
        even, odd = pairs.unbind(dim=-1)
        cos, sin = rotation.unbind(dim=-1)
        rotated = torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1)
    else:
        rotated = torch.view_as_real(_as_complex(pairs) * _as_complex(rotation))  # (... seq half two)
    return rotated.flatten(-2).to(x.dtype)
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
    return _rotate_pairs(x, torch.stack((cos, sin), dim=-1))
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
