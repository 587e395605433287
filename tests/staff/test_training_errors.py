"""Staff: the reference training pieces reject bad input with errors that name the problem.

The handout does not ask students for these checks, so they are not graded; they keep the reference
(and the CLI built on it) honest.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cs336_basics.data import get_batch
from cs336_basics.nn.loss import cross_entropy, perplexity
from cs336_basics.optim.adamw import AdamW
from cs336_basics.optim.clipping import clip_gradients
from cs336_basics.optim.schedule import get_lr_cosine_schedule

pytestmark = pytest.mark.staff


@pytest.mark.parametrize(
    ("logits", "targets", "message"),
    [
        (torch.zeros(2, 3, 5), torch.zeros(2, 4, dtype=torch.long), r"logits \(2, 3, 5\) and targets \(2, 4\)"),
        (torch.zeros(2, 5), torch.zeros(2), "integer token ids, got dtype torch.float32"),
        (torch.zeros(2, 5), torch.tensor([0, 5]), r"target id 5 is outside the vocabulary \[0, 5\)"),
        (torch.zeros(2, 5), torch.tensor([-1, 0]), "target id -1 is outside"),
    ],
)
def test_cross_entropy_rejects_bad_input_naming_expected_and_received(logits, targets, message):
    with pytest.raises(ValueError, match=message):
        cross_entropy(logits, targets)


def test_perplexity_is_exp_of_the_mean_loss_and_saturates():
    assert perplexity(math.log(50.0)) == pytest.approx(50.0, rel=1e-12)
    assert perplexity(torch.tensor(0.0)) == 1.0
    assert perplexity(1e4) == math.inf
    assert math.isnan(perplexity(float("nan")))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -1e-3}, "lr must be a number >= 0"),
        ({"betas": (0.9, 1.0)}, r"betas\[1\] must be in \[0, 1\)"),
        ({"betas": (0.9,)}, "betas must be a pair"),
        ({"eps": 0.0}, "eps must be > 0"),
        ({"weight_decay": -0.1}, "weight_decay must be >= 0"),
    ],
)
def test_adamw_rejects_invalid_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AdamW([torch.nn.Parameter(torch.zeros(2))], **kwargs)


def test_adamw_rejects_an_invalid_param_group_override():
    with pytest.raises(ValueError, match="param group 1: lr must be"):
        AdamW([{"params": [torch.nn.Parameter(torch.zeros(2))]}, {"params": [torch.nn.Parameter(torch.zeros(2))], "lr": -1}])


def test_adamw_state_lives_in_self_state_with_the_step_count():
    p = torch.nn.Parameter(torch.zeros(3))
    optimizer = AdamW([p])
    for _ in range(2):
        p.grad = torch.ones(3)
        optimizer.step()
    assert set(optimizer.state[p]) == {"step", "exp_avg", "exp_avg_sq"} and optimizer.state[p]["step"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 1.0, 0.1, 5, 10), "it must be an integer >= 0"),
        ((1.5, 1.0, 0.1, 5, 10), "it must be an integer >= 0"),
        ((1, 1.0, 0.1, 10, 5), r"cosine_cycle_iters \(5\) must be >= warmup_iters \(10\)"),
        ((1, 0.1, 1.0, 5, 10), r"min_learning_rate \(1.0\) must not exceed max_learning_rate \(0.1\)"),
        ((1, float("nan"), 0.1, 5, 10), "max_learning_rate must be a finite number"),
    ],
)
def test_schedule_rejects_invalid_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        get_lr_cosine_schedule(*args)


def test_schedule_with_equal_warmup_and_cycle_peaks_then_drops_to_min():
    assert [get_lr_cosine_schedule(it, 1.0, 0.1, 4, 4) for it in (2, 4, 5)] == [0.5, 1.0, 0.1]


def test_clip_gradients_returns_the_pre_clip_norm_and_handles_no_gradients():
    a = torch.nn.Parameter(torch.zeros(2))
    a.grad = torch.tensor([3.0, 4.0])
    norm = clip_gradients([a], 1.0)
    assert norm.item() == pytest.approx(5.0) and torch.allclose(a.grad, torch.tensor([0.6, 0.8]))
    assert clip_gradients([torch.nn.Parameter(torch.zeros(2))], 1.0).item() == 0.0
    with pytest.raises(ValueError, match="max_l2_norm must be > 0"):
        clip_gradients([a], 0.0)


def test_clip_gradients_bfloat16_norm_is_accumulated_in_float32():
    # 4096 entries of 300: the norm 19200 is exact in float32; the bfloat16 sum of squares would round badly
    p = torch.nn.Parameter(torch.zeros(4096, dtype=torch.bfloat16))
    p.grad = torch.full((4096,), 300.0, dtype=torch.bfloat16)
    assert clip_gradients([p], 1.0).item() == pytest.approx(19200.0, rel=1e-6)
    assert p.grad.dtype == torch.bfloat16


def test_get_batch_generator_makes_sampling_reproducible():
    dataset = np.arange(1000, dtype=np.uint16)
    x1, _ = get_batch(dataset, 4, 8, "cpu", generator=7)
    x2, _ = get_batch(dataset, 4, 8, "cpu", generator=np.random.default_rng(7))
    assert torch.equal(x1, x2)
    rng = np.random.default_rng(7)
    assert not torch.equal(get_batch(dataset, 4, 8, "cpu", rng)[0], get_batch(dataset, 4, 8, "cpu", rng)[0])


@pytest.mark.parametrize(
    ("dataset", "device", "message"),
    [
        (np.arange(5), "cpu", "dataset of 5 tokens is too short for context_length 5: at least 6"),
        (np.zeros(10), "cpu", "1-D integer array, got 1-D array of float64"),
        (np.zeros((3, 10), dtype=np.int64), "cpu", "1-D integer array, got 2-D"),
    ],
)
def test_get_batch_rejects_bad_input(dataset, device, message):
    with pytest.raises(ValueError, match=message):
        get_batch(dataset, 2, 5, device)


def test_get_batch_unknown_device_raises_runtime_error_naming_it():
    # RuntimeError, as torch raises for a device it cannot use (the official test_get_batch expects it)
    with pytest.raises(RuntimeError, match="'gpu0' is not a torch device"):
        get_batch(np.arange(10), 2, 5, "gpu0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_get_batch_cuda_without_cuda_says_so():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        get_batch(np.arange(10), 2, 5, "cuda")
