"""Byte-level BPE training (Sennrich et al. 2016; GPT-2's byte-level variant, Radford et al. 2019).

Vocabulary ids: 0..255 are the single bytes, then the special tokens in the order given, then one id
per merge. Pair counts are kept up to date incrementally: after a merge only the words that contained
the merged pair are re-counted, and a lazily invalidated heap gives the most frequent pair.
"""

from __future__ import annotations

import heapq
import os
from collections import Counter, defaultdict
from multiprocessing import get_all_start_methods, get_context

import regex

GPT2_SPLIT = regex.compile(r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def special_splitter(special_tokens):
    """A compiled alternation of the special tokens, longest first (so overlapping ones match the longest), or None."""
    if not special_tokens:
        return None
    ordered = sorted(set(special_tokens), key=len, reverse=True)
    return regex.compile("|".join(regex.escape(s) for s in ordered))


def count_words(text, special_tokens):
    """Counter of pre-tokens (as bytes) of `text`, never crossing a special token."""
    splitter = special_splitter(special_tokens)
    pieces = splitter.split(text) if splitter is not None else [text]
    counts = Counter()
    for piece in pieces:
        for match in GPT2_SPLIT.finditer(piece):
            counts[match.group().encode("utf-8")] += 1
    return counts


def safe_cuts(text, n_chunks, special_tokens):
    """Character offsets cutting `text` into at most `n_chunks` pieces, each cut at the start of a special token.

    The cuts are starts of the special-token matches found by scanning from the beginning (so a cut never
    falls inside a longer, overlapping special token). Text on either side of a special token is
    pre-tokenised separately anyway, so such cuts never change the counts. Without special tokens there is
    no place that is always safe, and the whole text stays one piece.
    """
    splitter = special_splitter(special_tokens)
    if splitter is None or n_chunks <= 1:
        return [0, len(text)]
    starts = [m.start() for m in splitter.finditer(text)]
    cuts = [0]
    step = len(text) / n_chunks
    j = 0
    for k in range(1, n_chunks):
        target = k * step
        while j < len(starts) and (starts[j] < target or starts[j] <= cuts[-1]):
            j += 1
        if j == len(starts):
            break
        cuts.append(starts[j])
    cuts.append(len(text))
    return cuts


def _count_piece(args):
    text, special_tokens = args
    return count_words(text, special_tokens)


def word_counts(input_path, special_tokens, num_workers=1):
    """Pre-token counts of the file, counted in `num_workers` processes (None: the cores, one per MiB at most)."""
    with open(input_path, encoding="utf-8", newline="") as f:
        text = f.read()
    if num_workers is None:
        num_workers = min(os.cpu_count() or 1, max(1, len(text) >> 20))
    cuts = safe_cuts(text, num_workers, special_tokens)
    if len(cuts) <= 2:
        return count_words(text, special_tokens)
    jobs = [(text[a:b], list(special_tokens)) for a, b in zip(cuts, cuts[1:])]
    method = "fork" if "fork" in get_all_start_methods() else "spawn"
    with get_context(method).Pool(min(num_workers, len(jobs))) as pool:
        partials = pool.map(_count_piece, jobs)
    total = Counter()
    for c in partials:
        total.update(c)
    return total


class _Desc:
    """Heap key ordering pairs of byte strings from the greatest down (heapq is a min-heap)."""

    __slots__ = ("pair",)

    def __init__(self, pair):
        self.pair = pair

    def __lt__(self, other):
        return self.pair > other.pair

    def __eq__(self, other):
        return self.pair == other.pair


def _pairs_of(word):
    return zip(word, word[1:])


def train_bpe(input_path, vocab_size, special_tokens, num_workers=1):
    """Train byte-level BPE on the UTF-8 file `input_path`.

    Returns (vocab id -> bytes, merges in order). Makes vocab_size - 256 - len(special_tokens) merges,
    fewer only when no adjacent pair is left. Ties between equally frequent pairs go to the
    lexicographically greatest pair of byte strings.
    """
    special_tokens = list(special_tokens)
    if not os.path.isfile(input_path):
        raise FileNotFoundError(f"no such corpus file: {input_path}")
    if len(set(special_tokens)) != len(special_tokens):
        raise ValueError(f"duplicate special tokens in {special_tokens}")
    if vocab_size < 256 + len(special_tokens):
        raise ValueError(f"vocab_size={vocab_size} leaves no room for 256 bytes + {len(special_tokens)} special tokens")

    vocab = {b: bytes([b]) for b in range(256)}
    for s in special_tokens:
        vocab[len(vocab)] = s.encode("utf-8")

    counts = word_counts(input_path, special_tokens, num_workers)
    words = [tuple(bytes([b]) for b in w) for w in counts]
    freqs = list(counts.values())

    pair_count = defaultdict(int)
    where = defaultdict(set)  # pair -> indices of words containing it
    for idx, (w, f) in enumerate(zip(words, freqs)):
        for p in _pairs_of(w):
            pair_count[p] += f
            where[p].add(idx)
    heap = [(-c, _Desc(p)) for p, c in pair_count.items()]
    heapq.heapify(heap)

    merges = []
    while len(vocab) < vocab_size:
        # Counts only ever fall for pairs already in the heap (a pair holding the new token is new), so an
        # entry's count is an upper bound: a stale top is pushed back with its current count.
        best = None
        while heap:
            neg, key = heapq.heappop(heap)
            current = pair_count.get(key.pair, 0)
            if current == -neg:
                best = key.pair
                break
            if current > 0:
                heapq.heappush(heap, (-current, key))
        if best is None:
            break
        merges.append(best)
        left, right = best
        joined = left + right
        vocab[len(vocab)] = joined

        born = set()
        for idx in where.pop(best, ()):
            old = words[idx]
            new = []
            i, n = 0, len(old)
            while i < n:
                if i + 1 < n and old[i] == left and old[i + 1] == right:
                    new.append(joined)
                    i += 2
                else:
                    new.append(old[i])
                    i += 1
            if len(new) == n:  # a stale index: an earlier merge already removed the pair here
                continue
            f = freqs[idx]
            for p in zip(old, old[1:]):
                pair_count[p] -= f
            for p in zip(new, new[1:]):
                pair_count[p] += f
                if p[0] is joined or p[1] is joined:
                    where[p].add(idx)
                    born.add(p)
            words[idx] = tuple(new)
        pair_count.pop(best, None)
        for p in born:
            heapq.heappush(heap, (-pair_count[p], _Desc(p)))
    return vocab, merges
