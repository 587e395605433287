"""The encoder behind `FastTokenizer.encode_file`: a chunk's ids as one NumPy array, never a list of ints.

The reference's `encode_file` (cs336_basics/tokenizer/encode_file.py) needs three things of a tokenizer:
`vocab`, `special_tokens` and `encode`, whose result its workers turn into an array. `ArrayEncoder` is
such an object. It keeps a table of every pre-token it has encoded (a row each: where its ids start in
one flat id array, and how many there are); a chunk becomes the rows of its pre-tokens, and its ids
are gathered from the flat array in a few NumPy calls. A chunk's new pre-tokens go through the batch
BPE together (batch_bpe.py), as in `FastTokenizer.encode`. Building a list of ints per chunk and
converting it back to an array is what this saves.
"""

from __future__ import annotations

from itertools import chain

import numpy as np

from cs336_basics.fast import tokenizer as fast_tokenizer


class ArrayEncoder:
    """`FastTokenizer`'s ids, from `encode` as an int64 array; for encode_file's workers."""

    def __init__(self, tokenizer: fast_tokenizer.FastTokenizer):
        self.vocab = tokenizer.vocab
        self.special_tokens = tokenizer.special_tokens
        self._pretokenized = tokenizer._pretokenized
        self._bpe_flat = tokenizer._bpe_flat
        # Rows 0 .. k-1 are the k special tokens (one id each); they stay when the table is cleared.
        self._special_row = {s: k for k, s in enumerate(tokenizer._special_ids)}
        k = len(self._special_row)
        special_ids = np.fromiter(tokenizer._special_ids.values(), dtype=np.int64, count=k)
        self._special_table = (special_ids, np.arange(k, dtype=np.int64), np.ones(k, dtype=np.int64))
        self._clear()

    def _clear(self) -> None:
        self._row_of: dict[str, int] = {}  # pre-token -> its row
        self._ids, self._starts, self._lengths = self._special_table  # the flat ids; each row's start, length

    def encode(self, text: str) -> np.ndarray:
        pieces, found = self._pretokenized(text)  # special tokens at the odd indices of `pieces`
        self._add(set(chain.from_iterable(found)))
        row_of = self._row_of.__getitem__
        rows = np.fromiter(
            chain.from_iterable(
                (self._special_row[piece],) if k % 2 else map(row_of, found[k // 2]) for k, piece in enumerate(pieces)
            ),
            dtype=np.int64,
        )
        lengths = self._lengths[rows]
        ends = np.cumsum(lengths)
        # Output position j lies in row r = rows[i] (ends[i] - lengths[i] <= j < ends[i]): it takes the
        # id at starts[r] + (j - ends[i] + lengths[i]).
        shift = np.repeat(self._starts[rows] - ends + lengths, lengths)
        return self._ids[shift + np.arange(shift.size)]

    def _add(self, distinct: set[str]) -> None:
        """Give every pre-token of `distinct` a row, clearing the table first rather than let it pass the
        fast tokenizer's CACHE_LIMIT (bounded memory, as its cache)."""
        new = distinct.difference(self._row_of)
        if len(self._row_of) + len(new) > fast_tokenizer.CACHE_LIMIT:
            self._clear()
            new = distinct
        if not new:
            return
        words = list(new)
        ids, lengths = self._bpe_flat(words)
        first_row = self._lengths.size
        self._row_of.update(zip(words, range(first_row, first_row + len(words))))
        self._starts = np.concatenate((self._starts, self._ids.size + np.cumsum(lengths) - lengths))
        self._lengths = np.concatenate((self._lengths, lengths))
        self._ids = np.concatenate((self._ids, ids))
