"""The safe format between the trusted test process and the sandboxed worker: plain data only.

A message is one frame on a stream socket:

    8-byte blob count | 8-byte length of the JSON header | JSON header (UTF-8) | per blob: 8-byte length | bytes

(the whole frame is preceded by its own 8-byte length, so it is read in one go). The header is JSON; everything JSON cannot hold is a tagged object {"$": tag, ...}:
tensors and arrays are `.npy` blobs read back with `numpy.load(allow_pickle=False)` (bfloat16 travels as
float32 and is cast back), bytes are Latin-1 text (short) or raw blobs, tuples/sets/dicts with non-string keys are tagged lists,
paths, dtypes and devices are strings, and an object that is not plain data stays in the worker as a
numbered handle. Nothing received is ever unpickled or executed, so whatever the sender does, the
receiver only gets values.

Example: encode((torch.zeros(2), {1: b"a"})) -> header {"$": "tuple", "v": [{"$": "tensor", "i": 0,
"dtype": "float32"}, {"$": "dict", "k": [1], "v": [{"$": "b", "v": "a"}]}]} and one blob.
"""

from __future__ import annotations

import io
import json
import pathlib
import socket
import struct
from collections.abc import Callable

import numpy as np
import torch

MAX_FRAME = 2**31  # bytes one message may carry (header and blobs together)
MAX_DEPTH = 64  # nesting of lists/dicts: deeper data is not something a hook returns
_LEN = struct.Struct(">Q")


class WireError(Exception):
    """A value that is not plain data, or a frame that breaks the format."""


class Handle:
    """A non-plain object that stays on the worker side; only its id and type name cross."""

    def __init__(self, id: int, type_name: str):
        self.id, self.type_name = id, type_name


PACKED_MIN = 64  # a vocab (dict int -> bytes) or merges (list of byte pairs) this long travels packed
SMALL_BYTES = 512  # bytes up to this size travel inside the header (as Latin-1 text), larger ones as blobs
_PLAIN = (type(None), bool, int, float, str)


def encode(value, blobs: list[bytes], handle_of: Callable[[object], Handle] | None = None, depth: int = 0):
    """`value` as JSON-able data, appending its binary parts to `blobs`.

    `handle_of(obj)` turns a non-plain object into a Handle (worker side); without it such an object
    raises WireError (trusted side: a test may pass only plain data to a hook).
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if depth > MAX_DEPTH:
        raise WireError(f"data nested deeper than {MAX_DEPTH} levels")
    if kind is bytes and len(value) <= SMALL_BYTES:
        return {"$": "b", "v": value.decode("latin-1")}
    if kind is list:
        if len(value) > PACKED_MIN and all(type(t) is tuple and len(t) == 2 and type(t[0]) is bytes and type(t[1]) is bytes for t in value):
            return {"$": "bytepairs", **_pack([b for pair in value for b in pair], blobs)}
        return [encode(v, blobs, handle_of, depth + 1) for v in value]
    if kind is dict and len(value) > PACKED_MIN:
        if all(type(k) is int and -(2**63) <= k < 2**63 for k in value) and all(type(v) is bytes for v in value.values()):
            blobs.append(_npy(np.fromiter(value, dtype=np.int64, count=len(value))))
            return {"$": "intbytes", "k": len(blobs) - 1, **_pack(list(value.values()), blobs)}
    if kind is tuple:
        return {"$": "tuple", "v": [encode(v, blobs, handle_of, depth + 1) for v in value]}
    if kind is dict:
        return {
            "$": "dict",
            "k": [encode(k, blobs, handle_of, depth + 1) for k in value],
            "v": [encode(v, blobs, handle_of, depth + 1) for v in value.values()],
        }
    return _encode_other(value, blobs, handle_of, depth)


def _encode_other(value, blobs, handle_of, depth):
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().resolve_conj().resolve_neg()
        dtype = str(t.dtype).removeprefix("torch.")
        if t.dtype == torch.bfloat16:
            t = t.float()
        blobs.append(_npy(t.contiguous().numpy()))
        return {"$": "tensor", "i": len(blobs) - 1, "dtype": dtype}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise WireError("a numpy array of Python objects is not plain data")
        blobs.append(_npy(value))
        return {"$": "ndarray", "i": len(blobs) - 1}
    if isinstance(value, np.generic):
        blobs.append(_npy(np.asarray(value)))
        return {"$": "npscalar", "i": len(blobs) - 1}
    if isinstance(value, (bytes, bytearray, memoryview)):
        blobs.append(bytes(value))
        return {"$": "bytes", "i": len(blobs) - 1}
    if isinstance(value, pathlib.PurePath):
        return {"$": "path", "v": str(value)}
    if isinstance(value, torch.dtype):
        return {"$": "torch.dtype", "v": str(value).removeprefix("torch.")}
    if isinstance(value, torch.device):
        return {"$": "torch.device", "v": str(value)}
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float)):  # a subclass (IntEnum, ...): its plain value
        return int(value) if isinstance(value, int) else float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, list):
        return [encode(v, blobs, handle_of, depth + 1) for v in value]
    if isinstance(value, (tuple, torch.Size)):
        return {"$": "tuple", "v": [encode(v, blobs, handle_of, depth + 1) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"$": "set", "v": [encode(v, blobs, handle_of, depth + 1) for v in value]}
    if isinstance(value, dict):
        return encode(dict(value), blobs, handle_of, depth)
    if isinstance(value, Handle):
        return {"$": "handle", "id": value.id, "type": value.type_name}
    if handle_of is not None:
        return encode(handle_of(value), blobs, handle_of, depth)
    raise WireError(f"{type(value).__name__} is not plain data (tensors, arrays, numbers, strings, bytes, paths, lists, dicts)")


def decode(data, blobs: list[bytes], depth: int = 0):
    """Inverse of `encode`: handles come back as Handle objects (the caller wraps them)."""
    kind = type(data)
    if kind in _PLAIN:
        return data
    if depth > MAX_DEPTH:
        raise WireError(f"data nested deeper than {MAX_DEPTH} levels")
    if kind is list:
        return [decode(v, blobs, depth + 1) for v in data]
    if kind is not dict:
        raise WireError(f"unexpected JSON value of type {kind.__name__}")
    tag = data.get("$")
    if tag == "b":
        return str(data["v"]).encode("latin-1")
    if tag == "tuple":
        return tuple([decode(v, blobs, depth + 1) for v in data["v"]])
    if tag == "dict":
        keys, values = data["k"], data["v"]
        if len(keys) != len(values):
            raise WireError("a dict whose keys and values differ in number")
        return {decode(k, blobs, depth + 1): decode(v, blobs, depth + 1) for k, v in zip(keys, values)}
    decoder = _DECODERS.get(tag)
    if decoder is None:
        raise WireError(f"unknown tag {tag!r}")
    return decoder(data, blobs, depth)


def _pack(items: list[bytes], blobs: list[bytes]) -> dict:
    """Many byte strings as two blobs: their concatenation and their lengths."""
    blobs.append(b"".join(items))
    blobs.append(_npy(np.fromiter(map(len, items), dtype=np.int64, count=len(items))))
    return {"data": len(blobs) - 2, "lengths": len(blobs) - 1}


def _unpack(data: dict, blobs: list[bytes]) -> list[bytes]:
    joined, lengths = blobs[data["data"]], _load(blobs[data["lengths"]])
    if lengths.dtype != np.int64 or lengths.ndim != 1 or (lengths < 0).any() or int(lengths.sum()) != len(joined):
        raise WireError("packed byte strings whose lengths do not add up")
    ends = np.cumsum(lengths).tolist()
    return [joined[a:b] for a, b in zip([0, *ends[:-1]], ends)]


def _intbytes(data, blobs, depth):
    keys = _load(blobs[data["k"]])
    values = _unpack(data, blobs)
    if keys.dtype != np.int64 or keys.shape != (len(values),):
        raise WireError("a packed vocabulary whose keys and values differ in number")
    return dict(zip(keys.tolist(), values))


def _bytepairs(data, blobs, depth):
    items = _unpack(data, blobs)
    if len(items) % 2:
        raise WireError("packed byte pairs of odd length")
    return list(zip(items[0::2], items[1::2]))


def _tensor(data, blobs, depth):
    tensor = torch.from_numpy(_load(blobs[data["i"]]))
    dtype = getattr(torch, str(data["dtype"]), None)
    if not isinstance(dtype, torch.dtype):
        raise WireError(f"unknown tensor dtype {data['dtype']!r}")
    return tensor.to(dtype) if tensor.dtype != dtype else tensor


def _dtype(data, blobs, depth):
    dtype = getattr(torch, str(data["v"]), None)
    if not isinstance(dtype, torch.dtype):
        raise WireError(f"unknown dtype {data['v']!r}")
    return dtype


_DECODERS = {
    "tensor": _tensor,
    "ndarray": lambda data, blobs, depth: _load(blobs[data["i"]]),
    "npscalar": lambda data, blobs, depth: _load(blobs[data["i"]])[()],
    "bytes": lambda data, blobs, depth: bytes(blobs[data["i"]]),
    "path": lambda data, blobs, depth: pathlib.Path(str(data["v"])),
    "torch.dtype": _dtype,
    "torch.device": lambda data, blobs, depth: torch.device(str(data["v"])),
    "set": lambda data, blobs, depth: {decode(v, blobs, depth + 1) for v in data["v"]},
    "handle": lambda data, blobs, depth: Handle(int(data["id"]), str(data["type"])),
    "intbytes": _intbytes,
    "bytepairs": _bytepairs,
}


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _load(blob: bytes) -> np.ndarray:
    array = np.load(io.BytesIO(blob), allow_pickle=False)
    if not isinstance(array, np.ndarray):
        raise WireError("a blob that is not one .npy array")
    return array.copy() if not array.flags.writeable else array


def send(sock: socket.socket, header: dict, blobs: list[bytes]) -> None:
    head = json.dumps(header).encode("utf-8")
    parts = [_LEN.pack(len(blobs)), _LEN.pack(len(head)), head]
    for blob in blobs:
        parts += [_LEN.pack(len(blob)), blob]
    frame = b"".join(parts)
    if len(frame) > MAX_FRAME:
        raise WireError(f"a message of {len(frame)} bytes exceeds the limit of {MAX_FRAME}")
    sock.sendall(_LEN.pack(len(frame)) + frame)


def recv(sock: socket.socket) -> tuple[dict, list[bytes]]:
    """One message; EOFError when the other side closed the socket."""
    (size,) = _LEN.unpack(_exact(sock, 8))
    if size > MAX_FRAME:
        raise WireError(f"a message of {size} bytes exceeds the limit of {MAX_FRAME}")
    frame = memoryview(_exact(sock, size))
    try:
        (count,) = _LEN.unpack(frame[:8])
        (head,) = _LEN.unpack(frame[8:16])
        header = json.loads(bytes(frame[16 : 16 + head]).decode("utf-8"))
        blobs, at = [], 16 + head
        for _ in range(count):
            (n,) = _LEN.unpack(frame[at : at + 8])
            blobs.append(bytes(frame[at + 8 : at + 8 + n]))
            at += 8 + n
    except (struct.error, ValueError) as e:
        raise WireError(f"a malformed message: {e}") from None
    if at != size or not isinstance(header, dict):
        raise WireError("a malformed message: its parts do not add up to its length")
    return header, blobs


def _exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = sock.recv_into(view[got:], min(n - got, 1 << 24))
        if k == 0:
            raise EOFError("the other side closed the connection")
        got += k
    return buf
