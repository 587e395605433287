"""The reference Linear's inference route for few rows (decoding, short prompts) computes x W^T as
(W x^T)^T, a faster BLAS route on a CPU. It must give the same numbers and shapes as the general route,
for any leading dims, strides and row counts on both sides of the threshold, and never run under autograd."""

from __future__ import annotations

import pytest
import torch

from cs336_basics.nn import layers
from cs336_basics.nn.layers import Linear
from tests.numerics import assert_close

pytestmark = pytest.mark.staff

D_IN, D_OUT = 48, 40
THRESHOLD = layers._FEW_ROWS


def _layer() -> Linear:
    torch.manual_seed(0)
    return Linear(D_IN, D_OUT)


def _oracle(layer: Linear, x: torch.Tensor) -> torch.Tensor:
    return (x.double() @ layer.weight.detach().double().T).float()


@pytest.mark.parametrize(
    "shape",
    [(D_IN,), (1, D_IN), (1, 1, D_IN), (2, D_IN), (2, 3, D_IN), (THRESHOLD, D_IN), (THRESHOLD + 1, D_IN), (0, D_IN), (3, 0, D_IN)],
)
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_few_rows_route_matches_float64_oracle(shape: tuple[int, ...], mode: str):
    layer = _layer()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad() if mode == "no_grad" else torch.inference_mode():
        y = layer(x)
    expected_shape = (*shape[:-1], D_OUT)
    assert y.shape == expected_shape, f"input {shape} under {mode} should give {expected_shape}, got {tuple(y.shape)}"
    assert_close(y, _oracle(layer, x), atol=1e-5, rtol=1e-5, hint=f"Linear under {mode}, input {shape}")
    # Downstream code views and reshapes the output: the transposed result must allow both.
    assert y.reshape(-1).shape == (y.numel(),)


def test_few_rows_route_accepts_non_contiguous_input():
    layer = _layer()
    x = torch.randn(D_IN, 3, generator=torch.Generator().manual_seed(2)).T  # (3, D_IN), column-major
    with torch.inference_mode():
        y = layer(x)
    assert_close(y, _oracle(layer, x), atol=1e-5, rtol=1e-5, hint="Linear on a transposed (non-contiguous) input")


def test_few_rows_route_agrees_with_the_general_route():
    layer = _layer()
    x = torch.randn(5, D_IN, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        few = torch.stack([layer(row) for row in x])  # one row at a time: the few-rows route
    general = x @ layer.weight.detach().T
    assert_close(few, general, atol=1e-5, rtol=1e-5, hint="decoding one row at a time vs one GEMM over all rows")


def test_autograd_never_takes_the_few_rows_route():
    layer = _layer()
    x = torch.randn(1, D_IN, generator=torch.Generator().manual_seed(4), requires_grad=True)
    y = layer(x)
    assert y.is_contiguous(), "with autograd on, Linear must use x @ W^T (a contiguous result)"
    y.sum().backward()
    assert_close(layer.weight.grad, x.detach().expand(D_OUT, D_IN), atol=0, rtol=0, hint="dL/dW of sum(x W^T)")
