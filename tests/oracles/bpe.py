"""Staff-only oracle for BPE training: a naive trainer that is obviously correct, and the fixtures it makes.

The naive trainer recounts every adjacent pair of every pre-token after each merge (no incremental
updates, no heap) and picks the best pair with max() over (count, (left bytes, right bytes)): the most
frequent pair, ties to the lexicographically greater pair. It is slow (fine on the small corpora in
tests/fixtures/bpe_corpora/) and shares no code with cs336_basics.

    uv run python -m tests.oracles.bpe --write-corpora   # regenerate the generated corpora (rarely)
    uv run python -m tests.make_fixtures                 # regenerate the bpe_* fixtures (and all others)

Fixture arrays (bpe_<case>.npz): `corpus` (file name, UTF-8 bytes), `vocab_size`, the special tokens,
the expected vocabulary (ids and bytes) and merges, byte strings stored as uint8 data + int64 offsets.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from functools import partial
from pathlib import Path

import numpy as np
import regex

CORPORA = Path(__file__).resolve().parent.parent / "fixtures" / "bpe_corpora"

# GPT-2's pre-tokenisation pattern as published with the GPT-2 encoder (Radford et al. 2019).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

EOT = "<|endoftext|>"

# case -> (corpus file, vocab_size, special tokens)
CASES: dict[str, tuple[str, int, list[str]]] = {
    "ties": ("ties.txt", 256 + 60, []),
    "ties_exhausted": ("ties.txt", 256 + 1000, []),  # runs out of pairs before reaching vocab_size
    "multibyte": ("multibyte.txt", 1 + 256 + 80, [EOT]),
    "specials": ("specials.txt", 2 + 256 + 40, [EOT, "<|pad|>"]),
    "overlapping_specials": ("specials.txt", 3 + 256 + 40, ["<|pad|>", EOT, EOT + EOT]),
    "shakespeare": ("shakespeare.txt", 500, [EOT]),
    "chunking": ("chunking.txt", 1 + 256 + 120, [EOT]),
}


def naive_pretokens(text: str, special_tokens: list[str]) -> Counter[bytes]:
    """Pre-token counts: cut out the special tokens, apply the GPT-2 pattern to the text between them.

    Special tokens are found scanning left to right; where several start at the same place, the longest.
    """
    by_length = sorted(special_tokens, key=len, reverse=True)
    pieces, start, i = [], 0, 0
    while i < len(text):
        special = next((s for s in by_length if text.startswith(s, i)), None)
        if special is None:
            i += 1
        else:
            pieces.append(text[start:i])
            start = i = i + len(special)
    pieces.append(text[start:])
    counts: Counter[bytes] = Counter()
    for piece in pieces:
        for match in regex.findall(GPT2_PATTERN, piece):
            counts[match.encode("utf-8")] += 1
    return counts


def naive_train_bpe(
    text: str, vocab_size: int, special_tokens: list[str]
) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """Specials first, then the 256 bytes, then one token per merge; full recount at every merge."""
    vocab = {i: s.encode("utf-8") for i, s in enumerate(special_tokens)}
    for b in range(256):
        vocab[len(vocab)] = bytes([b])
    words = Counter({tuple(bytes([b]) for b in w): n for w, n in naive_pretokens(text, special_tokens).items()})
    merges: list[tuple[bytes, bytes]] = []
    while len(vocab) < vocab_size:
        pairs: Counter[tuple[bytes, bytes]] = Counter()
        for word, n in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += n
        if not pairs:
            break
        best = max(pairs, key=lambda pair: (pairs[pair], pair))
        merges.append(best)
        vocab[len(vocab)] = best[0] + best[1]
        merged: Counter[tuple[bytes, ...]] = Counter()
        for word, n in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(best[0] + best[1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += n
        words = merged
    return vocab, merges


def _pack(strings: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.cumsum([0] + [len(s) for s in strings]).astype(np.int64)
    return np.frombuffer(b"".join(strings), dtype=np.uint8).copy(), offsets


def build_case(case: str) -> dict[str, np.ndarray]:
    corpus, vocab_size, specials = CASES[case]
    text = (CORPORA / corpus).read_bytes().decode("utf-8")
    vocab, merges = naive_train_bpe(text, vocab_size, specials)
    arrays = {"corpus": np.frombuffer(corpus.encode(), dtype=np.uint8).copy(), "vocab_size": np.array([vocab_size], dtype=np.int64)}
    for name, strings in {
        "special_tokens": [s.encode("utf-8") for s in specials],
        "vocab": [vocab[i] for i in sorted(vocab)],
        "merges_left": [a for a, _ in merges],
        "merges_right": [b for _, b in merges],
    }.items():
        arrays[f"{name}_data"], arrays[f"{name}_offsets"] = _pack(strings)
    arrays["vocab_ids"] = np.array(sorted(vocab), dtype=np.int64)
    if case == "chunking":
        _check_naive_cuts_change_counts(text, specials)
    return arrays


FIXTURES = {f"bpe_{case}": partial(build_case, case) for case in CASES}


def _check_naive_cuts_change_counts(text: str, specials: list[str]) -> None:
    """The chunking corpus is only useful if cutting it at even byte offsets changes the counts."""
    data = text.encode("utf-8")
    whole = naive_pretokens(text, specials)
    for k in range(2, 9):
        cuts = [len(data) * i // k for i in range(k + 1)]
        parts = [data[a:b].decode("utf-8", errors="replace") for a, b in zip(cuts, cuts[1:])]
        if sum((naive_pretokens(p, specials) for p in parts), Counter()) == whole:
            raise AssertionError(f"cutting chunking.txt into {k} even parts does not change the counts")


def make_chunking_corpus(seed: int = 336) -> str:
    """Short documents full of places where a naive cut changes the counts.

    Runs of newlines ("\\n\\n" pre-tokenises differently from "\\n" + "\\n"), runs of spaces, special
    tokens (a cut inside one leaves two harmless-looking halves), multi-byte characters (a cut inside one
    is not even UTF-8) and few single spaces between words, where a cut would be safe.
    """
    rng = random.Random(seed)
    words = ["the", "cat", "sat", "on", "mat", "naïve", "東京", "dog's", "it'll", "42", "x", "—", "ééé"]
    separators = ["\n\n", "\n\n\n", "  ", "   ", "\n \n", " ", "", EOT, EOT + "\n\n", "\n" + EOT, ".\n\n"]
    parts = []
    for _ in range(700):
        parts.append(rng.choice(words))
        parts.append(rng.choice(separators))
    return "".join(parts)


def make_shakespeare_slice() -> str:
    """About 50 KB of the built-in corpus: the start of two plays, separated by the document separator."""
    from cs336_basics.training.corpus import shakespeare_plays

    plays = dict(shakespeare_plays())
    return f"\n{EOT}\n".join(plays[title][:25_000] for title in ("Hamlet", "The Tempest"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write-corpora", action="store_true", help="rewrite the generated corpora")
    args = parser.parse_args(argv)
    if args.write_corpora:
        for name, text in {"chunking.txt": make_chunking_corpus(), "shakespeare.txt": make_shakespeare_slice()}.items():
            (CORPORA / name).write_bytes(text.encode("utf-8"))
            print(f"wrote {CORPORA / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
