"""Embedding: lookups against torch's F.embedding, initialisation statistics, bad ids."""

import pytest
import torch

from tests.adapters import run_embedding
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("embedding")


def test_embedding_matches_torch_embedding_oracle_exactly():
    f = load_tensors("embedding")
    actual = run_embedding(50, 8, f["weight"], f["token_ids"])
    # A lookup copies rows: no arithmetic, so the result must be bit-exact.
    assert_close(
        actual, f["expected"], atol=0, rtol=0, hint="embedding rows differ from weight[token_ids]"
    )


def test_embedding_accepts_ids_of_any_shape():
    f = load_tensors("embedding")
    ids, expected = f["token_ids"], f["expected"]
    for shape in [(21,), (3, 7), (3, 1, 7)]:
        actual = run_embedding(50, 8, f["weight"], ids.reshape(shape))
        assert actual.shape == (*shape, 8), f"ids of shape {shape} should give {(*shape, 8)}, got {tuple(actual.shape)}"
        assert_close(actual, expected.reshape(*shape, 8), atol=0, rtol=0)


def test_embedding_init_is_truncated_standard_normal():
    from cs336_basics.nn.layers import Embedding

    torch.manual_seed(0)
    module = Embedding(1000, 128)
    w = module.weight.detach().double()
    assert list(module.state_dict()) == ["weight"] and w.shape == (1000, 128), "Embedding holds weight (vocab, d_model)"
    # N(0, 1) truncated at ±3 has std 0.98657; the sample std of 128000 draws is within ~0.2% of it.
    assert abs(w.std().item() / 0.98657 - 1) < 0.02, f"Embedding init std {w.std().item():.4f}, expected about 0.987 (N(0, 1) truncated at ±3)"
    assert abs(w.mean().item()) < 5 / 128000**0.5, f"Embedding init mean {w.mean().item():.2e} should be 0"
    largest = w.abs().max().item()
    assert largest <= 3 + 1e-6, f"Embedding init must be clipped at ±3; found |w| = {largest:.3f}"
    assert largest > 2.9, f"largest |w| is {largest:.2f}: clip at ±3, not lower"


@pytest.mark.parametrize("bad_id", [50, 1000, -1])
def test_embedding_rejects_out_of_range_ids_naming_id_and_vocab(bad_id):
    f = load_tensors("embedding")
    ids = f["token_ids"].clone()
    ids[1, 3] = bad_id
    with pytest.raises(ValueError, match=rf"(?s)(?=.*{bad_id})(?=.*\b50\b)"):
        run_embedding(50, 8, f["weight"], ids)


def test_embedding_rejects_non_integer_ids():
    f = load_tensors("embedding")
    with pytest.raises(ValueError):
        run_embedding(50, 8, f["weight"], f["token_ids"].float())
