"""Gradient clipping by the global L2 norm (Pascanu et al. 2013, §3.2)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from jaxtyping import Float
from torch import Tensor


def clip_gradients(parameters: Iterable[torch.nn.Parameter], max_l2_norm: float, eps: float = 1e-6) -> Float[Tensor, ""]:
    """Scale all gradients in place by max_l2_norm / (‖g‖ + eps) when their global norm ‖g‖ exceeds max_l2_norm.

    ‖g‖ is the L2 norm of every gradient concatenated; parameters whose `.grad` is None (frozen or
    unused) are skipped. Gradients are never scaled up. `parameters` may be a generator (it is read once).
    Returns the pre-clip norm as a 0-dim tensor (call `.item()` to log it); 0 when no parameter has a
    gradient.

    Example: gradients [3., 4.] with max_l2_norm 1 become [0.6, 0.8] (times 5 / (5 + 1e-6)); returns 5.
    """
    # BEGIN SOLUTION
    if not max_l2_norm > 0:
        raise ValueError(f"clip_gradients: max_l2_norm must be > 0, got {max_l2_norm!r}")
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    # The norm of the concatenation is the norm of the per-tensor norms: no concatenated copy needed.
    per_tensor = torch.stack([torch.linalg.vector_norm(g) for g in grads])
    total = torch.linalg.vector_norm(per_tensor)
    if total > max_l2_norm:
        scale = max_l2_norm / (total + eps)
        for g in grads:
            g *= scale  # in place: the caller's optimiser reads p.grad
    return total
    # END SOLUTION
