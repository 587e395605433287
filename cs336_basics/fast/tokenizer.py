"""The fast tokenizer: the reference Tokenizer with merges on packed integers and batched NumPy BPE.

`FastTokenizer` subclasses `cs336_basics.tokenizer.Tokenizer` and replaces only how text becomes ids
(`encode`, `_encode_ordinary`, and the encoder that `encode_file`'s workers use): streaming, decoding,
files and the parallel file writing are the reference's. The changes, each giving the reference's ids
exactly (tests/staff/test_fast_path.py):
  - a merge is looked up by one int key (id of a << shift | id of b) and stored as one int
    (rank << 32 | id of the result), so the per-word loop compares plain ints, not tuples of bytes;
  - a text with many uncached distinct pre-tokens sends them through the merges together, in NumPy
    (batch_bpe.py);
  - `encode` pre-tokenises all the pieces between special tokens before it looks any up, so that their
    new pre-tokens go into that one batch;
  - `encode_file`'s workers gather each chunk's ids into an array with NumPy, never building a list
    of ints (fast/encode_file.py).
"""

from __future__ import annotations

from functools import partial
from itertools import chain

import numpy as np

from cs336_basics.fast.batch_bpe import PairTable, bpe_many, bpe_many_flat
from cs336_basics.tokenizer.pretokenize import pretokens
from cs336_basics.tokenizer.tokenizer import Tokenizer

# The pre-token cache is cleared rather than grow past this many entries (bounded memory).
CACHE_LIMIT = 100_000
# A merge is packed into one int, rank << ID_BITS | id of the result: min() and index() over a list of
# them compare plain ints.
ID_BITS = 32
NO_MERGE = 1 << 80  # greater than every packed merge
# A piece of text with at least this many uncached distinct pre-tokens sends them to bpe_many together;
# fewer words would not repay a round's fixed cost.
BATCH_MIN = 256
SAMPLE = 1024


def _bpe(pretoken: str, byte_ids: list[int], merge_of: dict[int, int], shift: int) -> tuple[int, ...]:
    """The ids of one pre-token: merge the lowest-ranked adjacent pair, leftmost occurrence first,
    until none is a merge.

    Merging the leftmost occurrence at a time is the same as merging all occurrences of a pair at
    once: a merge only creates pairs that contain its result, and those were merged later in
    training, so they rank lower than the remaining occurrences.
    """
    ids = list(map(byte_ids.__getitem__, pretoken.encode("utf-8")))
    get = merge_of.get
    # ranks[i] = the packed merge of the pair (ids[i], ids[i + 1]), or NO_MERGE
    ranks = [get(a << shift | b, NO_MERGE) for a, b in zip(ids, ids[1:])]
    mask = (1 << ID_BITS) - 1
    while ranks:
        best = min(ranks)
        if best == NO_MERGE:
            break
        i = ranks.index(best)  # the leftmost occurrence
        new = ids[i] = best & mask
        del ids[i + 1], ranks[i]
        if i > 0:
            ranks[i - 1] = get(ids[i - 1] << shift | new, NO_MERGE)
        if i < len(ranks):
            ranks[i] = get(new << shift | ids[i + 1], NO_MERGE)
    return tuple(ids)


class _PretokenCache(dict):
    """pre-token -> tuple of ids; a miss runs the per-word BPE once (dict calls __missing__ from C).
    `fill` runs the BPE of many new pre-tokens at once."""

    def __init__(self, bpe, bpe_many):
        super().__init__()
        self._bpe = bpe
        self._bpe_many = bpe_many

    def __missing__(self, pretoken: str) -> tuple[int, ...]:
        if len(self) >= CACHE_LIMIT:
            self.clear()
        ids = self[pretoken] = self._bpe(pretoken)
        return ids

    def fill(self, pretokens: list[str]) -> None:
        """Cache every pre-token of `pretokens`, in one batch when there are enough new ones."""
        if len(pretokens) < BATCH_MIN:
            return
        # A warm cache misses few pre-tokens: when an even sample of SAMPLE of them all hit, the misses are
        # left to __missing__, which saves building the set of every pre-token.
        step = max(1, len(pretokens) // SAMPLE)
        if all(p in self for p in pretokens[::step]):
            return
        new = [p for p in set(pretokens) if p not in self]
        if len(new) >= BATCH_MIN:
            if len(self) + len(new) > CACHE_LIMIT:
                self.clear()
            self.update(zip(new, self._bpe_many(new)))


class FastTokenizer(Tokenizer):
    """The reference Tokenizer (same constructor, same ids) with the fast encoding route."""

    def __init__(self, vocab, merges, special_tokens=None):
        super().__init__(vocab, merges, special_tokens)
        # Merges on ids: the pair (id of a, id of b), packed as a << shift | b, -> rank << ID_BITS | id of
        # a + b. The first rank wins if a pair repeats (as the reference's _rank).
        shift = max(self.vocab).bit_length()
        merge_of: dict[int, int] = {}
        for rank, (a, b) in enumerate(self.merges):
            merge_of.setdefault(self._id_of[a] << shift | self._id_of[b], rank << ID_BITS | self._id_of[a + b])
        byte_ids = [self._id_of[bytes([b])] for b in range(256)]
        # The NumPy tables are built here rather than on first use, so that encode_file's forked workers
        # inherit them instead of each building its own.
        keys = np.fromiter(merge_of.keys(), dtype=np.int64, count=len(merge_of))
        values = np.fromiter(merge_of.values(), dtype=np.int64, count=len(merge_of))
        batch = {"byte_ids": np.asarray(byte_ids, dtype=np.int64), "table": PairTable(keys, values), "shift": shift}
        self._bpe_flat = partial(bpe_many_flat, **batch)  # for encode_file's array encoder
        self._fast_cache = _PretokenCache(
            partial(_bpe, byte_ids=byte_ids, merge_of=merge_of, shift=shift), partial(bpe_many, **batch)
        )

    @classmethod
    def from_tokenizer(cls, tokenizer: Tokenizer) -> FastTokenizer:
        """The fast twin of a reference tokenizer (same vocabulary, merges and special tokens)."""
        return cls(tokenizer.vocab, tokenizer.merges, tokenizer.special_tokens)

    def encode(self, text: str) -> list[int]:
        # The pieces between special tokens are all pre-tokenised first, so that one batch covers the new
        # pre-tokens of the whole text: a text of many short documents would otherwise send each
        # document's few new words through the per-word loop.
        if self._special_re is None:
            return self._encode_ordinary(text)
        pieces, found = self._pretokenized(text)
        self._fast_cache.fill(list(chain.from_iterable(found)))
        ids: list[int] = []
        for k, piece in enumerate(pieces):
            if k % 2:
                ids.append(self._special_ids[piece])
            else:
                ids += self._ids_of(found[k // 2])
        return ids

    def _pretokenized(self, text: str) -> tuple[list[str], list[list[str]]]:
        """`text` split on the special tokens (they sit at the odd indices), and the pre-tokens of each
        piece between them."""
        pieces = [text] if self._special_re is None else self._special_re.split(text)
        return pieces, [pretokens(piece) for piece in pieces[::2]]

    def _encode_ordinary(self, text: str) -> list[int]:
        found = pretokens(text)
        self._fast_cache.fill(found)
        return self._ids_of(found)

    def _ids_of(self, found: list[str]) -> list[int]:
        return list(chain.from_iterable(map(self._fast_cache.__getitem__, found)))

    def encode_file(self, path, out_path, num_processes: int | None = None, progress: bool = True) -> int:
        # The reference's encode_file, whose workers get chunks' ids as arrays (fast/encode_file.py).
        from cs336_basics.fast.encode_file import ArrayEncoder
        from cs336_basics.tokenizer.encode_file import encode_file

        return encode_file(ArrayEncoder(self), path, out_path, num_processes=num_processes, progress=progress)
