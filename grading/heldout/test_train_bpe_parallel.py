"""Held-out: parallel BPE training on a fresh corpus full of places where a naive cut changes the counts,
with a fresh number of processes, against the naive single-process trainer."""

from __future__ import annotations

import pytest

from grading.heldout.draw import integers
from grading.heldout.test_train_bpe import EOT
from tests.adapters import run_train_bpe_parallel
from tests.oracles.bpe import naive_train_bpe

pytestmark = [pytest.mark.problem("train_bpe_parallel"), pytest.mark.heldout]

WORDS = ["the", "cat", "sat", "on", "mat", "naïve", "東京", "dog's", "it'll", "42", "x", "—", "ééé", "😀"]
SEPARATORS = ["\n\n", "\n\n\n", "  ", "   ", "\n \n", " ", "", EOT, EOT + "\n\n", "\n" + EOT, ".\n\n"]


def test_train_bpe_parallel_matches_naive_oracle_on_a_fresh_corpus(heldout_rng, tmp_path):
    # blank-line runs, space runs, special tokens and multi-byte characters everywhere: a cut at an even
    # byte offset almost surely splits one of them (into two pre-tokens, or an invalid UTF-8 chunk)
    parts = []
    for _ in range(integers(heldout_rng, 400, 900)):
        parts += [WORDS[integers(heldout_rng, 0, len(WORDS) - 1)], SEPARATORS[integers(heldout_rng, 0, len(SEPARATORS) - 1)]]
    text = "".join(parts)
    # merges until no pair is left: every pair count matters, so one pre-token cut in two changes the merges
    vocab_size = 1 + 256 + 5000
    path = tmp_path / "corpus.txt"
    path.write_bytes(text.encode("utf-8"))
    expected_vocab, expected_merges = naive_train_bpe(text, vocab_size, [EOT])
    for num_processes in heldout_rng.choice(range(2, 9), size=2, replace=False).tolist():
        vocab, merges = run_train_bpe_parallel(path, vocab_size, [EOT], num_processes)
        got = [tuple(m) for m in merges]
        k = next((i for i, (g, e) in enumerate(zip(got, expected_merges)) if g != e), None)
        assert k is None and len(got) == len(expected_merges), (
            f"with num_processes={num_processes} on a fresh {len(text)}-character corpus and vocab_size={vocab_size}: "
            + (f"merge {k} is {got[k]!r}, expected {expected_merges[k]!r}" if k is not None else
               f"{len(got)} merges, expected {len(expected_merges)}")
            + ". Chunk boundaries must not fall inside a pre-token, a run of whitespace or a special token "
            "(e.g. cut just before a special token), and the counts of all chunks are added up"
        )
        assert sorted(vocab.values()) == sorted(expected_vocab.values()), (
            f"with num_processes={num_processes}: the vocabulary differs from the single-process oracle's "
            f"(special tokens, 256 bytes, one token per merge)"
        )
