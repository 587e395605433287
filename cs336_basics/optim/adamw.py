"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019, Algorithm 2)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch


class AdamW(torch.optim.Optimizer):
    """AdamW exactly as the CS336 (2025) handout states Loshchilov & Hutter (2019), Algorithm 2.

    For each parameter θ with gradient g, at step t = 1, 2, ... (lr α, betas β₁ β₂, eps ε, decay λ):

        m  ← β₁·m + (1 − β₁)·g
        v  ← β₂·v + (1 − β₂)·g²
        α_t = α · √(1 − β₂ᵗ) / (1 − β₁ᵗ)
        θ  ← θ − α_t · m / (√v + ε)
        θ  ← θ − α·λ·θ                  (decoupled decay, applied to the updated θ)

    All state (m, v and the step count t) lives in `self.state[p]`, so `state_dict()` /
    `load_state_dict()` resume training exactly. Each param group may set its own lr, betas, eps and
    weight_decay (e.g. no decay on norms and embeddings).

    How this differs from `torch.optim.AdamW` (PyTorch 2.x, default flags), which computes
        θ ← θ·(1 − αλ);  θ ← θ − (α / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε_torch):
    1. ε placement. Multiplying torch's denominator by √(1 − β₂ᵗ) shows torch adds ε·√(1 − β₂ᵗ) to √v
       where this class adds ε: torch's ε is effectively smaller early in training (by √0.001 ≈ 1/32 at
       t = 1 with β₂ = 0.999) and the same as ours once β₂ᵗ ≈ 0. The two steps differ by at most
       α_t·(|m|/√v)·ε·(1 − √(1 − β₂ᵗ))/√v per element: negligible whenever |g| ≫ ε.
    2. Order of decay. torch decays θ before the Adam step; here the decay acts on the already-updated
       θ, so our step is torch's step minus αλ times the Adam update: a difference of at most
       αλ·α_t·|m|/(√v + ε) per element, i.e. a relative change of αλ (1e-5 for α = 1e-3, λ = 0.01).
    Because |m|/√v ≤ (1 − β₁)·√(Σ_{k<t} (β₁²/β₂)ᵏ / (1 − β₂)) (Cauchy–Schwarz on the two moving
    averages; 7.3 at most for the default betas), both differences are bounded per step, and over T steps
    with gradients that do not depend on θ the parameters differ by at most the sum of the per-step
    bounds (the decay factor 1 − αλ ≤ 1 never amplifies a difference).
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        # BEGIN SOLUTION
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        _check_hyperparameters(defaults, where="AdamW")
        super().__init__(params, defaults)
        # a param group may override any default, so check each group's final values too
        for i, group in enumerate(self.param_groups):
            _check_hyperparameters(group, where=f"AdamW param group {i}")
        # END SOLUTION

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Update every parameter that has a gradient; return the closure's loss if one is given."""
        # BEGIN SOLUTION
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2), eps, decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if grad.is_sparse:
                    raise ValueError("AdamW does not support sparse gradients")
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                t = state["step"] + 1
                m = beta1 * state["exp_avg"] + (1 - beta1) * grad
                v = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad**2
                state["step"], state["exp_avg"], state["exp_avg_sq"] = t, m, v
                alpha_t = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
                # `p -= ...` updates the parameter tensor itself, which the model holds too; step runs
                # under no_grad, so autograd records nothing.
                p -= alpha_t * m / (torch.sqrt(v) + eps)
                p -= lr * decay * p  # decoupled decay of the already-updated θ (Algorithm 2, line 12)
        return loss
        # END SOLUTION


# BEGIN SOLUTION
def _check_hyperparameters(group: dict[str, Any], where: str) -> None:
    lr, betas, eps, decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
    if not (isinstance(lr, (int, float)) and lr >= 0):
        raise ValueError(f"{where}: lr must be a number >= 0, got {lr!r}")
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ValueError(f"{where}: betas must be a pair (beta1, beta2), got {betas!r}")
    for i, beta in enumerate(betas):
        if not (isinstance(beta, (int, float)) and 0 <= beta < 1):
            raise ValueError(f"{where}: betas[{i}] must be in [0, 1), got {beta!r}")
    if not (isinstance(eps, (int, float)) and eps > 0):
        raise ValueError(f"{where}: eps must be > 0 (it keeps m / (sqrt(v) + eps) finite), got {eps!r}")
    if not (isinstance(decay, (int, float)) and decay >= 0):
        raise ValueError(f"{where}: weight_decay must be >= 0, got {decay!r}")


# END SOLUTION
