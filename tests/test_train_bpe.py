"""BPE training (problem `train_bpe`): merges AND the exact id -> bytes vocabulary against a naive oracle.

The expected values in tests/fixtures/bpe_*.npz come from a naive trainer (staff-only, tests/oracles/bpe.py)
that recounts every pair after every merge: the most frequent pair wins, ties go to the lexicographically
greater pair of byte strings. The corpora are the text files in tests/fixtures/bpe_corpora/.

Expected vocabulary layout: special tokens first (in the order given), then the 256 single bytes, then one
token per merge in merge order.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.adapters import run_train_bpe
from tests.fixture_io import FIXTURES, load_npz

pytestmark = pytest.mark.problem("train_bpe")

CORPORA = FIXTURES / "bpe_corpora"
CASES = ["ties", "ties_exhausted", "multibyte", "specials", "overlapping_specials", "shakespeare"]


def _unpack(arrays: dict[str, np.ndarray], name: str) -> list[bytes]:
    data, offsets = arrays[f"{name}_data"].tobytes(), arrays[f"{name}_offsets"]
    return [data[a:b] for a, b in zip(offsets[:-1], offsets[1:])]


def load_case(case: str):
    """(corpus path, vocab_size, special tokens, expected vocab, expected merges) of fixture bpe_<case>."""
    arrays = load_npz(f"bpe_{case}")
    specials = [s.decode("utf-8") for s in _unpack(arrays, "special_tokens")]
    vocab = dict(zip(arrays["vocab_ids"].tolist(), _unpack(arrays, "vocab")))
    merges = list(zip(_unpack(arrays, "merges_left"), _unpack(arrays, "merges_right")))
    path = CORPORA / arrays["corpus"].tobytes().decode()
    return path, int(arrays["vocab_size"][0]), specials, vocab, merges


def assert_same_merges(got: list[tuple[bytes, bytes]], expected: list[tuple[bytes, bytes]]) -> None:
    for k, (g, e) in enumerate(zip(got, expected)):
        assert g == e, (
            f"merge {k} is {g!r}, expected {e!r} (previous merges agree). Check the pair counts after earlier "
            f"merges (including overlapping pairs such as 'aaa') and the tie-break: among equally frequent pairs "
            f"the lexicographically GREATER (left bytes, right bytes) wins."
        )
    assert len(got) == len(expected), f"{len(got)} merges, expected {len(expected)}"


def assert_same_vocab(got: dict[int, bytes], expected: dict[int, bytes], num_specials: int) -> None:
    for i in sorted(expected):
        assert i in got, f"token id {i} is missing from the vocabulary (expected {expected[i]!r})"
        where = "a special token" if i < num_specials else ("a single byte" if i < num_specials + 256 else "a merge")
        assert got[i] == expected[i], (
            f"vocab[{i}] is {got[i]!r}, expected {expected[i]!r} ({where}). The layout is: special tokens "
            f"first in the order given, then bytes([0]) .. bytes([255]), then one token per merge."
        )
    extra = sorted(set(got) - set(expected))
    assert not extra, f"unexpected token ids {extra[:5]}: the vocabulary has {len(got)} entries, expected {len(expected)}"


@pytest.mark.parametrize("case", CASES)
def test_train_bpe_matches_naive_oracle(case):
    path, vocab_size, specials, expected_vocab, expected_merges = load_case(case)
    vocab, merges = run_train_bpe(path, vocab_size, specials, num_processes=1)
    assert_same_merges(merges, expected_merges)
    assert_same_vocab(vocab, expected_vocab, len(specials))


@pytest.mark.parametrize("num_processes", [2, 3, 4])
def test_train_bpe_parallel_matches_naive_oracle(num_processes):
    # chunking.txt is full of "\n\n", runs of spaces, special tokens and multi-byte characters: cutting it
    # into chunks at even byte offsets changes the pre-token counts (the oracle checks this).
    path, vocab_size, specials, expected_vocab, expected_merges = load_case("chunking")
    vocab, merges = run_train_bpe(path, vocab_size, specials, num_processes=num_processes)
    try:
        assert_same_merges(merges, expected_merges)
        assert_same_vocab(vocab, expected_vocab, len(specials))
    except AssertionError as e:
        raise AssertionError(
            f"with num_processes={num_processes}: {e}\nChunk boundaries must not fall inside a pre-token, a run "
            f"of whitespace or a special token (e.g. cut just before a special token)."
        ) from None


def test_train_bpe_never_merges_across_special_tokens(tmp_path):
    # "a" and "b" are only ever adjacent across the special token; inside the text they never touch.
    path = tmp_path / "corpus.txt"
    path.write_text("xa<|endoftext|>by " * 50 + "ab", encoding="utf-8")
    vocab, merges = run_train_bpe(path, 1 + 256 + 10, ["<|endoftext|>"], num_processes=1)
    spanning = [m for m in merges if b"<" in m[0] + m[1] or b"|" in m[0] + m[1]]
    assert not spanning, f"merges {spanning} contain bytes of the special token: special tokens are never merged"
    assert merges[0] == (b"x", b"a") and merges[1] == (b"b", b"y"), (
        f"first merges {merges[:2]}, expected (b'x', b'a') then (b'b', b'y'): text on the two sides of a special "
        f"token must not be joined (no pair b'a' + b'b' across it)"
    )


def test_train_bpe_vocab_layout_specials_then_bytes_then_merges(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("hello hello world", encoding="utf-8")
    specials = ["<|pad|>", "<|endoftext|>"]
    vocab, merges = run_train_bpe(path, 2 + 256 + 3, specials, num_processes=1)
    assert [vocab[0], vocab[1]] == [b"<|pad|>", b"<|endoftext|>"], "special tokens must get ids 0, 1, ... in the order given"
    assert all(vocab[2 + b] == bytes([b]) for b in range(256)), "byte b must have id len(special_tokens) + b"
    assert [vocab[258 + k] for k in range(3)] == [a + b for a, b in merges], "merge k must have id len(special_tokens) + 256 + k"


def test_train_bpe_rejects_bad_inputs(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("some text", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        run_train_bpe(tmp_path / "missing.txt", 300, [])
    with pytest.raises(ValueError, match="vocab_size"):
        run_train_bpe(path, 256, ["<|endoftext|>"])  # no room for the special token
    with pytest.raises(ValueError, match="duplicate"):
        run_train_bpe(path, 300, ["<|endoftext|>", "<|endoftext|>"])
