"""The similarity claims of handout.md's position chapter, checked on the package's own modules.

1. Sinusoidal (Vaswani et al. 2017 §3.5): PE_i · PE_j = sum_k cos((i - j) ω_k), a function of i - j only.
2. RoPE (Su et al. 2021): (R_i q) · (R_j k) = q^T R_(j-i) k, a function of the offset j - i only.
3. A freshly initialised learned table has neither property: its rows are independent random vectors.

"Depends only on i - j" is tested as: the Gram matrix is constant along every diagonal (Toeplitz).
"""

from __future__ import annotations


import pytest
import torch

pytestmark = pytest.mark.staff

SEQ, D = 96, 64


def _diagonal_spread(gram: torch.Tensor) -> torch.Tensor:
    """For each offset s = 0..n-2, max - min of gram[i, i+s] over i (0 for a Toeplitz matrix)."""
    n = gram.shape[0]
    return torch.stack([gram.diagonal(s).max() - gram.diagonal(s).min() for s in range(n - 1)])


def _sinusoidal_table(d_model: int, dtype: torch.dtype) -> torch.Tensor:
    from cs336_basics.nn.positional import SinusoidalPositionalEncoding

    pe = SinusoidalPositionalEncoding(d_model, SEQ, dtype=dtype)
    return pe(torch.zeros(SEQ, d_model, dtype=dtype))  # forward adds PE to its input


@pytest.mark.parametrize("d_model", [D, 33])
def test_sinusoidal_dot_product_depends_only_on_position_difference(d_model):
    # For odd d_model the last column is a sine without its cosine partner; sin(iω)sin(jω) alone is not a
    # function of i - j, so the claim is about the paired columns (the handout says so).
    table = _sinusoidal_table(d_model, torch.float32).double()[:, : 2 * (d_model // 2)]
    gram = table @ table.T
    # Each entry is a sum of d_model terms of size <= 1, built from angles i*ω of magnitude <= SEQ computed
    # in float32: angle error <= SEQ * 2^-24 ≈ 6e-6 rad, so entries move by <= d_model * 6e-6 ≈ 4e-4.
    # A wrong frequency index (e.g. ω over every dim instead of every pair) moves them by O(1).
    spread = _diagonal_spread(gram)
    assert spread.max() < 1e-3, (
        f"d_model={d_model}: PE_i·PE_j varies along diagonal offset {int(spread.argmax())} by "
        f"{spread.max():.3g}; it should depend on i - j only"
    )
    # and it is not trivially constant: nearby positions are more alike than distant ones
    assert gram[0, 1] > gram[0, 8] > gram[0, 40], "similarity should fall off with distance at short range"


def test_rope_rotated_dot_product_depends_only_on_offset():
    from cs336_basics.nn.positional import RotaryPositionalEmbedding

    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, D, generator=gen)
    rope = RotaryPositionalEmbedding(10000.0, D, SEQ)
    positions = torch.arange(SEQ)
    rq = rope(q.expand(SEQ, D).clone(), positions)  # q placed at every position 0..SEQ-1
    rk = rope(k.expand(SEQ, D).clone(), positions)
    scores = (rq.double() @ rk.double().T)  # scores[i, j] = (R_i q)·(R_j k)
    # Float32 rotation: angle error <= SEQ * 2^-24 per pair, so each score moves by about
    # |q| |k| * 6e-6 ≈ 4e-4; 1e-3 leaves room for the products' rounding. Rotating q and k by
    # different conventions, or a non-orthogonal "rotation", changes scores by O(|q||k|).
    spread = _diagonal_spread(scores)
    assert spread.max() < 1e-3, (
        f"(R_i q)·(R_j k) varies along offset {int(spread.argmax())} by {spread.max():.3g}; RoPE should make it "
        "depend on j - i only"
    )
    # Same q, k at (i, j) and (i + s, j + s) for a few explicit pairs, as the handout states it.
    for i, j, s in [(3, 10, 50), (40, 2, 17), (0, 0, 95)]:
        assert torch.isclose(scores[i, j], scores[i + s, j + s], atol=1e-3), (i, j, s)
    # RoPE is a rotation: it keeps lengths (checked at float32 precision, relative 1e-5)
    torch.testing.assert_close(rq.norm(dim=-1), q.norm().expand(SEQ), rtol=1e-5, atol=0)


def test_fresh_learned_table_has_no_offset_structure():
    from cs336_basics.nn.positional import LearnedPositionalEmbedding

    torch.manual_seed(0)
    table = LearnedPositionalEmbedding(SEQ, D).weight.detach().double()
    unit = table / table.norm(dim=-1, keepdim=True)
    cos = unit @ unit.T
    # Independent random rows: off-diagonal cosine similarities are ≈ N(0, 1/D), std 0.125 at D=64.
    # Along a diagonal they therefore scatter by several std (range ≈ 4-5 std over ~90 values), where
    # a Toeplitz (offset-only) matrix would have zero spread.
    spread = _diagonal_spread(cos)[1:40]
    assert spread.min() > 2 / D**0.5, f"a fresh learned table looks offset-structured: spread {spread.min():.3g}"
    # and there is no locality: neighbours are no more alike than far-apart positions (4 standard errors)
    neighbours = cos.diagonal(1).mean()
    assert abs(neighbours) < 4 / (D * (SEQ - 1)) ** 0.5, f"mean neighbour similarity {neighbours:.3g} is not ≈ 0"
