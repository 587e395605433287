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

Speed: pre-tokens are counted once (in parallel over processes, on chunks cut at safe places, see
pretokenize.py) and each distinct pre-token becomes one "word", a list of token ids with a count. A merge
only revisits the words that contain the merged pair (an index pair -> words), and the most frequent pair
comes from a heap with lazy deletion instead of a scan over all pairs.
"""

from __future__ import annotations

import gc
import heapq
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
    with _cycle_collector_paused():
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


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause CPython's cycle collector (restoring its previous state after). The merge loop allocates
    millions of small lists, sets and tuples but no reference cycles, so reference counting frees all of
    them; the collector would still traverse every live container again and again (20-30% of the loop)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _reversed_order_key(token: bytes) -> str:
    """A string whose order is the REVERSE of the order of byte strings (so a min-heap pops the greatest).

    Byte c becomes chr(256 - c) and a terminator chr(257), greater than every such character, ends the
    key: a proper prefix then sorts after its extensions, and key(a) + key(b) orders pairs like (a, b).
    """
    return "".join(map(chr, [256 - c for c in token])) + chr(257)


def _merge(counts: Counter[str], num_merges: int) -> list[tuple[bytes, bytes]]:
    """Run `num_merges` BPE merges over the pre-token counts; return the merged pairs of bytes."""
    token_bytes = [bytes([b]) for b in range(256)]  # token id (internal) -> bytes
    token_of = {t: i for i, t in enumerate(token_bytes)}  # bytes -> token id: tokens are their bytes
    keys = [_reversed_order_key(t) for t in token_bytes]

    words: list[list[int]] = []  # distinct pre-tokens of 2+ bytes, as token ids
    freqs: list[int] = []
    for pretoken, n in counts.items():
        w = list(pretoken.encode("utf-8"))
        if len(w) > 1:
            words.append(w)
            freqs.append(n)

    pair_counts: dict[tuple[int, int], int] = defaultdict(int)
    where: dict[tuple[int, int], set[int]] = defaultdict(set)  # pair -> words that may contain it
    for wi, (w, n) in enumerate(zip(words, freqs)):
        for pair in zip(w, w[1:]):
            pair_counts[pair] += n
            where[pair].add(wi)
    # Lazy-deletion heap: an entry is current only if its count equals pair_counts[pair].
    heap = [(-n, keys[a] + keys[b], (a, b)) for (a, b), n in pair_counts.items()]
    heapq.heapify(heap)

    merges: list[tuple[bytes, bytes]] = []
    while len(merges) < num_merges and heap:
        neg, _, pair = heapq.heappop(heap)
        n = pair_counts.get(pair, 0)
        if n != -neg:
            # Lazy deletion: counts only ever DROP without a push, so an entry may overestimate its pair.
            # Re-queue the pair at its true count; an exact entry pops before any that underestimates.
            if n > 0:
                heapq.heappush(heap, (-n, keys[pair[0]] + keys[pair[1]], pair))
            continue
        a, b = pair
        merged = token_bytes[a] + token_bytes[b]
        merges.append((token_bytes[a], token_bytes[b]))
        new = token_of.get(merged)
        if new is None:
            new = token_of[merged] = len(token_bytes)
            token_bytes.append(merged)
            keys.append(_reversed_order_key(merged))

        grown = _apply_merge(words, freqs, where.pop(pair), a, b, new, pair_counts, where)
        del pair_counts[pair]  # no (a, b) is left anywhere: merges are applied to every occurrence
        for p in grown:
            heapq.heappush(heap, (-pair_counts[p], keys[p[0]] + keys[p[1]], p))
    return merges


def _apply_merge(words, freqs, word_indices, a, b, new, pair_counts, where) -> set[tuple[int, int]]:
    """In each word of `word_indices`, replace every non-overlapping (a, b), left to right, by `new` and
    update the pair counts; return the pairs whose count rose (they need a fresh heap entry).

    Only pairs next to a merged occurrence change: (x, a) and (b, y) lose the word's count and (x, new)
    and (new, y) gain it; (a, b) itself is dropped by the caller. A listed word that no longer holds
    (a, b) is skipped (the pair -> words index may still list a word that lost a pair: see the end).
    Example: [x, a, b, a, b, y] -> [x, new, new, y]: (x, a), (b, a), (b, y) lose; (x, new),
    (new, new), (new, y) gain. (One call per merge, with the loop over words inside: a call per word
    cost 10% of training.)
    """
    grown: set[tuple[int, int]] = set()
    for wi in word_indices:
        w, n = words[wi], freqs[wi]
        last = len(w) - 1
        out: list[int] = []
        lost = []
        start = i = 0
        remaining = w.count(a)  # occurrences of a still to look at (list.index without exceptions)
        while remaining:
            i = w.index(a, i)
            remaining -= 1
            if i == last or w[i + 1] != b:
                i += 1
                continue
            if i > start:  # ordinary tokens between the previous occurrence (or the start) and this one
                if out:
                    p = (new, w[start])
                    pair_counts[p] += n
                    grown.add(p)
                    where[p].add(wi)
                out += w[start:i]
                p = (w[i - 1], a)
                pair_counts[p] -= n
                lost.append(p)
                p = (w[i - 1], new)
                pair_counts[p] += n
                grown.add(p)
                where[p].add(wi)
            elif out:  # right after the previous occurrence: (b, a) was already subtracted as its right pair
                p = (new, new)
                pair_counts[p] += n
                grown.add(p)
                where[p].add(wi)
            if i + 2 <= last:
                p = (b, w[i + 2])
                pair_counts[p] -= n
                lost.append(p)
            out.append(new)
            start = i = i + 2
            if a == b:
                remaining -= 1  # the b just merged was an a too
        if not out:
            continue
        if start <= last:
            p = (new, w[start])
            pair_counts[p] += n
            grown.add(p)
            where[p].add(wi)
            out += w[start:]
        words[wi] = out
        # Keep the index tight: a lost pair whose left or right token is gone from the word cannot occur
        # in it any more (the common case). Otherwise the word stays listed, and is skipped if visited in vain.
        for p in lost:
            if p[0] not in out or p[1] not in out:
                words_with_p = where.get(p)
                if words_with_p is not None:
                    words_with_p.discard(wi)
    return grown


# END SOLUTION
