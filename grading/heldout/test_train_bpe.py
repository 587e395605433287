"""Held-out: BPE training on a fresh corpus (words, frequencies, special tokens and vocabulary size drawn per
run) against the naive trainer of tests/oracles/bpe.py: the merges in order, the vocabulary as a set."""

from __future__ import annotations

import pytest

from grading.heldout.draw import integers
from tests.adapters import run_train_bpe
from tests.oracles.bpe import naive_train_bpe

pytestmark = [pytest.mark.problem("train_bpe"), pytest.mark.heldout]

EOT = "<|endoftext|>"
SPECIAL_CHOICES = [[], [EOT], [EOT, "<|pad|>"], ["<|pad|>", EOT, EOT + EOT]]  # the last overlaps
PIECES = list("abcdeghilmnorstu") + ["é", "ü", "東", "京", "😀", "1", "7", "'s", "'ll", "-", "."]
SEPARATORS = [" ", " ", " ", "  ", "\n", "\n\n", ", ", "\t", "", " \n"]


def fresh_corpus(heldout_rng, specials: list[str]) -> str:
    """~2-4 KB of text: a fresh lexicon of short words with Zipf-like frequencies (so pair counts differ from
    counts of distinct pre-tokens, and ties are common), separators of every kind, and special tokens
    glued to their neighbours (a merge across one would be visible)."""
    lexicon = ["".join(heldout_rng.choice(PIECES, size=integers(heldout_rng, 1, 6))) for _ in range(integers(heldout_rng, 15, 60))]
    weights = 1.0 / (1 + heldout_rng.permutation(len(lexicon)))
    weights /= weights.sum()
    parts = []
    for _ in range(integers(heldout_rng, 300, 600)):
        parts.append(lexicon[heldout_rng.choice(len(lexicon), p=weights)])
        if specials and heldout_rng.random() < 0.08:
            parts.append(specials[integers(heldout_rng, 0, len(specials) - 1)])
        else:
            parts.append(SEPARATORS[integers(heldout_rng, 0, len(SEPARATORS) - 1)])
    return "".join(parts)


@pytest.mark.parametrize("size", ["some_merges", "more_merges_than_pairs"])
def test_train_bpe_matches_naive_oracle_on_a_fresh_corpus(heldout_rng, tmp_path, size):
    specials = SPECIAL_CHOICES[integers(heldout_rng, 0, len(SPECIAL_CHOICES) - 1)]
    text = fresh_corpus(heldout_rng, specials)
    merges_wanted = integers(heldout_rng, 20, 80) if size == "some_merges" else 5000  # 5000: runs out of pairs
    vocab_size = len(specials) + 256 + merges_wanted
    path = tmp_path / "corpus.txt"
    path.write_bytes(text.encode("utf-8"))
    expected_vocab, expected_merges = naive_train_bpe(text, vocab_size, specials)
    vocab, merges = run_train_bpe(path, vocab_size, specials)
    what = f"a fresh corpus of {len(text)} characters with special tokens {specials} and vocab_size={vocab_size}"
    merges = [tuple(m) for m in merges]
    for k, (got, exp) in enumerate(zip(merges, expected_merges)):
        assert got == exp, (
            f"{what}: merge {k} is {got!r}, expected {exp!r} (the previous merges agree). Count each pair once per "
            f"OCCURRENCE of its pre-token (pre-token counts, overlaps such as 'aaa' included), never across a special "
            f"token; among equally frequent pairs the lexicographically GREATER (left bytes, right bytes) wins"
        )
    assert len(merges) == len(expected_merges), (
        f"{what}: {len(merges)} merges, expected {len(expected_merges)} (the first {min(len(merges), len(expected_merges))} "
        f"agree): make vocab_size - 256 - len(special_tokens) merges, stopping early only when no adjacent pair is left"
    )
    got_tokens, expected_tokens = sorted(vocab.values()), sorted(expected_vocab.values())
    assert got_tokens == expected_tokens, (
        f"{what}: the vocabulary holds {len(vocab)} tokens, expected {len(expected_vocab)}; missing "
        f"{sorted(set(expected_tokens) - set(got_tokens))[:5]}, unexpected {sorted(set(got_tokens) - set(expected_tokens))[:5]} "
        f"(it holds every special token, the 256 single bytes and one token per merge; any id order is accepted)"
    )
