"""Embedding: lookups against torch's F.embedding, for ids of any shape.

(Initialisation: tests/test_module_init.py; bad ids: tests/test_input_validation.py.)"""

import pytest

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
