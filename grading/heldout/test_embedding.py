"""Held-out: Embedding lookups of fresh tables and id arrays against F.embedding (exact)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from grading.heldout.draw import describe, integers, leading_shape, normal
from tests.adapters import run_embedding
from tests.numerics import assert_close

pytestmark = [pytest.mark.problem("embedding"), pytest.mark.heldout]


def test_embedding_matches_f_embedding_exactly_on_fresh_ids(heldout_rng):
    vocab_size, d_model = integers(heldout_rng, 2, 300), integers(heldout_rng, 1, 32)
    table = normal(heldout_rng, vocab_size, d_model)
    shape = leading_shape(heldout_rng, 3, max_size=6, min_dims=1)
    ids = torch.from_numpy(heldout_rng.integers(0, vocab_size, size=shape))
    ids.view(-1)[0], ids.view(-1)[-1] = 0, vocab_size - 1  # both ends of the table
    # a lookup copies rows: no arithmetic, so the result is exact
    assert_close(
        run_embedding(vocab_size, d_model, table, ids), F.embedding(ids, table), atol=0, rtol=0,
        hint=f"Embedding with {describe(vocab_size=vocab_size, d_model=d_model, token_ids=ids)} differs from "
        f"weight[token_ids] (the output has shape token_ids.shape + (d_model,))",
    )
