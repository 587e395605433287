"""Sinusoidal position encoding (extra) against a per-position loop in float64 (Vaswani et al. 2017, §3.5)."""

import pytest

from tests import scenarios
from tests.adapters import run_sinusoidal_pe
from tests.fixture_io import load_tensors
from tests.numerics import assert_close

pytestmark = pytest.mark.problem("sinusoidal_pe")

# x + sin/cos in float32: two roundings of O(1) values (measured 2.4e-7). 1e-6 keeps margin; swapped
# sin/cos or a wrong frequency index moves entries by > 1e-3.
ATOL = RTOL = 1e-6


@pytest.mark.parametrize("d_model", [16, 7], ids=["even_d_model", "odd_d_model"])
def test_sinusoidal_pe_matches_per_position_loop_oracle(d_model):
    f = load_tensors("sinusoidal_pe")
    actual = run_sinusoidal_pe(d_model, int(f["max_seq_len"]), f[f"in_features_d{d_model}"])
    assert_close(
        actual, f[f"expected_d{d_model}"], atol=ATOL, rtol=RTOL,
        hint=f"PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(same angle); d_model={d_model}",
    )


@pytest.mark.parametrize("d_model", [16, 7], ids=["even_d_model", "odd_d_model"])
def test_sinusoidal_pe_with_token_positions_matches_oracle(d_model):
    f = load_tensors("sinusoidal_pe")
    actual = run_sinusoidal_pe(d_model, int(f["max_seq_len"]), f[f"in_features_d{d_model}"], f["token_positions"])
    assert_close(
        actual, f[f"expected_positions_d{d_model}"], atol=ATOL, rtol=RTOL,
        hint=f"with token_positions given, add PE[token_positions] (row b of the batch uses token_positions[b]); d_model={d_model}",
    )  # fmt: skip


def test_sinusoidal_pe_has_no_parameters_or_saved_state():
    # a fresh module from make_module; it must also add the encoding, so an empty nn.Module fails
    f = load_tensors("sinusoidal_pe")
    kwargs = {"d_model": 16, "max_seq_len": int(f["max_seq_len"])}
    assert scenarios.module_parameter_count("sinusoidal_pe", kwargs) == 0, "the sinusoidal table is fixed: no parameters"
    assert scenarios.module_state("sinusoidal_pe", kwargs) == {}, (
        "the sinusoidal table must not be saved in the state dict (register_buffer(..., persistent=False))"
    )
    actual = scenarios.module_forward("sinusoidal_pe", kwargs, {}, [f["in_features_d16"]])
    assert_close(actual, f["expected_d16"], atol=ATOL, rtol=RTOL, hint="make_module('sinusoidal_pe') must add the encoding")
