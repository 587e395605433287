"""Held-out: the Transformer LM on fresh configurations, weights and token ids against the float64 reference."""

from __future__ import annotations

import pytest
import torch

from grading.heldout.draw import describe, integers
from tests.adapters import run_transformer_lm
from tests.numerics import assert_close
from tests.oracles.model import _lm_weights, lm_reference

pytestmark = [pytest.mark.problem("transformer_lm"), pytest.mark.heldout]

# Up to 3 blocks of width <= 24 and an LM head over <= 96 ids: float32 error compounds over the layers,
# measured below 1e-5 on logits of size ~1-3; 5e-5 leaves margin while a missing final norm, shared
# layer weights or probabilities instead of logits change logits by > 1e-2.
TOL = 5e-5


def test_transformer_lm_matches_float64_reference_on_fresh_config(heldout_rng):
    num_heads = int(heldout_rng.choice([1, 2, 4]))
    d_model = num_heads * 2 * integers(heldout_rng, 1, 3)
    config = dict(
        vocab_size=integers(heldout_rng, 8, 96), context_length=integers(heldout_rng, 4, 24), d_model=d_model,
        num_layers=integers(heldout_rng, 2, 3), num_heads=num_heads, d_ff=integers(heldout_rng, d_model, 64),
        rope_theta=float(heldout_rng.choice([10000.0, 1000.0])),
    )
    weights = {
        k: torch.from_numpy(v)
        for k, v in _lm_weights(
            heldout_rng, config["vocab_size"], config["context_length"], d_model, config["num_layers"], num_heads,
            config["d_ff"],
        ).items()
    }
    seq = integers(heldout_rng, 1, config["context_length"])
    ids = torch.from_numpy(heldout_rng.integers(0, config["vocab_size"], size=(integers(heldout_rng, 1, 3), seq)))
    expected = lm_reference(
        ids, {k: v.double() for k, v in weights.items()}, config["num_layers"], num_heads, config["rope_theta"]
    ).float()
    assert_close(
        run_transformer_lm(**config, weights=weights, in_indices=ids), expected, atol=TOL, rtol=TOL,
        hint=f"logits of the LM with {describe(**config, in_indices=ids)} differ from the float64 reference: "
        f"embed, every layer in order with its own weights, the final RMSNorm, then lm_head (unnormalised logits)",
    )
