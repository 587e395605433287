"""The reference solution's speed-ups keep autograd's answers: softmax, cross-entropy and the SwiGLU gate
have hand-written backward passes, attention's softmax overwrites its own scores, attention masks with an
additive bias, and RoPE rotates pairs as complex numbers. Each is checked against finite differences
(gradcheck) or a torch built-in in float64."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cs336_basics.nn.functional import apply_rotary, rope_angles, scaled_dot_product_attention, silu_gate, softmax
from cs336_basics.nn.loss import cross_entropy
from tests.numerics import assert_close

pytestmark = pytest.mark.staff


def _randn(*shape: int, seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_backward_passes_gradcheck(dim: int):
    x = _randn(3, 4, 5, seed=dim % 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: softmax(t, dim), (x,)), f"softmax backward along dim {dim} is wrong"


def test_softmax_backward_with_masked_entries_matches_torch_and_zeroes_fully_masked_rows():
    x = _randn(4, 6, seed=3)
    x[0, 2:] = float("-inf")
    x[1] = float("-inf")  # a query that may attend to nothing
    upstream = _randn(4, 6, seed=4)
    mine = x.clone().requires_grad_()
    (softmax(mine, -1) * upstream).sum().backward()
    oracle = x[[0, 2, 3]].clone().requires_grad_()
    (torch.softmax(oracle, -1) * upstream[[0, 2, 3]]).sum().backward()
    assert_close(mine.grad[[0, 2, 3]], oracle.grad, atol=1e-12, rtol=1e-10, hint="softmax backward with -inf entries")
    assert torch.equal(mine.grad[1], torch.zeros(6, dtype=torch.float64)), "a fully masked row must get a zero gradient"


def test_softmax_without_autograd_gives_the_same_values():
    x = _randn(5, 7, seed=5, dtype=torch.float32)
    with torch.no_grad():
        plain = softmax(x, -1)
    recorded = softmax(x.clone().requires_grad_(), -1)
    assert torch.equal(plain, recorded.detach()), "softmax must not depend on whether autograd records a graph"


def test_cross_entropy_backward_passes_gradcheck():
    logits = _randn(2, 3, 7, seed=6).requires_grad_()
    targets = torch.tensor([[0, 6, 3], [2, 2, 5]])
    assert torch.autograd.gradcheck(lambda t: cross_entropy(t, targets), (logits,)), "cross-entropy backward is wrong"


def test_cross_entropy_of_bfloat16_logits_is_reduced_in_float32():
    logits = (_randn(64, 1000, seed=7, dtype=torch.float32) * 4).to(torch.bfloat16).requires_grad_()
    targets = torch.randint(0, 1000, (64,), generator=torch.Generator().manual_seed(8))
    loss = cross_entropy(logits, targets)
    assert loss.dtype == torch.float32, f"the loss of bf16 logits should be float32, got {loss.dtype}"
    oracle = logits.detach().double().requires_grad_()
    expected = F.cross_entropy(oracle, targets)
    expected.backward()
    # float32 accumulation: ~1e-7 relative; a bf16 log-sum-exp of 1000 terms is off by ~1e-3
    assert_close(loss.detach().double(), expected.detach(), atol=0.0, rtol=1e-5, hint="bf16 cross-entropy value")
    loss.backward()
    assert logits.grad.dtype == torch.bfloat16, "the gradient must come back in the logits' dtype"
    # bf16 keeps 8 bits: relative error up to 2^-8 on each entry
    assert_close(logits.grad.double(), oracle.grad, atol=1e-6, rtol=2**-7, hint="bf16 cross-entropy gradient")


def test_attention_gradients_match_torch_sdpa_with_a_mask():
    q, k, v = (_randn(2, 3, 5, 4, seed=s).requires_grad_() for s in (9, 10, 11))
    mask = torch.rand(5, 5, generator=torch.Generator().manual_seed(12)) > 0.3
    mask.fill_diagonal_(True)
    upstream = _randn(2, 3, 5, 4, seed=13)
    (scaled_dot_product_attention(q, k, v, mask) * upstream).sum().backward()
    mine = [t.grad.clone() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    (F.scaled_dot_product_attention(q, k, v, attn_mask=mask) * upstream).sum().backward()
    for name, got, t in zip("QKV", mine, (q, k, v)):
        assert_close(got, t.grad, atol=1e-12, rtol=1e-10, hint=f"d(attention)/d{name} differs from torch's")


def test_silu_gate_backward_passes_gradcheck():
    a, b = (_randn(3, 4, 5, seed=s).requires_grad_() for s in (20, 21))
    assert torch.autograd.gradcheck(silu_gate, (a, b)), "the SwiGLU gate's backward is wrong"


def test_silu_gate_matches_autograd_of_the_plain_formula_at_extreme_inputs():
    a = torch.tensor([-100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0], dtype=torch.float64)
    b = _randn(7, seed=22)
    upstream = _randn(7, seed=23)
    mine = [t.clone().requires_grad_() for t in (a, b)]
    out = silu_gate(*mine)
    (out * upstream).sum().backward()
    oracle = [t.clone().requires_grad_() for t in (a, b)]
    expected = F.silu(oracle[0]) * oracle[1]
    (expected * upstream).sum().backward()
    assert_close(out.detach(), expected.detach(), atol=1e-12, rtol=1e-10, hint="silu(a) * b")
    for name, got, want in zip("ab", mine, oracle):
        assert torch.isfinite(got.grad).all(), f"d/d{name} of the SwiGLU gate is not finite at |a| = 100"
        assert_close(got.grad, want.grad, atol=1e-12, rtol=1e-10, hint=f"d(silu(a) * b)/d{name}")
    with torch.no_grad():
        plain = silu_gate(a, b)
    assert torch.equal(plain, out.detach()), "silu_gate must not depend on whether autograd records a graph"
    with pytest.raises(ValueError, match="one shape"):
        silu_gate(a, b[:3])


def test_attention_softmax_in_place_leaves_the_inputs_alone_and_passes_gradcheck():
    q, k, v = (_randn(2, 4, 3, seed=s).requires_grad_() for s in (24, 25, 26))
    before = [t.detach().clone() for t in (q, k, v)]
    first = scaled_dot_product_attention(q, k, v)
    second = scaled_dot_product_attention(q, k, v)  # the same inputs again: nothing of theirs was overwritten
    assert torch.equal(first, second), "attention must give the same output on the same inputs"
    for name, t, old in zip("QKV", (q, k, v), before):
        assert torch.equal(t.detach(), old), f"attention modified its input {name}"
    assert torch.autograd.gradcheck(lambda *t: scaled_dot_product_attention(*t), (q, k, v)), "attention backward is wrong"


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "odd offset"])
def test_apply_rotary_matches_the_per_pair_formula_for_any_memory_layout(layout: str):
    base = _randn(3, 9, 8, seed=14, dtype=torch.float32)
    if layout == "transposed":  # the feature axis has stride 9: pairs are not adjacent in memory
        x = base.transpose(-1, -2).contiguous().transpose(-1, -2)
    elif layout == "odd offset":  # storage starts at an odd element
        x = torch.cat([torch.zeros(1), base.flatten()])[1:].view(3, 9, 8)
    else:
        x = base
    angles = rope_angles(8, 9, 10000.0)
    cos, sin = angles.cos().float(), angles.sin().float()
    out = apply_rotary(x, cos, sin)
    x64, c, s = base.double(), angles.cos(), angles.sin()
    even, odd = x64[..., 0::2], x64[..., 1::2]
    expected = torch.stack((even * c - odd * s, even * s + odd * c), dim=-1).flatten(-2)
    assert_close(out.double(), expected, atol=1e-6, rtol=1e-6, hint=f"apply_rotary on a {layout} input")


def test_torch_compile_traces_the_model_and_matches_eager():
    """`cs336 train --compile` must trace the custom autograd Functions and RoPE (complex views do not
    trace; the compiled path uses the real form). aot_eager runs dynamo and AOT autograd, where tracing
    fails, without the minutes of C++ code generation of the default inductor backend."""
    from cs336_basics.training.config import ModelConfig
    from cs336_basics.nn.transformer import TransformerLM

    torch.manual_seed(0)
    config = ModelConfig(vocab_size=61, context_length=16, d_model=32, num_layers=2, num_heads=4, d_ff=64)
    model = TransformerLM(config)
    x = torch.randint(0, 61, (3, 16), generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 61, (3, 16), generator=torch.Generator().manual_seed(2))
    cross_entropy(model(x), y).backward()
    eager = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    compiled = torch.compile(model, backend="aot_eager")  # the Embedding id check is a graph break
    cross_entropy(compiled(x), y).backward()
    for name, p in model.named_parameters():
        assert_close(p.grad, eager[name], atol=1e-6, rtol=1e-4, hint=f"compiled gradient of {name}")
