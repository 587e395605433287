"""Held-out: every ablation switch of the LM (position, norm, ffn) on fresh configurations, weights and ids,
against the float64 reference of tests/oracles/model.py."""

from __future__ import annotations

import pytest

from grading.heldout.draw import describe, lm_problem
from tests.adapters import run_transformer_lm_ablation
from tests.numerics import assert_close

pytestmark = [pytest.mark.problem("lm_ablations"), pytest.mark.heldout]

# as in test_transformer_lm.py: up to 2 float32 blocks, measured below 1e-5 on logits of size ~1-3
# (sinusoidal tables computed in float32 add <= 2e-5 at positions < 24); 5e-5 leaves margin, while a
# position encoding built but not added, or a norm in the wrong place, changes logits by > 1e-2.
TOL = 5e-5
VARIANTS = {
    "post_norm": ("rope", "post", "swiglu"),
    "no_norm": ("rope", "none", "swiglu"),
    "sinusoidal": ("sinusoidal", "pre", "swiglu"),
    "learned": ("learned", "pre", "swiglu"),
    "nope": ("none", "pre", "swiglu"),
    "silu_ffn": ("rope", "pre", "silu"),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_lm_ablation_matches_float64_reference_on_fresh_config(heldout_rng, name):
    position, norm, ffn = VARIANTS[name]
    config, weights, ids, expected = lm_problem(heldout_rng, 1, 2, position=position, norm=norm, ffn=ffn)
    actual = run_transformer_lm_ablation(**config, weights=weights, in_indices=ids, position=position, norm=norm, ffn=ffn)
    assert_close(
        actual, expected, atol=TOL, rtol=TOL,
        hint=f"the LM with position={position!r}, norm={norm!r}, ffn={ffn!r} and {describe(**config, in_indices=ids)} "
        f"differs from the float64 reference (see the handout's ablation section for where each switch acts)",
    )
