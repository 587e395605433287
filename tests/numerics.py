"""`assert_close` for the tests: |actual - expected| <= atol + rtol * |expected| elementwise, with a failure
message that starts with what the student should check and then says where and by how much it is off.

(torch.testing.assert_close does the same but its first call imports torch.distributed.tensor, several
seconds on a laptop; this suite stays fast without it.)
"""

from __future__ import annotations

import torch


def assert_close(actual: torch.Tensor, expected: torch.Tensor, *, atol: float, rtol: float, hint: str = "") -> None:
    prefix = f"{hint}\n" if hint else ""
    if not isinstance(actual, torch.Tensor):
        raise AssertionError(f"{prefix}expected a torch.Tensor, got {type(actual).__name__}")
    if actual.shape != expected.shape:
        raise AssertionError(f"{prefix}shape {tuple(actual.shape)} differs from the expected {tuple(expected.shape)}")
    if actual.dtype != expected.dtype:
        raise AssertionError(f"{prefix}dtype {actual.dtype} differs from the expected {expected.dtype}")
    a, e = actual.detach().cpu().double(), expected.detach().cpu().double()
    error = (a - e).abs()
    bad = ~(error <= atol + rtol * e.abs())  # NaN in `actual` compares False, so it counts as bad
    if not bad.any():
        return
    error = error.nan_to_num(nan=float("inf"))
    worst = tuple(int(i) for i in torch.unravel_index(error.argmax(), error.shape))
    raise AssertionError(
        f"{prefix}{int(bad.sum())} of {bad.numel()} values are off by more than atol={atol:g} + rtol={rtol:g} * |expected|; "
        f"the largest error is {error.max().item():.3g} at index {worst} (got {a[worst].item():.6g}, "
        f"expected {e[worst].item():.6g})" + (f"; {int(a.isnan().sum())} NaN" if a.isnan().any() else "")
    )
