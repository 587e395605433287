"""The byte-level BPE tokenizer: text <-> token ids with a trained vocabulary and merges.

Encoding (Sennrich et al. 2016; byte-level as in GPT-2, Radford et al. 2019, §2.2):
  1. split the text on the special tokens (the longest first where they overlap); each special token
     becomes its own id and never takes part in merges;
  2. split the text between them into pre-tokens with GPT-2's pattern (pretokenize.py);
  3. turn each pre-token into its UTF-8 bytes and repeatedly merge the adjacent pair that was merged
     EARLIEST in training (lowest merge rank), every non-overlapping occurrence left to right, until no
     adjacent pair is a merge; then look each piece up in the vocabulary.
Step 3 depends only on the pre-token, so its result is cached (pre-token -> ids): in natural text most
pre-tokens repeat, and a dictionary hit replaces the merge loop.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from functools import partial
from itertools import chain

from cs336_basics.tokenizer.files import load_vocab_and_merges, save_vocab_and_merges
from cs336_basics.tokenizer.pretokenize import last_safe_cut, pretokens, special_tokens_pattern

# BEGIN SOLUTION
import numpy as np

from cs336_basics.tokenizer.batch_bpe import PairTable, bpe_many

# The pre-token cache is cleared when it grows past this many entries, so its memory stays bounded
# (about 200 bytes an entry) however much text goes through one tokenizer.
_CACHE_LIMIT = 100_000
# A merge is packed into one int, rank << _ID_BITS | id of the result, so that min() and index() over a
# list of them compare plain ints (several times faster than tuples).
_ID_BITS = 32
_NO_MERGE = 1 << 80  # greater than every packed merge
# encode_iterable encodes in blocks of about this many characters: large enough that the per-call
# overhead of `encode` vanishes, small enough that memory stays flat.
_STREAM_BLOCK = 1 << 16
# A piece of text with at least this many uncached distinct pre-tokens sends them to batch_bpe.bpe_many
# together (~3x faster per word there, but ~1 ms per call, which a few words would not repay).
_BATCH_MIN = 256


class _PretokenCache(dict):
    """pre-token -> tuple of ids; a miss runs BPE once (dict calls __missing__ from C, so hits are cheap).
    `fill` runs the BPE of many new pre-tokens at once (batch_bpe.bpe_many)."""

    def __init__(self, bpe, bpe_many):
        super().__init__()
        self._bpe = bpe
        self._bpe_many = bpe_many

    def __missing__(self, pretoken: str) -> tuple[int, ...]:
        ids = self[pretoken] = self._bpe(pretoken)
        return ids

    def fill(self, pretokens: list[str]) -> None:
        """Cache every pre-token of `pretokens`, in one batch when there are enough new ones."""
        new = [p for p in set(pretokens) if p not in self]
        if len(new) >= _BATCH_MIN:
            self.update(zip(new, self._bpe_many(new)))


def _encode_ordinary(cache: _PretokenCache, text: str, ids: list[int]) -> None:
    """Append the ids of `text` (which holds no special token) to `ids`, through the pre-token cache."""
    found = pretokens(text)
    if len(found) >= _BATCH_MIN:
        cache.fill(found)
    ids.extend(chain.from_iterable(map(cache.__getitem__, found)))
    if len(cache) > _CACHE_LIMIT:
        cache.clear()


def _bpe(pretoken: str, byte_ids: list[int], merge_of: dict[int, int], shift: int) -> tuple[int, ...]:
    """The ids of one pre-token: merge the lowest-ranked adjacent pair until none is a merge.

    Merging the leftmost occurrence at a time is the same as merging all occurrences of a pair at
    once: a merge only creates pairs that contain its result, and those were merged later in
    training, so they rank lower than the remaining occurrences.
    """
    ids = list(map(byte_ids.__getitem__, pretoken.encode("utf-8")))
    get = merge_of.get
    # ranks[i] = the packed merge of the pair (ids[i], ids[i + 1]), or _NO_MERGE
    ranks = [get(a << shift | b, _NO_MERGE) for a, b in zip(ids, ids[1:])]
    mask = (1 << _ID_BITS) - 1
    while ranks:
        best = min(ranks)
        if best == _NO_MERGE:
            break
        i = ranks.index(best)  # the leftmost occurrence
        new = ids[i] = best & mask
        del ids[i + 1], ranks[i]
        if i > 0:
            ranks[i - 1] = get(ids[i - 1] << shift | new, _NO_MERGE)
        if i < len(ranks):
            ranks[i] = get(new << shift | ids[i + 1], _NO_MERGE)
    return tuple(ids)


# END SOLUTION


class Tokenizer:
    """Byte-level BPE tokenizer.

    Args:
        vocab: token id -> bytes; must contain the 256 single bytes and every merge result.
        merges: merged pairs (a, b) in training order (the earlier, the higher the priority).
        special_tokens: strings encoded as one id each; those whose bytes are not in `vocab` are added
            with new ids after the largest existing id, in the order given.
    """

    def __init__(
        self,
        vocab: dict[int, bytes],
        merges: list[tuple[bytes, bytes]],
        special_tokens: list[str] | None = None,
    ):
        # BEGIN SOLUTION
        self.vocab = dict(vocab)
        self.merges = [(a, b) for a, b in merges]
        self.special_tokens = list(dict.fromkeys(special_tokens or []))
        if not all(isinstance(s, str) and s for s in self.special_tokens):
            raise ValueError(f"special tokens must be non-empty strings, got {self.special_tokens!r}")
        self._id_of: dict[bytes, int] = {}
        for i in sorted(self.vocab, reverse=True):  # where two ids share bytes, encoding uses the smaller
            self._id_of[self.vocab[i]] = i
        missing = [b for b in range(256) if bytes([b]) not in self._id_of]
        if missing:
            raise ValueError(f"a byte-level vocabulary needs all 256 single bytes; missing {missing[:8]}...")
        # Merges on ids: the pair (id of a, id of b), packed into one int as a << shift | b (an int key
        # hashes faster than a tuple, which _bpe would build per lookup), -> rank << _ID_BITS | id of
        # a + b. The first rank wins if a pair repeats.
        shift = max(self.vocab).bit_length()
        self._merge_of: dict[int, int] = {}
        for rank, (a, b) in enumerate(self.merges):
            if not (a in self._id_of and b in self._id_of and a + b in self._id_of):
                raise ValueError(f"merge {rank} ({a!r}, {b!r}): {a!r}, {b!r} and {a + b!r} must all be in the vocabulary")
            self._merge_of.setdefault(self._id_of[a] << shift | self._id_of[b], rank << _ID_BITS | self._id_of[a + b])
        self._special_ids: dict[str, int] = {}
        for s in self.special_tokens:
            if s.encode("utf-8") not in self._id_of:
                new_id = max(self.vocab) + 1
                self.vocab[new_id] = s.encode("utf-8")
                self._id_of[s.encode("utf-8")] = new_id
            self._special_ids[s] = self._id_of[s.encode("utf-8")]
        self._special_re = special_tokens_pattern(self.special_tokens)
        self._byte_ids = [self._id_of[bytes([b])] for b in range(256)]
        # The same merges as NumPy arrays for batch_bpe.bpe_many, built here rather than on first use, so
        # that encode_file's forked workers inherit them (building one per worker cost ~60 ms each).
        keys = np.fromiter(self._merge_of.keys(), dtype=np.int64, count=len(self._merge_of))
        values = np.fromiter(self._merge_of.values(), dtype=np.int64, count=len(self._merge_of))
        self._cache = _PretokenCache(
            partial(_bpe, byte_ids=self._byte_ids, merge_of=self._merge_of, shift=shift),
            partial(bpe_many, byte_ids=np.asarray(self._byte_ids, dtype=np.int64), table=PairTable(keys, values), shift=shift),
        )
        # END SOLUTION

    @classmethod
    def from_files(
        cls,
        vocab_filepath: str | os.PathLike,
        merges_filepath: str | os.PathLike,
        special_tokens: list[str] | None = None,
    ) -> Tokenizer:
        """Load a tokenizer saved by `save` (vocab.json + merges.txt; GPT-2's own files load too)."""
        # BEGIN SOLUTION
        vocab, merges = load_vocab_and_merges(vocab_filepath, merges_filepath)
        return cls(vocab, merges, special_tokens)
        # END SOLUTION

    def save(self, vocab_filepath: str | os.PathLike, merges_filepath: str | os.PathLike) -> None:
        """Write the vocabulary and merges in the text format of cs336_basics/tokenizer/files.py."""
        # BEGIN SOLUTION
        save_vocab_and_merges(self.vocab, self.merges, vocab_filepath, merges_filepath)
        # END SOLUTION

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`. Example (GPT-2 vocabulary): "Hello world" -> [15496, 995]."""
        # BEGIN SOLUTION
        ids: list[int] = []
        if self._special_re is None:
            _encode_ordinary(self._cache, text, ids)
        else:
            for k, piece in enumerate(self._special_re.split(text)):
                if k % 2:  # split() with one capturing group puts the special tokens at odd indices
                    ids.append(self._special_ids[piece])
                elif piece:
                    _encode_ordinary(self._cache, piece, ids)
        return ids
        # END SOLUTION

    def encode_iterable(self, iterable: Iterable[str]) -> Iterator[int]:
        """Lazily yield the ids of the concatenated strings of `iterable` (e.g. an open text file).

        The output equals `encode("".join(iterable))` however the text is cut into strings, and memory
        does not grow with the total length: once about 64k characters are read, they are
        encoded up to the last place where a cut cannot change the result (pretokenize.last_safe_cut)
        and only the rest is kept. (Text with no such place, e.g. one endless word, is kept whole.)
        """
        # BEGIN SOLUTION
        parts: list[str] = []  # text read but not yet encoded, joined only once per block
        size = 0
        for chunk in iterable:
            if not isinstance(chunk, str):
                raise TypeError(f"encode_iterable expects strings, got {type(chunk).__name__}")
            parts.append(chunk)
            size += len(chunk)
            if size < _STREAM_BLOCK:
                continue
            pending = "".join(parts)
            cut = last_safe_cut(pending, self.special_tokens)
            if cut:
                yield from self.encode(pending[:cut])
                pending = pending[cut:]
            parts, size = [pending], len(pending)
        tail = "".join(parts)
        if tail:
            yield from self.encode(tail)
        # END SOLUTION

    def decode(self, ids: Iterable[int]) -> str:
        """The text of `ids`; byte sequences that are not valid UTF-8 become U+FFFD (the replacement
        character). Raises ValueError naming the first id that is not in the vocabulary."""
        # BEGIN SOLUTION
        vocab = self.vocab
        try:
            data = b"".join([vocab[i] for i in ids])
        except (KeyError, TypeError):
            ids = list(ids)
            unknown = next((i for i in ids if not isinstance(i, int) and not hasattr(i, "__index__")), None)
            if unknown is not None:
                raise ValueError(f"token ids must be integers, got {unknown!r}") from None
            ints = [int(i) for i in ids]
            bad = next((i for i in ints if i not in vocab), None)
            if bad is not None:
                raise ValueError(
                    f"unknown token id {bad}: not in the vocabulary (ids {min(vocab)}..{max(vocab)})"
                ) from None
            data = b"".join([vocab[i] for i in ints])
        return data.decode("utf-8", errors="replace")
        # END SOLUTION

    def encode_file(
        self,
        path: str | os.PathLike,
        out_path: str | os.PathLike,
        num_processes: int | None = None,
        progress: bool = True,
    ) -> int:
        """Encode the UTF-8 text file `path` into a 1-D .npy token array at `out_path`; return its length.

        The array is uint16 when every id fits (vocabulary ids < 65536), else uint32. The file is written
        atomically, the text is encoded in parallel over `num_processes` processes (default: the available
        cores) and a progress bar shows the bytes done when `progress` is true.
        """
        # BEGIN SOLUTION
        from cs336_basics.tokenizer.encode_file import encode_file

        return encode_file(self, path, out_path, num_processes=num_processes, progress=progress)
        # END SOLUTION
