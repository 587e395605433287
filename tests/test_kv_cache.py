"""Incremental decoding with a key/value cache gives the same logits as one full forward."""

import pytest
import torch

from cs336_basics.training.config import ModelConfig
from cs336_basics.nn.kv_cache import KVCache
from cs336_basics.nn.transformer import TransformerLM
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("decoding")

# The cached path multiplies the same float32 numbers, only with different matmul shapes (1 query vs
# 12), so results differ by reduction-order noise: measured < 1e-6 on logits of size ~3. 1e-5 keeps
# margin; a wrong position offset or a mask that hides/shows the wrong keys is off by > 1e-2.
ATOL = RTOL = 1e-5


def _model(position: str) -> TransformerLM:
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=40, context_length=12, d_model=16, num_layers=2, num_heads=4, d_ff=32, position=position)
    return TransformerLM(config).eval()


@pytest.mark.parametrize("position", ["rope", "sinusoidal", "learned", "none"])
@pytest.mark.parametrize("chunks", [[1] * 12, [5, 1, 3, 3]], ids=["token_by_token", "uneven_chunks"])
def test_kv_cache_decoding_matches_full_forward(position, chunks):
    model = _model(position)
    ids = torch.randint(0, 40, (2, 12), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full = model(ids)
        cache = KVCache.for_model(model, batch_size=2)
        pieces, start = [], 0
        for size in chunks:
            pieces.append(model(ids[:, start : start + size], kv_cache=cache))
            start += size
            assert cache.length == start, f"the cache should hold {start} tokens, holds {cache.length}"
    assert_close(
        torch.cat(pieces, dim=1), full, atol=ATOL, rtol=RTOL,
        hint=f"cached decoding ({position}) differs from a full forward: new tokens take positions "
        "cache.length, ... and attend to every cached key",
    )


def test_kv_cache_overflowing_the_context_raises():
    model = _model("rope")
    cache = KVCache.for_model(model, batch_size=1)
    with torch.no_grad():
        model(torch.zeros(1, 10, dtype=torch.long), kv_cache=cache)
        with pytest.raises(ValueError, match="12"):
            model(torch.zeros(1, 3, dtype=torch.long), kv_cache=cache)


def test_kv_cache_rejects_a_different_batch_size():
    model = _model("rope")
    cache = KVCache.for_model(model, batch_size=2)
    with torch.no_grad(), pytest.raises(ValueError):
        model(torch.zeros(3, 4, dtype=torch.long), kv_cache=cache)
