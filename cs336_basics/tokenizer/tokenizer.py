"""The byte-level BPE tokenizer: text <-> token ids with a trained vocabulary and merges.

Encoding (Sennrich et al. 2016; byte-level as in GPT-2, Radford et al. 2019, §2.2):
  1. split the text on the special tokens (the longest first where they overlap); each special token
     becomes its own id and never takes part in merges;
  2. split the text between them into pre-tokens with GPT-2's pattern (pretokenize.py);
  3. turn each pre-token into its UTF-8 bytes and repeatedly merge the adjacent pair that was merged
     EARLIEST in training (lowest merge rank), every non-overlapping occurrence left to right, until no
     adjacent pair is a merge; then look each piece up in the vocabulary.
Step 3 depends only on the pre-token, so its result is cached (pre-token -> ids): in natural text most
pre-tokens repeat (Zipf's law), and a dictionary hit replaces the merge loop.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator

from cs336_basics.tokenizer.files import load_vocab_and_merges, save_vocab_and_merges
from cs336_basics.tokenizer.pretokenize import last_safe_cut, pretokens, special_tokens_pattern

# BEGIN SOLUTION
from cs336_basics.tokenizer.train_bpe import _merge_pair  # a merge joins a pair in encoding as in training

# The pre-token cache is cleared when it grows past this many entries, so its memory stays bounded
# however much text goes through one tokenizer.
_CACHE_LIMIT = 100_000
# encode_iterable encodes in blocks of about this many characters: large enough that the per-call
# overhead of `encode` vanishes, small enough that memory stays flat.
_STREAM_BLOCK = 1 << 16
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
        # The rank of each merge: the earlier in training, the lower the rank and the higher the priority.
        # The first rank wins if a pair repeats.
        self._rank: dict[tuple[bytes, bytes], int] = {}
        for rank, (a, b) in enumerate(self.merges):
            if not (a in self._id_of and b in self._id_of and a + b in self._id_of):
                raise ValueError(f"merge {rank} ({a!r}, {b!r}): {a!r}, {b!r} and {a + b!r} must all be in the vocabulary")
            self._rank.setdefault((a, b), rank)
        self._special_ids: dict[str, int] = {}
        for s in self.special_tokens:
            if s.encode("utf-8") not in self._id_of:
                new_id = max(self.vocab) + 1
                self.vocab[new_id] = s.encode("utf-8")
                self._id_of[s.encode("utf-8")] = new_id
            self._special_ids[s] = self._id_of[s.encode("utf-8")]
        self._special_re = special_tokens_pattern(self.special_tokens)
        self._cache: dict[str, tuple[int, ...]] = {}  # pre-token -> its ids
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
        if self._special_re is None:
            return self._encode_ordinary(text)
        ids: list[int] = []
        for k, piece in enumerate(self._special_re.split(text)):
            if k % 2:  # split() with one capturing group puts the special tokens at odd indices
                ids.append(self._special_ids[piece])
            elif piece:
                ids.extend(self._encode_ordinary(piece))
        return ids
        # END SOLUTION

    # BEGIN SOLUTION
    def _encode_ordinary(self, text: str) -> list[int]:
        """The ids of `text`, which holds no special token: each pre-token's ids, from the cache."""
        ids: list[int] = []
        for pretoken in pretokens(text):
            cached = self._cache.get(pretoken)
            if cached is None:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                cached = self._cache[pretoken] = self._bpe(pretoken)
            ids.extend(cached)
        return ids

    def _bpe(self, pretoken: str) -> tuple[int, ...]:
        """The ids of one pre-token: from its bytes, merge the adjacent pair of lowest rank (every
        occurrence of it) until no adjacent pair is a merge; the same order as training made them."""
        parts = [bytes([b]) for b in pretoken.encode("utf-8")]
        while len(parts) > 1:
            best = min(zip(parts, parts[1:]), key=lambda pair: self._rank.get(pair, math.inf))
            if best not in self._rank:
                break  # no adjacent pair is a merge
            parts = _merge_pair(parts, best)
        return tuple(self._id_of[p] for p in parts)

    # END SOLUTION

    def encode_iterable(self, iterable: Iterable[str]) -> Iterator[int]:
        """Lazily yield the ids of the concatenated strings of `iterable` (e.g. an open text file).

        The output equals `encode("".join(iterable))` however the text is cut into strings, and memory
        does not grow with the total length: once about 64K characters are read, they are
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
