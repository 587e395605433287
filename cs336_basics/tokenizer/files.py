"""Saving and loading a vocabulary and merges as text (JSON + a merges list), never pickle.

Byte strings are written in GPT-2's printable byte alphabet (Radford et al. 2019; the `bytes_to_unicode`
table of the GPT-2 encoder): each byte becomes one printable Unicode character, the 188 printable
Latin-1 bytes ("!".."~", "¡".."¬", "®".."ÿ") stand for themselves and the other 68 bytes map, in
increasing order, to chr(256), chr(257), ... So b" the" is written "Ġthe" (space = chr(256 + 32) = "Ġ")
and no token ever contains a real space, which lets a merges line be "left right".

Files written by `save_vocab_and_merges`:
  vocab.json   {"0": "<|endoftext|>", "1": "!", ...}: token id (decimal string) -> encoded bytes,
               sorted by id. (An id-keyed object can hold two ids with the same bytes.)
  merges.txt   "#version: 0.2" then one merge per line, in merge order: "<left> <right>".
`load_vocab_and_merges` also reads GPT-2's own encoder.json ({"Ġthe": 262, ...}: encoded token -> id),
so GPT-2's released files load directly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cs336_basics.training.atomic import atomic_write

# BEGIN SOLUTION
_PRINTABLE = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
_BYTE_TO_CHAR = {b: chr(b) for b in _PRINTABLE}
_BYTE_TO_CHAR.update({b: chr(256 + k) for k, b in enumerate(b for b in range(256) if b not in _BYTE_TO_CHAR)})
_CHAR_TO_BYTE = {c: b for b, c in _BYTE_TO_CHAR.items()}
# END SOLUTION


def bytes_to_printable(token: bytes) -> str:
    """Encode bytes in GPT-2's printable alphabet. Example: b" hi\\n" -> "ĠhiĊ"."""
    # BEGIN SOLUTION
    return "".join([_BYTE_TO_CHAR[b] for b in token])
    # END SOLUTION


def printable_to_bytes(text: str) -> bytes:
    """Inverse of `bytes_to_printable`. Example: "ĠhiĊ" -> b" hi\\n"."""
    # BEGIN SOLUTION
    try:
        return bytes([_CHAR_TO_BYTE[c] for c in text])
    except KeyError as e:
        raise ValueError(f"{text!r} has the character {e.args[0]!r}, outside GPT-2's byte alphabet") from None
    # END SOLUTION


def save_vocab_and_merges(
    vocab: dict[int, bytes],
    merges: list[tuple[bytes, bytes]],
    vocab_path: str | os.PathLike,
    merges_path: str | os.PathLike,
) -> None:
    """Write vocab.json and merges.txt (format in the module docstring), each atomically."""
    # BEGIN SOLUTION
    vocab_json = {str(i): bytes_to_printable(vocab[i]) for i in sorted(vocab)}
    with atomic_write(vocab_path, "w", encoding="utf-8") as f:
        f.write(json.dumps(vocab_json, ensure_ascii=False, indent=0) + "\n")
    lines = ["#version: 0.2"] + [f"{bytes_to_printable(a)} {bytes_to_printable(b)}" for a, b in merges]
    with atomic_write(merges_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    # END SOLUTION


def load_vocab_and_merges(
    vocab_path: str | os.PathLike, merges_path: str | os.PathLike
) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """Read files written by `save_vocab_and_merges` (or GPT-2's encoder.json and vocab.bpe)."""
    # BEGIN SOLUTION
    for path in (vocab_path, merges_path):
        if not Path(path).is_file():
            raise FileNotFoundError(f"tokenizer file {os.fspath(path)!r} does not exist")
    raw = json.loads(Path(vocab_path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{vocab_path}: expected a JSON object of id -> token, got {type(raw).__name__}")
    if all(isinstance(v, int) for v in raw.values()):  # GPT-2's encoder.json: token -> id
        vocab = {v: printable_to_bytes(k) for k, v in raw.items()}
    elif all(isinstance(v, str) and k.isdigit() for k, v in raw.items()):
        vocab = {int(k): printable_to_bytes(v) for k, v in raw.items()}
    else:
        raise ValueError(f"{vocab_path}: expected {{id: token}} (or GPT-2's {{token: id}}) with string tokens")
    merges = []
    for number, line in enumerate(Path(merges_path).read_text(encoding="utf-8").splitlines(), 1):
        if not line or (number == 1 and line.startswith("#version")):
            continue
        parts = line.split(" ")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"{merges_path}:{number}: expected '<left> <right>', got {line!r}")
        merges.append((printable_to_bytes(parts[0]), printable_to_bytes(parts[1])))
    return vocab, merges
    # END SOLUTION

