"""Training a byte-level BPE tokenizer (Sennrich et al. 2016, "Neural Machine Translation of Rare Words
with Subword Units"; byte-level as in GPT-2, Radford et al. 2019, §2.2).

Vocabulary layout (token id -> bytes), with n = len(special_tokens):
    0 .. n-1                     the special tokens, UTF-8 encoded, in the order given
    n .. n+255                   the 256 single bytes: id n + b is bytes([b])
    n+256 .. vocab_size-1        one token per merge, in merge order: id n + 256 + k is a + b for the
                                 k-th merge (a, b)
Training stops early (with a smaller vocabulary) only if no adjacent pair is left to merge.

Each step merges the most frequent adjacent pair of tokens, counted over all pre-tokens (weighted by how
often each pre-token occurs; pairs never cross pre-token or special-token boundaries). Ties go to the
lexicographically GREATER pair of byte strings, comparing (a, b) as a tuple: first a, then b.
Tokens are identified by their bytes: if a merge produces a byte string that is already a token, the two
are the same token from then on (the vocabulary still gets one entry per merge).

Pre-tokens are counted once (in parallel over processes, on chunks cut at safe places, see
pretokenize.py) and each distinct pre-token becomes one "word", a list of tokens with a count. The pair
counts are kept up to date incrementally: a merge only revisits the words that contain the merged pair
(an index pair -> words), instead of recounting every pair of every word after each merge.
"""

from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from collections.abc import Sequence
from multiprocessing import get_context

from cs336_basics.tokenizer.pretokenize import count_pretokens, find_chunk_boundaries, read_text_range
from cs336_basics.training.system import available_cores

# Each worker reads chunks of at most this many bytes, so its memory stays bounded on large corpora.
_MAX_CHUNK_BYTES = 16 << 20
# Below this many bytes per process, starting processes costs more than it saves.
_MIN_BYTES_PER_PROCESS = 1 << 20


def train_bpe(
    input_path: str | os.PathLike,
    vocab_size: int,
    special_tokens: Sequence[str],
    num_processes: int | None = None,
    **kwargs,
) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """Train a byte-level BPE tokenizer on the UTF-8 text file `input_path`.

    Args:
        input_path: the training text.
        vocab_size: the final vocabulary size, special tokens and the 256 bytes included.
        special_tokens: strings kept whole (never split, never merged); they get the first ids.
        num_processes: processes for pre-tokenisation; default: the available cores, at most one per MiB.

    Returns:
        vocab: token id -> bytes, laid out as the module docstring says.
        merges: the merged pairs (a, b) in the order they were made.

    Example: a file holding "low low lower" has the pre-tokens "low", " low", " lower"; (b"l", b"o") and
    (b"o", b"w") tie at 3 occurrences and (b"o", b"w") is the greater pair, so with vocab_size=257 and no
    special tokens, merges == [(b"o", b"w")] and vocab[256] == b"ow".
    """
    # BEGIN SOLUTION
    if kwargs:
        raise TypeError(f"train_bpe() got unexpected keyword arguments {sorted(kwargs)}")
    path = os.fspath(input_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"training text {path!r} does not exist (or is not a file)")
    specials = list(special_tokens)
    _validate(vocab_size, specials)
    counts = _count_pretokens_in_file(path, specials, num_processes)
    merges = _merge(counts, vocab_size - 256 - len(specials))
    vocab = {i: s.encode("utf-8") for i, s in enumerate(specials)}
    vocab.update({len(specials) + b: bytes([b]) for b in range(256)})
    offset = len(specials) + 256
    vocab.update({offset + k: a + b for k, (a, b) in enumerate(merges)})
    return vocab, merges
    # END SOLUTION


# BEGIN SOLUTION
def _validate(vocab_size: int, specials: list[str]) -> None:
    for s in specials:
        if not isinstance(s, str) or not s:
            raise ValueError(f"special tokens must be non-empty strings, got {s!r}")
    duplicates = sorted({s for s in specials if specials.count(s) > 1})
    if duplicates:
        raise ValueError(f"duplicate special tokens {duplicates}: each special token must be given once")
    if not isinstance(vocab_size, int) or vocab_size < 256 + len(specials):
        raise ValueError(
            f"vocab_size must be at least 256 + {len(specials)} (the bytes and the special tokens), got {vocab_size!r}"
        )


def _count_range(path: str, start: int, end: int, specials: list[str]) -> Counter[str]:
    return count_pretokens(read_text_range(path, start, end), specials)


def _count_pretokens_in_file(path: str, specials: list[str], num_processes: int | None) -> Counter[str]:
    size = os.path.getsize(path)
    if num_processes is None:
        cores = available_cores()
        num_processes = max(1, min(cores, size // _MIN_BYTES_PER_PROCESS))
    if not isinstance(num_processes, int) or num_processes < 1:
        raise ValueError(f"num_processes must be a positive integer, got {num_processes!r}")
    num_chunks = max(num_processes, math.ceil(size / _MAX_CHUNK_BYTES))
    bounds = find_chunk_boundaries(path, num_chunks, specials)
    jobs = [(path, a, b, specials) for a, b in zip(bounds, bounds[1:])]
    if num_processes == 1 or len(jobs) == 1 or size < 2 * _MIN_BYTES_PER_PROCESS:
        # Small files are still cut into chunks (same code path, same result), but counted in this
        # process: starting workers would cost more than it saves.
        parts = (_count_range(*job) for job in jobs)
        return sum(parts, Counter())
    # "fork" starts workers fastest where it exists (Linux); the workers only read the file and count.
    context = get_context("fork" if os.name == "posix" else None)
    total: Counter[str] = Counter()
    with context.Pool(min(num_processes, len(jobs))) as pool:
        for part in pool.starmap(_count_range, jobs):
            total.update(part)
    return total


def _pairs(word: list[bytes]) -> list[tuple[bytes, bytes]]:
    """The adjacent pairs of a word, with repeats. Example: [b"a", b"b", b"a"] -> [(b"a", b"b"), (b"b", b"a")]."""
    return list(zip(word, word[1:]))


def _merge_pair(word: list[bytes], pair: tuple[bytes, bytes]) -> list[bytes]:
    """`word` with every non-overlapping occurrence of `pair`, left to right, joined into one token.

    Example: _merge_pair([b"a", b"a", b"a"], (b"a", b"a")) -> [b"aa", b"a"].
    """
    merged: list[bytes] = []
    i = 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            merged.append(word[i] + word[i + 1])
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return merged


def _merge(counts: Counter[str], num_merges: int) -> list[tuple[bytes, bytes]]:
    """Run `num_merges` BPE merges over the pre-token counts; return the merged pairs of bytes."""
    # Each distinct pre-token is a word: its tokens (bytes, one per byte to start) and how often it occurs.
    words = [[bytes([b]) for b in pretoken.encode("utf-8")] for pretoken in counts]
    freqs = list(counts.values())

    pair_counts: Counter[tuple[bytes, bytes]] = Counter()
    where: dict[tuple[bytes, bytes], set[int]] = defaultdict(set)  # pair -> words that contain it
    for wi, (word, count) in enumerate(zip(words, freqs)):
        for pair in _pairs(word):
            pair_counts[pair] += count
            where[pair].add(wi)

    merges: list[tuple[bytes, bytes]] = []
    while len(merges) < num_merges and pair_counts:
        # The most frequent pair; among equally frequent pairs the lexicographically greater (a, b).
        best = max(pair_counts, key=lambda pair: (pair_counts[pair], pair))
        merges.append(best)
        # Only the words holding `best` change: take their old pairs out of the counts, merge, and put
        # their new pairs in. A word listed for `best` that no longer holds it comes out unchanged.
        lowered: set[tuple[bytes, bytes]] = set()
        for wi in where.pop(best):
            n = freqs[wi]
            for pair in _pairs(words[wi]):
                pair_counts[pair] -= n
                lowered.add(pair)
            words[wi] = _merge_pair(words[wi], best)
            for pair in _pairs(words[wi]):
                pair_counts[pair] += n
                where[pair].add(wi)
        # Pairs that no longer occur anywhere leave the counts, so max() never picks a pair of count 0.
        for pair in lowered:
            if pair_counts[pair] <= 0:
                del pair_counts[pair]
    return merges


# END SOLUTION
