"""AdamW in torch.optim.AdamW's order, the cosine learning-rate schedule and global-norm gradient clipping."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


class DecoupledAdam(torch.optim.Optimizer):
    """AdamW (Loshchilov & Hutter 2019) as torch.optim.AdamW computes it (default flags):

        theta <- theta (1 - lr wd)                     decay the pre-step parameters
        m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2
        theta <- theta - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        if not lr >= 0.0:
            raise ValueError(f"learning rate must be >= 0, got {lr}")
        if not eps >= 0.0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must both lie in [0, 1), got {betas}")
        if not weight_decay >= 0.0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
                st["step"] += 1
                t = st["step"]
                p.mul_(1.0 - lr * wd)
                st["exp_avg"].mul_(b1).add_(g, alpha=1.0 - b1)
                st["exp_avg_sq"].mul_(b2).addcmul_(g, g, value=1.0 - b2)
                denom = st["exp_avg_sq"].sqrt() / math.sqrt(1.0 - b2**t) + eps
                p.addcdiv_(st["exp_avg"], denom, value=-lr / (1.0 - b1**t))
        return loss


def cosine_lr(it, max_learning_rate, min_learning_rate, warmup_iters, cosine_cycle_iters) -> float:
    """Linear warm-up to the maximum, half-cosine down to the minimum at `cosine_cycle_iters`, then flat."""
    if it < 0 or warmup_iters < 0:
        raise ValueError(f"iterations must be >= 0, got it={it}, warmup_iters={warmup_iters}")
    if min_learning_rate > max_learning_rate:
        raise ValueError(f"min_learning_rate {min_learning_rate} > max_learning_rate {max_learning_rate}")
    if cosine_cycle_iters < warmup_iters:
        raise ValueError(f"cosine_cycle_iters {cosine_cycle_iters} < warmup_iters {warmup_iters}")
    if it < warmup_iters:
        return float(max_learning_rate * it / warmup_iters)
    if it > cosine_cycle_iters:
        return float(min_learning_rate)
    if cosine_cycle_iters == warmup_iters:
        return float(max_learning_rate)
    frac = (it - warmup_iters) / (cosine_cycle_iters - warmup_iters)
    return float(min_learning_rate + 0.5 * (1.0 + math.cos(math.pi * frac)) * (max_learning_rate - min_learning_rate))


def clip_grad_norm(parameters: Iterable[torch.nn.Parameter], max_l2_norm: float, eps: float = 1e-6) -> float:
    """Scale all gradients together so their joint L2 norm is at most `max_l2_norm`; returns the norm before."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    total = torch.sqrt(sum(torch.sum(g.detach().to(torch.float64) ** 2) for g in grads))
    if total > max_l2_norm:
        factor = max_l2_norm / (float(total) + eps)
        for g in grads:
            g.mul_(factor)
    return float(total)
