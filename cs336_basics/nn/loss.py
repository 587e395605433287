"""The language-modelling loss: mean cross-entropy of next-token logits, and perplexity."""

from __future__ import annotations

import math

import torch
from jaxtyping import Float, Int
from torch import Tensor


def cross_entropy(logits: Float[Tensor, "... vocab"], targets: Int[Tensor, "..."]) -> Float[Tensor, ""]:
    """Mean over every leading position of -log softmax(logits)[target].

    `logits` has shape (..., vocab) and `targets` the same leading shape (...) with ids in [0, vocab).
    Stable for large logits: log-sum-exp is taken after subtracting the row maximum, so logits scaled
    by 1000 give the same loss as their exact float64 value instead of inf/nan. bf16/fp16 logits are
    reduced in float32 and the loss is float32.

    Example: logits [[0., 0.]] and targets [1] give log 2 ≈ 0.6931.
    """
    # BEGIN SOLUTION
    if logits.ndim < 1 or logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"cross_entropy: logits must have shape (..., vocab) with (...) equal to the targets' shape; "
            f"got logits {tuple(logits.shape)} and targets {tuple(targets.shape)}"
        )
    if targets.dtype.is_floating_point or targets.dtype.is_complex or targets.dtype == torch.bool:
        raise ValueError(f"cross_entropy: targets must hold integer token ids, got dtype {targets.dtype}")
    vocab = logits.shape[-1]
    # reading min/max back is one host-device sync per call on a GPU: the price of a clear error
    # instead of a device-side assert from gather
    if targets.numel() > 0:
        low, high = int(targets.min()), int(targets.max())
        if low < 0 or high >= vocab:
            bad = low if low < 0 else high
            raise ValueError(f"cross_entropy: target id {bad} is outside the vocabulary [0, {vocab})")
    # bf16/fp16 logits: the log-sum-exp of thousands of terms needs float32 accumulation.
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
    # log softmax(x)[y] = x[y] - max - log sum exp(x - max): every exponent is <= 0, so nothing overflows,
    # and the largest term is exactly 1, so the log never sees 0.
    shifted = logits - logits.amax(dim=-1, keepdim=True)
    log_normaliser = torch.log(torch.exp(shifted).sum(dim=-1))
    target_logit = shifted.gather(-1, targets.long().unsqueeze(-1)).squeeze(-1)
    return (log_normaliser - target_logit).mean()
    # END SOLUTION


def perplexity(mean_loss: float | Tensor) -> float:
    """exp(mean cross-entropy in nats); inf when the loss is too large for a float.

    Example: perplexity(math.log(50)) -> 50.0 (as uncertain as a uniform choice among 50 tokens).
    """
    loss = float(mean_loss)
    if math.isnan(loss):
        return math.nan
    # exp overflows a double above about 709.78 (log of the largest double)
    return math.exp(loss) if loss < 709.0 else math.inf
