"""The fast BPE trainer: the reference's pre-token counts, then a heap-driven merge loop over token ids.

Same input, output and vocabulary layout as `cs336_basics.tokenizer.train_bpe.train_bpe` (identical
merges, tests/staff/test_fast_path.py). The reference picks each merge with max() over every pair count;
here the most frequent pair comes from a heap with lazy deletion (an entry whose count went stale is
re-queued at its true count when popped), tokens are small ints rather than byte strings, each merge
edits only the affected positions of each word instead of rebuilding its pairs, and CPython's cycle
collector is paused for the loop (it allocates no reference cycles).
"""

from __future__ import annotations

import gc
import heapq
import os
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from cs336_basics.tokenizer.train_bpe import _count_pretokens_in_file, _validate


def train_bpe(
    input_path: str | os.PathLike,
    vocab_size: int,
    special_tokens: Sequence[str],
    num_processes: int | None = None,
) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """See `cs336_basics.tokenizer.train_bpe.train_bpe`: the same vocabulary and merges."""
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


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause CPython's cycle collector (restoring its previous state after). The merge loop allocates
    millions of small lists, sets and tuples but no reference cycles, so reference counting frees all of
    them; the collector would still traverse every live container again and again."""
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
    (new, new), (new, y) gain. (One call per merge, with the loop over words inside, saves a Python call
    per word.)
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
