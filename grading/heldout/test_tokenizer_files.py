"""Held-out: the tokenizer's files on GPT-2's vocabulary: a save / from_files round trip with a fresh
special-token set, and encode_file of a fresh text with a fresh number of processes, against tiktoken."""

from __future__ import annotations

import numpy as np
import pytest

from grading.heldout.draw import integers
from grading.heldout.test_tokenizer import EOT, SPECIAL_SETS, expected_ids, first_difference, fresh_text, vocab_with
from tests.adapters import get_tokenizer_from_files, run_encode_file, run_save_tokenizer

pytestmark = [pytest.mark.problem("tokenizer_files"), pytest.mark.heldout]


def test_saved_tokenizer_loads_and_encodes_fresh_text_like_tiktoken(heldout_rng, tmp_path):
    specials = SPECIAL_SETS[integers(heldout_rng, 0, len(SPECIAL_SETS) - 1)]
    vocab, merges = vocab_with(specials)
    vocab_path, merges_path = run_save_tokenizer(vocab, merges, specials or None, tmp_path)
    tokenizer = get_tokenizer_from_files(vocab_path, merges_path, specials or None)
    text = fresh_text(heldout_rng, integers(heldout_rng, 200, 2000))
    got, expected = tokenizer.encode(text), expected_ids(text, specials)
    assert got == expected, (
        f"a tokenizer saved and loaded again (special tokens {specials}) encodes a fresh text differently from "
        f"tiktoken: {first_difference(got, expected)}. The files must keep every token's exact bytes and the merges "
        f"in order"
    )
    assert tokenizer.decode(got) == text, "the loaded tokenizer's decode(encode(text)) does not give the text back"


def test_encode_file_matches_tiktoken_on_a_fresh_text(heldout_rng, tmp_path):
    text = fresh_text(heldout_rng, integers(heldout_rng, 20_000, 60_000))
    num_processes = integers(heldout_rng, 1, 3)
    (tmp_path / "in").mkdir()
    source, out = tmp_path / "in" / "text.txt", tmp_path / "in" / "tokens.npy"
    source.write_bytes(text.encode("utf-8"))
    vocab, merges = vocab_with([EOT])
    run_encode_file(vocab, merges, [EOT], source, out, num_processes)
    ids = np.load(out, allow_pickle=False)
    assert ids.dtype == np.uint16 and ids.ndim == 1, f"expected a 1-D uint16 array (GPT-2 ids < 65536), got {ids.dtype} {ids.shape}"
    got, expected = ids.tolist(), expected_ids(text, [EOT])
    assert got == expected, (
        f"encode_file with num_processes={num_processes} on a fresh {len(text)}-character text: "
        f"{first_difference(got, expected)}. Cut the file only where no token can span the cut (e.g. at a special token)"
    )
    assert sorted(p.name for p in source.parent.iterdir()) == ["text.txt", "tokens.npy"], "temporary files left behind"


def _without(special: str, text: str) -> str:
    """`text` with every occurrence of `special` removed, including those the removal itself creates."""
    while special in text:
        text = text.replace(special, "")
    return text


def test_encode_file_widens_to_uint32_for_fresh_large_ids(heldout_rng, tmp_path):
    # bytes only (no merges) and <|endoftext|> at an id beyond uint16: every id is predictable by hand
    big = integers(heldout_rng, 65_536, 2**31 - 1)
    vocab = {b: bytes([b]) for b in range(256)} | {big: EOT.encode()}
    pieces = [_without(EOT, fresh_text(heldout_rng, integers(heldout_rng, 1, 50))) for _ in range(integers(heldout_rng, 2, 6))]
    text = EOT.join(pieces)
    expected = []
    for k, piece in enumerate(pieces):
        expected += ([big] if k else []) + list(piece.encode("utf-8"))
    (tmp_path / "in").mkdir()
    source, out = tmp_path / "in" / "text.txt", tmp_path / "in" / "tokens.npy"
    source.write_bytes(text.encode("utf-8"))
    run_encode_file(vocab, [], [EOT], source, out, integers(heldout_rng, 1, 2))
    ids = np.load(out, allow_pickle=False)
    assert ids.dtype == np.uint32, f"id {big} does not fit in uint16: expected a uint32 array, got {ids.dtype}"
    assert ids.tolist() == expected, f"encode_file with the special token at id {big}: {first_difference(ids.tolist(), expected)}"
