"""A byte-level BPE tokenizer: encode, decode, streaming, files on disk and parallel encoding of a corpus."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from multiprocessing import get_all_start_methods, get_context

import numpy as np

from cs336_basics.bpe import GPT2_SPLIT, special_splitter


def byte_alphabet():
    """GPT-2's printable stand-in for every byte: printable Latin-1 bytes stand for themselves, the rest
    map in increasing order to chr(256), chr(257), ... (so b" " -> "Ġ")."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table = {}
    extra = 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


_TO_CHAR = byte_alphabet()
_FROM_CHAR = {c: b for b, c in _TO_CHAR.items()}


def to_printable(token: bytes) -> str:
    return "".join(_TO_CHAR[b] for b in token)


def from_printable(text: str) -> bytes:
    return bytes(_FROM_CHAR[c] for c in text)


def _atomic_write_text(path, text):
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class BPETokenizer:
    """Encodes text with merges applied in the order they were learned; decodes with U+FFFD replacement."""

    def __init__(self, vocab: dict[int, bytes], merges: list[tuple[bytes, bytes]], special_tokens: list[str] | None = None):
        self.vocab = dict(vocab)
        self.merges = list(merges)
        self.special_tokens = list(special_tokens or [])
        self.id_of = {tok: i for i, tok in self.vocab.items()}
        for s in self.special_tokens:
            b = s.encode("utf-8")
            if b not in self.id_of:
                new_id = max(self.vocab, default=-1) + 1
                self.vocab[new_id] = b
                self.id_of[b] = new_id
        self.rank = {pair: r for r, pair in enumerate(self.merges)}
        self._splitter = special_splitter(self.special_tokens)
        self._cache: dict[bytes, list[int]] = {}

    # ---- files -------------------------------------------------------------------------------------
    @classmethod
    def from_files(cls, vocab_filepath, merges_filepath, special_tokens=None):
        """Read the files `save` writes (token -> id JSON; also id -> token) and a `#version` merges file."""
        with open(vocab_filepath, encoding="utf-8") as f:
            raw = json.load(f)
        vocab = {}
        for k, v in raw.items():
            if isinstance(v, int):
                vocab[v] = from_printable(k)
            else:
                vocab[int(k)] = from_printable(v)
        merges = []
        with open(merges_filepath, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line or line.startswith("#version"):
                    continue
                left, right = line.split(" ")
                merges.append((from_printable(left), from_printable(right)))
        return cls(vocab, merges, special_tokens)

    def save(self, vocab_filepath, merges_filepath):
        table = {to_printable(tok): i for i, tok in sorted(self.vocab.items())}
        _atomic_write_text(vocab_filepath, json.dumps(table, ensure_ascii=False, indent=0))
        lines = ["#version: 0.2"] + [f"{to_printable(a)} {to_printable(b)}" for a, b in self.merges]
        _atomic_write_text(merges_filepath, "\n".join(lines) + "\n")

    # ---- encoding ----------------------------------------------------------------------------------
    def _word_ids(self, word: bytes) -> list[int]:
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        parts = [bytes([b]) for b in word]
        while len(parts) > 1:
            best_rank, best = None, None
            for pair in zip(parts, parts[1:]):
                r = self.rank.get(pair)
                if r is not None and (best_rank is None or r < best_rank):
                    best_rank, best = r, pair
            if best is None:
                break
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == best[0] and parts[i + 1] == best[1]:
                    merged.append(best[0] + best[1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        ids = [self.id_of[p] for p in parts]
        if len(self._cache) < 200_000:
            self._cache[word] = ids
        return ids

    def _pieces(self, text: str):
        """(start, end, is_special) of every special token and pre-token of `text`, in order."""
        pos = 0
        specials = list(self._splitter.finditer(text)) if self._splitter is not None else []
        for m in specials + [None]:
            stop = m.start() if m is not None else len(text)
            for w in GPT2_SPLIT.finditer(text, pos, stop):
                yield w.start(), w.end(), False
            if m is not None:
                yield m.start(), m.end(), True
                pos = m.end()

    def _encode_pieces(self, text, pieces, out):
        for start, end, special in pieces:
            piece = text[start:end]
            if special:
                out.append(self.id_of[piece.encode("utf-8")])
            else:
                out.extend(self._word_ids(piece.encode("utf-8")))
        return out

    def encode(self, text: str) -> list[int]:
        return self._encode_pieces(text, self._pieces(text), [])

    def _special_prefix_start(self, text: str) -> int | None:
        """Earliest index from which the end of `text` is a proper prefix of some special token."""
        best = None
        for s in self.special_tokens:
            for n in range(min(len(s) - 1, len(text)), 0, -1):
                if text.endswith(s[:n]):
                    p = len(text) - n
                    best = p if best is None else min(best, p)
                    break
        return best

    def encode_iterable(self, iterable: Iterable[str]) -> Iterator[int]:
        """Lazily encode the concatenation of `iterable`: identical to `encode("".join(iterable))`.

        Everything before the last two pieces of the buffer is final. The last two wait for more text: the
        last pre-token may grow, and a contraction can absorb the one before it ("'" + "l" then "l" is
        "'ll"); so does any tail that could still grow into a special token.
        """
        buffer = ""
        for chunk in iterable:
            buffer += chunk
            pieces = list(self._pieces(buffer))
            if len(pieces) < 3:
                continue
            hold = pieces[-2][0]
            p = self._special_prefix_start(buffer)
            if p is not None:
                j = max(k for k, (s, _, _) in enumerate(pieces) if s <= p)
                # If a special token completes at p, the text before it ends there, and its trailing
                # whitespace becomes one pre-token ("\n\n" rather than "\n", "\n"): hold that run too.
                while j > 0 and not pieces[j - 1][2] and buffer[pieces[j - 1][0] : pieces[j - 1][1]].isspace():
                    j -= 1
                hold = min(hold, pieces[j][0])
            done = [piece for piece in pieces if piece[1] <= hold]
            yield from self._encode_pieces(buffer, done, [])
            buffer = buffer[hold:]
        if buffer:
            yield from self.encode(buffer)

    # ---- decoding ----------------------------------------------------------------------------------
    def decode(self, ids: list[int]) -> str:
        chunks = []
        for i in ids:
            tok = self.vocab.get(int(i))
            if tok is None:
                raise IndexError(f"token id {i} is not in the vocabulary (size {len(self.vocab)})")
            chunks.append(tok)
        return b"".join(chunks).decode("utf-8", errors="replace")

    # ---- corpus to .npy ----------------------------------------------------------------------------
    def _cut_points(self, text: str, n_chunks: int) -> list[int]:
        """Places to cut `text` so each piece encodes independently: before a special token, or after a
        newline that sits between two non-whitespace characters (that newline is a pre-token of its own)."""
        if n_chunks <= 1 or not text:
            return [0, len(text)]
        special_spans = [(m.start(), m.end()) for m in self._splitter.finditer(text)] if self._splitter else []
        inside = set()
        for a, b in special_spans:
            inside.update(range(a + 1, b))
        starts = {a for a, _ in special_spans}
        cuts = [0]
        step = len(text) // n_chunks
        for k in range(1, n_chunks):
            i = max(k * step, cuts[-1] + 1)
            while i < len(text):
                if i in starts:
                    break
                if (i not in inside and i >= 2 and text[i - 1] == "\n" and not text[i - 2].isspace()
                        and not text[i].isspace()):
                    break
                i += 1
            if i >= len(text):
                break
            cuts.append(i)
        cuts.append(len(text))
        return cuts

    def encode_file(self, path, out_path, num_processes=None) -> int:
        """Encode the UTF-8 file `path` to a 1-D .npy of ids (uint16 if every id fits, else uint32)."""
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
        workers = num_processes or (os.cpu_count() or 1)
        cuts = self._cut_points(text, workers)
        pieces = [text[a:b] for a, b in zip(cuts, cuts[1:])]
        if workers > 1 and len(pieces) > 1:
            method = "fork" if "fork" in get_all_start_methods() else "spawn"
            with get_context(method).Pool(min(workers, len(pieces))) as pool:
                encoded = pool.map(self.encode, pieces)
        else:
            encoded = [self.encode(p) for p in pieces]
        dtype = np.uint16 if max(self.vocab) < 2**16 else np.uint32
        ids = np.fromiter((i for part in encoded for i in part), dtype=dtype)
        out_path = os.fspath(out_path)
        folder = os.path.dirname(os.path.abspath(out_path))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".npy")
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, ids)
            os.replace(tmp, out_path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return int(ids.size)
