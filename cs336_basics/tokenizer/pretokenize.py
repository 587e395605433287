"""Pre-tokenisation: special tokens, the GPT-2 pattern, and places where text can be cut safely.

Byte-level BPE never merges across pre-token boundaries. Text is first split on the special tokens
(which are kept whole and never take part in merges), then each piece between them is split into
pre-tokens by GPT-2's regular expression.

Safe cuts. Both parallel pre-tokenisation (training, `encode_file`) and streaming (`encode_iterable`) need
to cut text into pieces whose pre-tokens, concatenated, equal the pre-tokens of the whole. A cut at
position p is safe when
  (1) the character before p is not whitespace and the character at p is whitespace: every alternative of
      the GPT-2 pattern matches either only whitespace or an optional single space followed by
      non-whitespace, so no pre-token contains "non-whitespace then whitespace"; a pre-token therefore
      ends at p, and the pattern has no look-behind, so matching from p does not depend on what precedes
      it (and the look-ahead `(?!\\S)` before p sees the same non-whitespace character); and
  (2) no occurrence of a special token spans p (starts before p and ends after it), so the split on
      special tokens of the two sides equals the split of the whole.
A naive cut (at a fixed byte offset, or at a newline) can fall inside a word, inside a run of
whitespace such as "\\n\\n" (where "\\n" + "\\n" pre-tokenises differently from "\\n\\n"), or inside a
special token, and then the counts change.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence

import regex

# GPT-2's pre-tokenisation pattern (Radford et al. 2019, "Language Models are Unsupervised Multitask
# Learners", §2.2; the pattern published in the GPT-2 encoder, openai/gpt-2 src/encoder.py), with the
# contractions written as one group. Needs the `regex` package for \p{L} (letters) and \p{N} (numbers).
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# The same language without needless backtracking: a quantifier that ends its alternative never needs to
# give characters back, so it can be possessive ("++"). Only `\s+(?!\S)` must backtrack.
PRETOKEN_RE = regex.compile(
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s+(?!\S)|\s++"""
)

# Rule (1) of the module docstring. In text: "\S\s" with the pattern's own \s, searched backwards.
_LAST_CUT_IN_TEXT = regex.compile(r"(?r)\S(?=\s)")
# Its forward twin: the first "\S\s" at or after a position.
_NEXT_CUT_IN_TEXT = regex.compile(r"\S(?=\s)")
# GPT-2's pattern for ASCII text, in the standard library's `re` (a leaner engine than `regex`, and
# enough when no Unicode class is needed). On ASCII the classes are exact: \p{L} is [A-Za-z], \p{N} is
# [0-9] and \s is [\t\n\v\f\r ] (Unicode's White_Space property; the separators \x1c-\x1f are not in it). The three
# " ?X" alternatives share their optional space (" ?(?:L|N|P)" matches exactly what " ?L| ?N| ?P" does,
# since L, N and P never match a space), so a failed alternative does not re-read the space.
_WS = r"\t\n\x0b\x0c\r "
_ASCII_PRETOKEN_RE = re.compile(
    rf"""'(?:[sdmt]|ll|ve|re)| ?(?:[A-Za-z]++|[0-9]++|[^{_WS}A-Za-z0-9]++)|[{_WS}]+(?![^{_WS}])|[{_WS}]++"""
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Non-ASCII characters closer together than this share one `regex` stretch (fewer, longer calls).
_MIN_ASCII_RUN = 256

# BEGIN SOLUTION
# In bytes we only trust ASCII: a printable non-space character followed by an ASCII space, tab, CR or LF
# (both are whitespace/non-whitespace for the pattern too, and the cut falls on a UTF-8 character edge).
_FIRST_CUT_IN_BYTES = regex.compile(rb"[\x21-\x7e](?=[ \t\n\r])")
# END SOLUTION


def special_tokens_pattern(special_tokens: Sequence[str]) -> regex.Pattern | None:
    """A pattern matching any special token, the LONGEST first where two overlap, as one capturing group.

    With ["<|endoftext|>", "<|endoftext|><|endoftext|>"] the text "<|endoftext|><|endoftext|>" is one
    match of the longer token, not two of the shorter. Returns None when there are no special tokens.
    """
    # BEGIN SOLUTION
    if not special_tokens:
        return None
    ordered = sorted(set(special_tokens), key=lambda s: (-len(s), s))
    return regex.compile("(" + "|".join(regex.escape(s) for s in ordered) + ")")
    # END SOLUTION


def pretokens(text: str) -> list[str]:
    """The GPT-2 pre-tokens of `text` (a piece holding no special token), in order: the same list as
    PRETOKEN_RE.findall(text), with the leaner ASCII pattern on ASCII stretches. (Provided: use it or
    PRETOKEN_RE.)

    Example: pretokens("Hello, world!\n") -> ["Hello", ",", " world", "!", "\n"].
    """
    if text.isascii():
        return _ASCII_PRETOKEN_RE.findall(text)
    # Mixed text: ASCII stretches go to the fast pattern, and each stretch holding non-ASCII characters,
    # widened to safe cuts (rule 1 of the module docstring) on both sides, to PRETOKEN_RE. Cutting at
    # safe cuts leaves the concatenated pre-tokens unchanged.
    found: list[str] = []
    pos, size = 0, len(text)
    while pos < size:
        first = _NON_ASCII.search(text, pos)
        if first is None:
            found += _ASCII_PRETOKEN_RE.findall(text, pos)
            break
        # The last cut p <= first.start(): "\S" at p - 1 and "\s" at p, both before endpos.
        before = _LAST_CUT_IN_TEXT.search(text, pos, first.start() + 1)
        start = before.end() if before else pos
        end = first.end()
        while True:  # the first cut after the non-ASCII character, past any others close behind it
            after = _NEXT_CUT_IN_TEXT.search(text, end - 1)
            end = after.end() if after else size
            close = _NON_ASCII.search(text, end, end + _MIN_ASCII_RUN)
            if close is None:
                break
            end = close.end()
        found += _ASCII_PRETOKEN_RE.findall(text, pos, start)
        found += PRETOKEN_RE.findall(text, start, end)
        pos = end
    return found


def split_on_special_tokens(text: str, special_tokens: Sequence[str]) -> list[str]:
    """Split `text` into [text, special, text, special, ..., text]: special tokens at the odd indices.

    Example: split_on_special_tokens("a<|eot|>b", ["<|eot|>"]) -> ["a", "<|eot|>", "b"].
    """
    # BEGIN SOLUTION
    pattern = special_tokens_pattern(special_tokens)
    return [text] if pattern is None else pattern.split(text)
    # END SOLUTION


def count_pretokens(text: str, special_tokens: Sequence[str]) -> Counter[str]:
    """How often each pre-token occurs in `text`, special tokens removed (they are never merged).

    Example: count_pretokens("the cat the<|eot|> cat", ["<|eot|>"]) -> {"the": 2, " cat": 2}.
    """
    # BEGIN SOLUTION
    counts: Counter[str] = Counter()
    for piece in split_on_special_tokens(text, special_tokens)[::2]:
        counts.update(pretokens(piece))  # Counter counts an iterable in C
    return counts
    # END SOLUTION


# BEGIN SOLUTION
def _spans_special(data, p: int, specials) -> bool:
    """Whether an occurrence of one of `specials` (str or bytes, like `data`) starts before p and ends after."""
    for s in specials:
        if len(s) > 1 and data.find(s, max(0, p - len(s) + 1), p + len(s) - 1) != -1:
            return True
    return False


# END SOLUTION


def last_safe_cut(text: str, special_tokens: Sequence[str]) -> int:
    """The largest safe cut position in `text` that stays safe whatever text is appended; 0 if none.

    "Whatever is appended": a special token spanning the cut could begin up to (longest special - 1)
    characters before the end, so cuts that close to the end are not considered.
    """
    # BEGIN SOLUTION
    longest = max((len(s) for s in special_tokens), default=1)
    # A match of "\S(?=\s)" at p - 1 needs text[p] before `endpos`, so p <= endpos - 1; we also need
    # p - 1 + longest <= len(text) so that every special token that could span p is already visible.
    endpos = min(len(text), len(text) - longest + 2)
    while endpos > 0:
        match = _LAST_CUT_IN_TEXT.search(text, 0, endpos)
        if match is None:
            return 0
        p = match.start() + 1
        if not _spans_special(text, p, special_tokens):
            return p
        endpos = p  # the next candidate must lie strictly before p
    return 0
    # END SOLUTION


def find_chunk_boundaries(path: str | os.PathLike, num_chunks: int, special_tokens: Sequence[str]) -> list[int]:
    """Byte offsets [0, ..., file size] cutting the file into at most `num_chunks` pieces at safe cuts.

    Each inner boundary is the first safe cut at or after an even split point (i * size / num_chunks),
    so pre-tokenising the chunks separately and adding the counts equals pre-tokenising the whole file.
    Fewer chunks come back when the file has no safe cut near a split point (e.g. it is small).
    """
    # BEGIN SOLUTION
    specials = [s.encode("utf-8") for s in special_tokens]
    margin = max((len(s) for s in specials), default=1)
    size = os.path.getsize(path)
    boundaries = [0]
    with open(path, "rb") as f:
        for i in range(1, num_chunks):
            target = max(size * i // num_chunks, boundaries[-1] + 1)
            cut = _first_safe_cut_in_file(f, target, size, specials, margin)
            if cut < size and cut > boundaries[-1]:
                boundaries.append(cut)
    boundaries.append(size)
    return boundaries
    # END SOLUTION


def read_text_range(path: str | os.PathLike, start: int, end: int) -> str:
    """Bytes [start, end) of `path` decoded as UTF-8 (a chunk between two boundaries of
    `find_chunk_boundaries`); invalid UTF-8 raises ValueError naming the file and byte offset."""
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: invalid UTF-8 at byte {start + e.start}: {e.reason}") from None


# BEGIN SOLUTION
def _first_safe_cut_in_file(f, target: int, size: int, specials: list[bytes], margin: int) -> int:
    """The first safe cut p >= target in the open binary file `f` (of `size` bytes), or `size` if none."""
    window = 1 << 16
    for start in range(target, size, window):
        # Candidates p in [start, start + window); read `margin` bytes around them for the special check.
        lo, hi = max(0, start - margin), min(size, start + window + margin)
        f.seek(lo)
        data = f.read(hi - lo)
        for match in _FIRST_CUT_IN_BYTES.finditer(data, max(0, start - 1 - lo)):
            p = lo + match.start() + 1
            if p >= start + window:
                break
            if not _spans_special(data, p - lo, specials):
                return p
    return size


# END SOLUTION
