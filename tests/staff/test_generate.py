"""Decoding: the KV cache reproduces recomputation, top-p and temperature limits, stop token, seeds."""

from __future__ import annotations

import math

import pytest
import torch

from cs336_basics.training.config import ModelConfig
from cs336_basics.decoding import generate, sample_next_token
from cs336_basics.nn.kv_cache import KVCache
from cs336_basics.nn.transformer import TransformerLM
from tests.staff.tiny_run import one_thread  # noqa: F401 (autouse: one CPU thread)

pytestmark = pytest.mark.staff

CONFIG = ModelConfig(vocab_size=97, context_length=48, d_model=64, num_layers=2, num_heads=4, d_ff=128)
PROMPT = [5, 17, 3, 60, 42, 8]


@pytest.fixture(scope="module")
def model() -> TransformerLM:
    torch.manual_seed(0)
    lm = TransformerLM(CONFIG, device=torch.device("cpu"), dtype=torch.float32)
    # sharpen the random model (std 0.02 init gives near-uniform logits) so greedy choices have clear margins
    with torch.no_grad():
        lm.lm_head.weight.mul_(20)
    return lm.eval()


def greedy_by_hand(model: TransformerLM, prompt: list[int], n: int) -> list[int]:
    """Oracle: argmax of a full forward pass over the whole prefix at every step."""
    tokens = list(prompt)
    with torch.no_grad():
        for _ in range(n):
            tokens.append(int(model(torch.tensor([tokens]))[0, -1].argmax()))
    return tokens[len(prompt) :]


def test_greedy_with_kv_cache_matches_full_recomputation(model):
    n = CONFIG.context_length - len(PROMPT)  # fill the context exactly
    expected = greedy_by_hand(model, PROMPT, n)
    cached = generate(model, PROMPT, n, temperature=0.0, use_cache=True)
    uncached = generate(model, PROMPT, n, temperature=0.0, use_cache=False)
    assert uncached == expected, "generation without the cache differs from argmax of a full forward pass"
    first_bad = next((i for i, (a, b) in enumerate(zip(cached, expected)) if a != b), None)
    assert cached == expected, f"KV-cache decoding diverges from recomputation at new token {first_bad}"


def test_cached_logits_match_full_forward_at_every_position(model):
    """Prefill + one-token steps give the logits of one forward pass over the sequence (float32 rounding only)."""
    tokens = torch.tensor([PROMPT + [11, 12, 13, 14]])
    with torch.no_grad():
        full = model(tokens)[0]
        cache = KVCache.for_model(model, batch_size=1)
        steps = [model(tokens[:, : len(PROMPT)], kv_cache=cache)[0]]
        for i in range(len(PROMPT), tokens.shape[1]):
            steps.append(model(tokens[:, i : i + 1], kv_cache=cache)[0])
    incremental = torch.cat(steps)
    # float32 sums in a different order: ~1e-6 relative on logits of size ~20 (the sharpened head)
    torch.testing.assert_close(incremental, full, rtol=1e-4, atol=1e-4)


def test_generation_past_the_context_length_keeps_going(model):
    out = generate(model, PROMPT, 2 * CONFIG.context_length, temperature=1.0, seed=0)
    assert len(out) == 2 * CONFIG.context_length
    assert all(0 <= t < CONFIG.vocab_size for t in out)


def test_temperature_zero_is_greedy():
    logits = torch.tensor([0.1, 2.0, -1.0, 1.9])
    assert all(sample_next_token(logits, temperature=0.0) == 1 for _ in range(5))


def test_top_p_near_zero_is_greedy(model):
    greedy = generate(model, PROMPT, 12, temperature=0.0)
    for seed in range(3):
        assert generate(model, PROMPT, 12, temperature=1.0, top_p=1e-9, seed=seed) == greedy


def test_top_p_samples_only_the_nucleus_with_renormalised_probabilities():
    # probabilities 0.5, 0.3, 0.15, 0.05: the nucleus of mass 0.7 is {0, 1}, renormalised to 5/8, 3/8
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    g = torch.Generator().manual_seed(0)
    draws = torch.tensor([sample_next_token(probs.log(), 1.0, 0.7, g) for _ in range(4000)])
    assert set(draws.tolist()) <= {0, 1}, f"top_p=0.7 sampled tokens outside the nucleus {{0, 1}}: {set(draws.tolist())}"
    share = (draws == 0).float().mean().item()
    # binomial standard error sqrt(p(1-p)/n) = 0.0077 at n=4000; 4 sigma
    assert abs(share - 5 / 8) < 4 * math.sqrt(5 / 8 * 3 / 8 / 4000), f"token 0 drawn {share:.3f} of the time, expected 0.625"


def test_temperature_scales_logits_before_softmax():
    # temperature 2 on logits [ln 4, 0] gives probabilities proportional to [2, 1]
    logits = torch.tensor([math.log(4.0), 0.0])
    g = torch.Generator().manual_seed(1)
    share = sum(sample_next_token(logits, 2.0, 1.0, g) == 0 for _ in range(4000)) / 4000
    assert abs(share - 2 / 3) < 4 * math.sqrt(2 / 9 / 4000), f"token 0 drawn {share:.3f} of the time, expected 2/3"


def test_stop_token_halts_generation(model):
    greedy = generate(model, PROMPT, 10, temperature=0.0)
    stop = greedy[3]
    out = generate(model, PROMPT, 10, temperature=0.0, stop_token_id=stop)
    assert out == greedy[: greedy.index(stop) + 1], "generation must end right after emitting the stop token"


def test_seed_makes_sampling_reproducible(model):
    a = generate(model, PROMPT, 20, temperature=1.0, seed=123)
    b = generate(model, PROMPT, 20, temperature=1.0, seed=123)
    c = generate(model, PROMPT, 20, temperature=1.0, seed=124)
    assert a == b, "the same seed gave different samples"
    assert a != c, "different seeds gave identical 20-token samples"


def test_bad_sampling_arguments_are_rejected():
    with pytest.raises(ValueError, match="temperature"):
        sample_next_token(torch.zeros(3), temperature=-1.0)
    with pytest.raises(ValueError, match="top_p"):
        sample_next_token(torch.zeros(3), top_p=0.0)
