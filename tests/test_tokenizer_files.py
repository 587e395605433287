"""The tokenizer's files (extra): a tokenizer saved in your own format and loaded back with from_files
encodes and decodes like the original, and encode_file writes the ids of a text file as a .npy array.
Expected ids come from tiktoken built from GPT-2's files (see tests/test_tokenizer.py)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tests.adapters import get_tokenizer, get_tokenizer_from_files, run_encode_file, run_save_tokenizer
from tests.test_tokenizer import EOT, SHAKESPEARE, assert_same_ids, expected_ids, gpt2_vocab_and_merges, tiktoken_gpt2  # noqa: F401

pytestmark = pytest.mark.problem("tokenizer_files")


def _small_gpt2() -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """The 256 bytes and GPT-2's first 2000 merges (GPT-2's vocabulary holds the bytes at ids 0..255)."""
    vocab, merges = gpt2_vocab_and_merges()
    return {i: vocab[i] for i in range(256 + 2000)}, merges[:2000]


@pytest.mark.parametrize("special_tokens", [[EOT], None], ids=["with_special", "without_specials"])
def test_save_then_from_files_round_trips(tmp_path, special_tokens):
    rng = random.Random(0)
    vocab, merges = _small_gpt2()
    vocab_path, merges_path = run_save_tokenizer(vocab, merges, special_tokens, tmp_path)
    loaded = get_tokenizer_from_files(vocab_path, merges_path, special_tokens=special_tokens)
    original = get_tokenizer(vocab, merges, special_tokens=special_tokens)
    text = SHAKESPEARE[:5000] + EOT + "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(300)) + " \n\t\x00\x7f"
    ids = original.encode(text)
    assert loaded.encode(text) == ids, "a tokenizer loaded with from_files must encode like the one saved"
    assert loaded.decode(ids) == text, "a tokenizer loaded with from_files must decode like the one saved"


def test_save_then_from_files_keeps_every_byte_and_a_merge_with_spaces(tmp_path):
    # tokens holding spaces, newlines and bytes that are not valid UTF-8 on their own must survive the files
    vocab = {i: bytes([i]) for i in range(256)}
    merges = [(b" ", b"\n"), (b"\xe2", b"\x80"), (b" \n", b"\xe2\x80")]
    vocab |= {256: b" \n", 257: b"\xe2\x80", 258: b" \n\xe2\x80"}
    vocab_path, merges_path = run_save_tokenizer(vocab, merges, None, tmp_path)
    loaded = get_tokenizer_from_files(vocab_path, merges_path)
    text = " \n\u2014 \n\u2014"  # an em dash is e2 80 94
    assert loaded.encode(text) == get_tokenizer(vocab, merges).encode(text)
    assert loaded.decode([258, 0x94]) == " \n\u2014"


@pytest.mark.parametrize("num_processes", [1, 2])
def test_encode_file_writes_uint16_npy_matching_tiktoken(tiktoken_gpt2, tmp_path, num_processes):  # noqa: F811
    text = (SHAKESPEARE + EOT) * 3
    path = tmp_path / "text.txt"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "tokens.npy"
    vocab, merges = gpt2_vocab_and_merges()
    run_encode_file(vocab, merges, [EOT], path, out, num_processes)
    ids = np.load(out, allow_pickle=False)
    assert ids.dtype == np.uint16 and ids.ndim == 1, f"expected a 1-D uint16 array, got {ids.dtype} {ids.shape}"
    assert_same_ids(ids.tolist(), expected_ids(tiktoken_gpt2, text), text)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text.txt", "tokens.npy"], "temporary files left behind"


def test_encode_file_uses_uint32_when_ids_do_not_fit_uint16(tmp_path):
    vocab = {b: bytes([b]) for b in range(256)} | {70_000: EOT.encode()}
    path = tmp_path / "text.txt"
    path.write_text(f"ab{EOT}c", encoding="utf-8")
    run_encode_file(vocab, [], [EOT], path, tmp_path / "tokens.npy", 1)
    ids = np.load(tmp_path / "tokens.npy", allow_pickle=False)
    assert ids.dtype == np.uint32, f"id 70000 does not fit in uint16: expected uint32, got {ids.dtype}"
    assert ids.tolist() == [97, 98, 70_000, 99]
