"""Decoding: temperature, top-p (nucleus) sampling, a stop token, a seed, and a key/value cache.

With the cache, the prompt is run once (prefill) and every new token costs one position: its keys and
values are appended to the cache and its query attends to all of them. Without it, every step re-runs
the whole prefix, which is what the cache must reproduce exactly.
Temperature 0 means greedy decoding (argmax), as does top-p close to 0.
"""

from __future__ import annotations

import torch
from jaxtyping import Float
from torch import Tensor, nn

from cs336_basics.nn.functional import softmax
from cs336_basics.nn.kv_cache import KVCache


def sample_next_token(
    logits: Float[Tensor, " vocab"], temperature: float = 1.0, top_p: float = 1.0, generator: torch.Generator | None = None
) -> int:
    """Draw a token id from softmax(logits / temperature), restricted to the smallest set of most likely
    tokens whose probability mass reaches top_p (Holtzman et al. 2020, §3.1). The most likely token is
    always kept, so top_p -> 0 and temperature 0 are both greedy.
    Example: logits [2., 1., 0.], temperature 0 -> 0."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    # BEGIN SOLUTION
    if temperature == 0:
        return int(torch.argmax(logits))
    probs = softmax(logits.float() / temperature, dim=-1)
    sorted_probs, order = torch.sort(probs, descending=True, stable=True)
    # keep token k if the mass of the tokens ranked before it is still below top_p (so rank 0 always stays)
    mass_before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
    sorted_probs = torch.where(mass_before < top_p, sorted_probs, torch.zeros_like(sorted_probs))
    choice = torch.multinomial(sorted_probs, 1, generator=generator)
    return int(order[choice])
    # END SOLUTION


@torch.inference_mode()  # like no_grad, and also skips autograd's view and version tracking
def generate(
    model: nn.Module,
    prompt: list[int],
    max_new_tokens: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    stop_token_id: int | None = None,
    seed: int | None = None,
    use_cache: bool = True,
    vocab_size: int | None = None,
) -> list[int]:
    """Continue `prompt` (token ids) by up to `max_new_tokens` tokens; stop after `stop_token_id` (included).

    A prefix longer than the model's context is cut to its last context_length tokens (without the cache)
    or, with the cache, re-prefilled from its last context_length // 2 tokens when the cache is full.
    `seed` makes sampling reproducible; `vocab_size` limits sampling to ids below it (a tokenizer smaller
    than the model's vocabulary cannot decode the others). Returns the new tokens only."""
    if not prompt:
        raise ValueError("generate: the prompt must contain at least one token")
    if max_new_tokens < 0:
        raise ValueError(f"generate: max_new_tokens must be >= 0, got {max_new_tokens}")
    # BEGIN SOLUTION
    device = next(model.parameters()).device
    context_length = model.config.context_length
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()  # nondeterministic, without touching the global RNG
    else:
        generator.manual_seed(seed)
    was_training = model.training
    model.eval()
    tokens = list(prompt)
    new: list[int] = []
    cache, cached = None, 0  # cached: number of tokens of `tokens` whose keys/values are in the cache
    for _ in range(max_new_tokens):
        if use_cache:
            if cache is None or len(tokens) > context_length:
                keep = tokens[-(context_length // 2 if cache is not None else context_length) :]
                tokens, cache, cached = keep, KVCache.for_model(model, batch_size=1), 0
            feed = torch.tensor([tokens[cached:]], device=device)
            logits = model(feed, kv_cache=cache)[0, -1]
            cached = len(tokens)
        else:
            logits = model(torch.tensor([tokens[-context_length:]], device=device))[0, -1]
        token = sample_next_token(logits[:vocab_size], temperature, top_p, generator)
        tokens.append(token)
        new.append(token)
        if token == stop_token_id:
            break
    model.train(was_training)
    return new
    # END SOLUTION


def generate_text(
    model: nn.Module,
    tokenizer,
    prompt: str,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    seed: int | None = None,
    stop_token: str | None = None,
    use_cache: bool = True,
) -> str:
    """`generate` on text: the prompt followed by its continuation, decoded (the stop token is dropped).
    An empty prompt starts a new document: the model sees the stop token (the document separator), which
    is not shown."""
    stop_id = tokenizer.encode(stop_token)[0] if stop_token else None
    if not prompt and stop_id is None:
        raise ValueError("generate_text: an empty prompt needs a stop token to start the document with")
    ids = tokenizer.encode(prompt) if prompt else []
    new = generate(
        model, ids or [stop_id], max_new_tokens, temperature, top_p, stop_id, seed, use_cache, len(tokenizer.vocab)
    )
    if new and new[-1] == stop_id:
        new = new[:-1]
    return tokenizer.decode(ids + new)
