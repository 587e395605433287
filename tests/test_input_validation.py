"""Rejecting bad input (extra): every hook must stop a call it cannot answer correctly, with ANY exception
(ValueError, IndexError, KeyError, RuntimeError, AssertionError, ... all pass), instead of returning a
silently wrong answer. Each test first makes the same call with good input, so an unimplemented hook
(NotImplementedError) earns nothing here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from tests import adapters, scenarios
from tests.fixture_io import load_tensors

pytestmark = pytest.mark.problem("input_validation")


def assert_rejects(good: Callable[[], object], bad: Callable[[], object], what: str) -> None:
    """`good()` must work (it shows the hook is implemented); `bad()` must raise."""
    good()
    try:
        result = bad()
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001 - any exception stops the call
        return
    shape = f" of shape {tuple(result.shape)}" if isinstance(result, torch.Tensor) else ""
    pytest.fail(f"{what}: the call returned {type(result).__name__}{shape} instead of raising an error")


# ---------------------------------------------------------------- tokenizer


def test_train_bpe_rejects_bad_inputs(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("some text " * 20, encoding="utf-8")
    good = lambda: adapters.run_train_bpe(path, 260, ["<|endoftext|>"])  # noqa: E731
    assert_rejects(good, lambda: adapters.run_train_bpe(tmp_path / "missing.txt", 300, []), "a missing input file")
    assert_rejects(
        good, lambda: adapters.run_train_bpe(path, 256, ["<|endoftext|>"]), "vocab_size 256 with a special token (no room for it)"
    )
    assert_rejects(
        good, lambda: adapters.run_train_bpe(path, 300, ["<|endoftext|>", "<|endoftext|>"]), "duplicate special tokens"
    )


def test_decode_rejects_an_unknown_id():
    vocab = {i: bytes([i]) for i in range(256)}
    tokenizer = adapters.get_tokenizer(vocab, [])
    assert_rejects(lambda: tokenizer.decode([104, 105]), lambda: tokenizer.decode([104, 123456]), "decode of id 123456 (not in the vocabulary)")


# ---------------------------------------------------------------- modules


def test_linear_rejects_input_of_wrong_width():
    f = load_tensors("linear")
    assert_rejects(
        lambda: adapters.run_linear(24, 40, f["weight"], f["in_features"]),
        lambda: adapters.run_linear(24, 40, f["weight"], torch.zeros(2, 23)),
        "Linear(24 -> 40) on input of width 23",
    )


@pytest.mark.parametrize("bad_id", [50, 1000, -1])
def test_embedding_rejects_out_of_range_ids(bad_id):
    f = load_tensors("embedding")
    ids = f["token_ids"].clone()
    ids[1, 3] = bad_id
    assert_rejects(
        lambda: adapters.run_embedding(50, 8, f["weight"], f["token_ids"]),
        lambda: adapters.run_embedding(50, 8, f["weight"], ids),
        f"Embedding of 50 rows looking up id {bad_id}" + (" (negative ids must not wrap around)" if bad_id < 0 else ""),
    )


def test_embedding_rejects_non_integer_ids():
    f = load_tensors("embedding")
    assert_rejects(
        lambda: adapters.run_embedding(50, 8, f["weight"], f["token_ids"]),
        lambda: adapters.run_embedding(50, 8, f["weight"], f["token_ids"].float()),
        "Embedding looking up float ids",
    )


def test_rmsnorm_rejects_wrong_width():
    f = load_tensors("rmsnorm")
    assert_rejects(
        lambda: adapters.run_rmsnorm(16, 1e-5, f["weight"], f["in_features"]),
        lambda: adapters.run_rmsnorm(16, 1e-5, f["weight"], torch.ones(2, 15)),
        "RMSNorm(16) on input of width 15",
    )


def test_rope_rejects_positions_beyond_max_seq_len():
    f = load_tensors("rope")
    d_k, theta, max_seq_len = int(f["d_k"]), float(f["theta"]), int(f["max_seq_len"])
    assert_rejects(
        lambda: adapters.run_rope(d_k, theta, max_seq_len, f["in_features"], f["token_positions"]),
        lambda: adapters.run_rope(d_k, theta, max_seq_len, f["in_features"], f["token_positions"] + max_seq_len),
        f"RoPE with max_seq_len={max_seq_len} at positions >= {max_seq_len}",
    )


def test_rope_rejects_odd_d_k():
    assert_rejects(
        lambda: scenarios.module_state("rope", {"d_k": 8, "theta": 10000.0, "max_seq_len": 16}),
        lambda: scenarios.module_state("rope", {"d_k": 7, "theta": 10000.0, "max_seq_len": 16}),
        "RoPE with an odd d_k = 7 (it rotates pairs)",
    )


def test_sdpa_rejects_mismatched_key_width():
    f = load_tensors("scaled_dot_product_attention")
    assert_rejects(
        lambda: adapters.run_scaled_dot_product_attention(f["Q"], f["K"], f["V"]),
        lambda: adapters.run_scaled_dot_product_attention(f["Q"], f["K"][..., :7], f["V"]),
        "attention with queries of width 8 and keys of width 7",
    )


def test_mha_rejects_input_of_wrong_width():
    f = load_tensors("multihead_self_attention")
    weights = [f[n] for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight", "o_proj_weight")]
    assert_rejects(
        lambda: adapters.run_multihead_self_attention(16, 4, *weights, f["in_features"]),
        lambda: adapters.run_multihead_self_attention(16, 4, *weights, torch.zeros(2, 6, 15)),
        "attention with d_model 16 on input of width 15",
    )


def test_position_encodings_reject_sequences_longer_than_max_seq_len():
    f = load_tensors("sinusoidal_pe")
    assert_rejects(
        lambda: adapters.run_sinusoidal_pe(8, 5, torch.zeros(1, 5, 8)),
        lambda: adapters.run_sinusoidal_pe(8, 4, torch.zeros(1, 5, 8)),
        "sinusoidal PE with max_seq_len 4 on 5 positions",
    )
    f = load_tensors("learned_pe")
    assert_rejects(
        lambda: adapters.run_learned_pe(20, 8, f["weight"], torch.zeros(1, 20, 8)),
        lambda: adapters.run_learned_pe(20, 8, f["weight"], torch.zeros(1, 21, 8)),
        "learned PE with max_seq_len 20 on 21 positions",
    )


def _lm():
    f = load_tensors("transformer_lm")
    keys = ("vocab_size", "context_length", "d_model", "num_layers", "num_heads", "d_ff", "rope_theta")
    shape = [float(f[k]) if k == "rope_theta" else int(f[k]) for k in keys]
    weights = {k.removeprefix("weights."): v for k, v in f.items() if k.startswith("weights.")}
    return f, shape, weights


def test_transformer_lm_rejects_input_longer_than_context():
    f, shape, weights = _lm()
    context = int(f["context_length"])
    assert_rejects(
        lambda: adapters.run_transformer_lm(*shape, weights, torch.zeros(1, context, dtype=torch.long)),
        lambda: adapters.run_transformer_lm(*shape, weights, torch.zeros(1, context + 1, dtype=torch.long)),
        f"the LM with context_length {context} on {context + 1} tokens",
    )


def test_transformer_lm_rejects_ids_that_are_not_batch_by_seq():
    f, shape, weights = _lm()
    assert_rejects(
        lambda: adapters.run_transformer_lm(*shape, weights, f["in_indices"]),
        lambda: adapters.run_transformer_lm(*shape, weights, f["in_indices"][0]),
        "the LM on 1-D token ids (it takes (batch, seq))",
    )


# ---------------------------------------------------------------- training


def test_get_batch_rejects_a_dataset_too_short_for_one_window():
    # 5 tokens cannot give 5 inputs + 1 target
    assert_rejects(
        lambda: scenarios.get_batches(np.arange(6, dtype=np.int64), 2, 5, "cpu", seed=0),
        lambda: scenarios.get_batches(np.arange(5, dtype=np.int64), 2, 5, "cpu", seed=0),
        "get_batch with context_length 5 on 5 tokens",
    )


@pytest.mark.parametrize("damage", ["truncate", "wider_model"])
def test_load_checkpoint_rejects_a_damaged_or_mismatched_checkpoint(tmp_path, damage):
    assert_rejects(
        lambda: scenarios.checkpoint_round_trip(tmp_path / "good.pt", 5),
        lambda: scenarios.checkpoint_load_damaged(tmp_path / "bad.pt", damage),
        "loading a checkpoint cut in half" if damage == "truncate" else "loading a checkpoint into a wider model",
    )
