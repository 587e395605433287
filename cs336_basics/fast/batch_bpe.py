"""BPE of many distinct pre-tokens at once, with NumPy: the same ids as the reference's per-word merge loop.

Encoding a large text first meets tens of thousands of distinct pre-tokens (34k in the Shakespeare corpus),
and running the merge loop in Python for each one is most of a cold encode. Here all of them advance
together: every round merges, in each unfinished word, the adjacent pair of lowest merge rank (its
leftmost occurrence), as FastTokenizer's per-word loop does one word at a time. Merge lookups go
through an open-addressing hash table held in two NumPy arrays (pair key -> packed merge), and after the
first round only the two pairs beside each merged id are looked up again, so a round is a handful of
array operations over all unfinished words.

A round has a fixed cost of a dozen NumPy calls however few words are left, so callers use it only when
there are many words to encode (fast.tokenizer.BATCH_MIN); benchmarks/bench_encode.py measures both.
"""

from __future__ import annotations

import numpy as np

_NO_MERGE = np.iinfo(np.int64).max  # greater than every packed merge (rank << 32 | id)
_EMPTY = -1  # a free slot of the hash table (pair keys are >= 0)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio: Fibonacci hashing (Knuth, TAOCP vol. 3, 6.4)
_ID_MASK = (1 << 32) - 1


class PairTable:
    """An immutable int64 -> int64 hash table (linear probing, load factor <= 1/4) with vectorised lookups."""

    def __init__(self, keys: np.ndarray, values: np.ndarray):
        if keys.shape != values.shape or keys.ndim != 1:
            raise ValueError(f"keys and values must be 1-D arrays of one length; got {keys.shape} and {values.shape}")
        if keys.size and (keys.min() < 0 or np.unique(keys).size != keys.size):
            raise ValueError("pair keys must be distinct non-negative integers")
        bits = max(4, (4 * keys.size).bit_length())  # load factor <= 1/4: short probe runs
        self._shift = np.uint64(64 - bits)
        self._slot_mask = (1 << bits) - 1
        self._keys = np.full(1 << bits, _EMPTY, dtype=np.int64)
        self._values = np.full(1 << bits, _NO_MERGE, dtype=np.int64)
        keys, values = keys.astype(np.int64), values.astype(np.int64)
        slots = self._home(keys)
        while keys.size:  # each round, every free slot takes the first pending key that probes it
            free = np.flatnonzero(self._keys[slots] == _EMPTY)
            _, first = np.unique(slots[free], return_index=True)
            placed = free[first]
            self._keys[slots[placed]], self._values[slots[placed]] = keys[placed], values[placed]
            pending = np.ones(keys.size, dtype=bool)
            pending[placed] = False
            keys, values, slots = keys[pending], values[pending], (slots[pending] + 1) & self._slot_mask

    def _home(self, keys: np.ndarray) -> np.ndarray:
        return ((keys.astype(np.uint64) * _GOLDEN) >> self._shift).astype(np.int64)

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The value of each key, or _NO_MERGE where a key is absent."""
        out = np.full(keys.size, _NO_MERGE, dtype=np.int64)
        where = np.arange(keys.size)
        slots = self._home(keys)
        while where.size:  # probe until the key or a free slot
            found = self._keys[slots]
            hit = found == keys
            out[where[hit]] = self._values[slots[hit]]
            going_on = ~hit & (found != _EMPTY)
            where, keys, slots = where[going_on], keys[going_on], (slots[going_on] + 1) & self._slot_mask
        return out


def bpe_many(words: list[str], byte_ids: np.ndarray, table: PairTable, shift: int) -> list[tuple[int, ...]]:
    """The ids of each pre-token in `words`, as the per-word merge loop computes them one by one.

    byte_ids: the id of each byte value (256 entries); table: pair key (a << shift | b) -> the packed
    merge rank << 32 | id of the result, for every merge (a, b).
    """
    ids, lengths = bpe_many_flat(words, byte_ids, table, shift)
    flat = tuple(ids.tolist())
    ends = np.cumsum(lengths).tolist()
    return [flat[a:b] for a, b in zip([0, *ends[:-1]], ends)]


def bpe_many_flat(words: list[str], byte_ids: np.ndarray, table: PairTable, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """`bpe_many` as two int64 arrays: the ids of all the words, concatenated in order, and the number
    of ids of each word."""
    encoded = [w.encode("utf-8") for w in words]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    ids = byte_ids[np.frombuffer(b"".join(encoded), dtype=np.uint8)].astype(np.int64, copy=False)
    word = np.repeat(np.arange(len(encoded)), lengths)  # which word each position belongs to
    merge = np.full(ids.size, _NO_MERGE, dtype=np.int64)  # merge[i]: the packed merge of (i, i + 1)
    _refresh(merge, np.flatnonzero(word[:-1] == word[1:]), ids, word, table, shift)
    done_ids, done_words = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    while ids.size:
        starts = np.flatnonzero(np.concatenate(([True], word[1:] != word[:-1])))
        sizes = np.diff(starts, append=ids.size)
        best = np.minimum.reduceat(merge, starts)  # each word's lowest-ranked merge
        finished = best == _NO_MERGE
        if finished.any():  # words with no merge left are final: set them aside
            leaving = np.repeat(finished, sizes)
            done_ids.append(ids[leaving])
            done_words.append(word[leaving])
            staying = ~leaving
            ids, word, merge = ids[staying], word[staying], merge[staying]
            best, sizes = best[~finished], sizes[~finished]
            if not ids.size:
                break
        # The leftmost occurrence of each word's best merge becomes the merged id; its right neighbour goes.
        hits = np.flatnonzero(merge == np.repeat(best, sizes))
        first = hits[np.concatenate(([True], word[hits[1:]] != word[hits[:-1]]))]
        ids[first] = merge[first] & _ID_MASK
        keep = np.ones(ids.size, dtype=bool)
        keep[first + 1] = False
        ids, word, merge = ids[keep], word[keep], merge[keep]
        # Only the pairs on either side of a merged id changed: look up those two, nothing else.
        merged = first - np.arange(first.size)  # positions after the removals (one per earlier word)
        _refresh(merge, np.concatenate((merged[merged > 0] - 1, merged)), ids, word, table, shift)
    all_words = np.concatenate(done_words)
    ids = np.concatenate(done_ids)[np.argsort(all_words, kind="stable")]
    return ids, np.bincount(all_words, minlength=len(encoded))


def _refresh(merge: np.ndarray, positions: np.ndarray, ids: np.ndarray, word: np.ndarray, table: PairTable, shift: int) -> None:
    """merge[p] = the packed merge of (ids[p], ids[p + 1]) for each p in `positions`, or _NO_MERGE where
    p is the last position of its word."""
    inside = positions < ids.size - 1
    inside[inside] = word[positions[inside]] == word[positions[inside] + 1]
    merge[positions[~inside]] = _NO_MERGE
    pairs = positions[inside]
    merge[pairs] = table.get((ids[pairs] << shift) | ids[pairs + 1])
