"""Validation loss in nats/token and nats/byte, and the unigram baseline it should beat.

Nats/token depends on the tokenizer (a bigger vocabulary packs more text in a token); nats/byte divides
the same total loss by the number of UTF-8 bytes the predicted tokens spell, so models with different
tokenizers compare. The unigram baseline predicts every token with its training frequency (add-one
smoothed so unseen tokens cost a finite amount): what a model that ignores context achieves.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from jaxtyping import Int
from torch import nn

from cs336_basics.nn.loss import cross_entropy


@dataclass
class EvalResult:
    nats_per_token: float
    nats_per_byte: float | None
    tokens: int


def eval_windows(num_tokens: int, context_length: int, max_tokens: int | None) -> np.ndarray:
    """Start offsets of non-overlapping windows of context_length + 1 tokens (inputs and shifted targets);
    at most max_tokens // context_length of them, evenly spread over the array.
    Example: eval_windows(100, 10, 30) -> array([ 0, 40, 80])."""
    count = (num_tokens - 1) // context_length
    if count < 1:
        raise ValueError(f"the validation set has {num_tokens} tokens, fewer than context_length + 1 = {context_length + 1}")
    starts = np.arange(count) * context_length
    if max_tokens is not None and max_tokens // context_length < count:
        keep = max(1, max_tokens // context_length)
        starts = starts[np.linspace(0, count - 1, keep).round().astype(np.int64)]
    return starts


@torch.no_grad()
def evaluate(
    model: nn.Module,
    tokens: Int[np.ndarray, " n"],
    context_length: int,
    batch_size: int,
    device: torch.device,
    token_bytes: Int[np.ndarray, " vocab"] | None = None,
    max_tokens: int | None = None,
    autocast: contextlib.AbstractContextManager | None = None,
) -> EvalResult:
    """Mean cross-entropy of `model` on fixed windows of `tokens` (deterministic: no sampling).

    `token_bytes[i]` is the byte length of token i; with it the loss is also given per byte."""
    was_training = model.training
    model.eval()
    starts = eval_windows(len(tokens), context_length, max_tokens)
    offsets = np.arange(context_length + 1)
    total_nats, total_tokens, total_bytes = 0.0, 0, 0
    for i in range(0, len(starts), batch_size):
        window = np.asarray(tokens[starts[i : i + batch_size, None] + offsets], dtype=np.int64)
        batch = torch.from_numpy(window).to(device)
        x, y = batch[:, :-1], batch[:, 1:]
        with autocast or contextlib.nullcontext():
            logits = model(x)
        loss = cross_entropy(logits.float().flatten(0, 1), y.flatten())
        total_nats += loss.item() * y.numel()
        total_tokens += y.numel()
        if token_bytes is not None:
            total_bytes += int(token_bytes[window[:, 1:]].sum())
    model.train(was_training)
    per_byte = total_nats / total_bytes if token_bytes is not None else None
    return EvalResult(total_nats / total_tokens, per_byte, total_tokens)


def unigram_baseline(
    train: Int[np.ndarray, " n"], val: Int[np.ndarray, " m"], vocab_size: int, token_bytes: Int[np.ndarray, " vocab"] | None
) -> EvalResult:
    """Cross-entropy on `val` of the add-one-smoothed unigram distribution of `train`.
    Example: train [0, 0, 1], val [0], vocab 2 -> p(0) = 3/5, loss = -ln(3/5) ≈ 0.511 nats/token."""
    counts = np.bincount(np.asarray(train), minlength=vocab_size).astype(np.float64) + 1.0
    log_p = np.log(counts / counts.sum())
    val_counts = np.bincount(np.asarray(val), minlength=vocab_size)
    total_nats = -float(val_counts @ log_p)
    per_byte = total_nats / float(val_counts @ token_bytes) if token_bytes is not None else None
    return EvalResult(total_nats / len(val), per_byte, len(val))
