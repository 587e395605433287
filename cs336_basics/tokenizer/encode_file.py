"""Encode a text file into a .npy token array: in parallel over processes, atomically, with a progress bar.

The file is cut into chunks at safe places (pretokenize.find_chunk_boundaries: no pre-token and no special
token spans a cut), so the chunks' ids, concatenated in order, equal the ids of the whole text. Workers
encode chunks and send back raw uint16/uint32 bytes; the parent appends them in order to a temporary
.npy file whose fixed-size header is rewritten with the final length, then renames it into place.

.npy layout (NumPy format version 1.0, numpy/lib/format.py): the magic string b"\\x93NUMPY", the version
bytes 1 0, a little-endian uint16 header length, an ASCII dict literal padded with spaces and ended by
"\\n" so that the data starts at a multiple of 64 bytes, then the array data in C order.
"""

from __future__ import annotations

import math
import os
import struct
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cs336_basics.training.atomic import atomic_write
from cs336_basics.training.system import available_cores
from cs336_basics.tokenizer.pretokenize import find_chunk_boundaries, read_text_range

# BEGIN SOLUTION
_CHUNK_BYTES = 1 << 20  # text per task at most: a smooth progress bar and bounded memory
_CHUNKS_PER_PROCESS = 8  # at least: the last chunks balance the load (workers finish within one chunk)
_HEADER_BYTES = 128  # room for any 1-D shape

_worker_tokenizer = None


def _init_worker(tokenizer) -> None:
    global _worker_tokenizer
    _worker_tokenizer = tokenizer


def _encode_range(task: tuple[str, int, int, str]) -> tuple[bytes, int]:
    path, start, end, dtype = task
    ids = _worker_tokenizer.encode(read_text_range(path, start, end))
    return np.asarray(ids, dtype=dtype).tobytes(), end - start


def _npy_header(dtype: np.dtype, length: int) -> bytes:
    header = f"{{'descr': '{dtype.str}', 'fortran_order': False, 'shape': ({length},), }}"
    header = header.ljust(_HEADER_BYTES - 10 - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("ascii")


# END SOLUTION


def encode_file(tokenizer, path, out_path, num_processes: int | None = None, progress: bool = True) -> int:
    """See `Tokenizer.encode_file`; returns the number of tokens written."""
    # BEGIN SOLUTION
    path, out_path = os.fspath(path), Path(out_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"text file {path!r} does not exist (or is not a file)")
    if num_processes is None:
        num_processes = available_cores()
    if not isinstance(num_processes, int) or num_processes < 1:
        raise ValueError(f"num_processes must be a positive integer, got {num_processes!r}")
    dtype = np.dtype(np.uint16 if max(tokenizer.vocab) < 2**16 else np.uint32).newbyteorder("<")
    size = os.path.getsize(path)
    num_chunks = max(num_processes * _CHUNKS_PER_PROCESS, math.ceil(size / _CHUNK_BYTES))
    bounds = find_chunk_boundaries(path, num_chunks, tokenizer.special_tokens)
    tasks = [(path, a, b, dtype.str) for a, b in zip(bounds, bounds[1:])]

    with atomic_write(out_path) as f, tqdm(
        total=size, unit="B", unit_scale=True, desc=f"encoding {Path(path).name}", disable=not progress
    ) as bar:
        f.write(_npy_header(dtype, 0))
        if num_processes == 1 or len(tasks) == 1:
            _init_worker(tokenizer)
            length = _write_results(f, map(_encode_range, tasks), bar, dtype)
        else:
            context = get_context("fork" if os.name == "posix" else None)
            with context.Pool(min(num_processes, len(tasks)), _init_worker, (tokenizer,)) as pool:
                length = _write_results(f, pool.imap(_encode_range, tasks), bar, dtype)
        f.seek(0)
        f.write(_npy_header(dtype, length))
    return length
    # END SOLUTION


# BEGIN SOLUTION
def _write_results(f, results, bar, dtype: np.dtype) -> int:
    length = 0
    for data, num_bytes in results:
        f.write(data)
        length += len(data) // dtype.itemsize
        bar.update(num_bytes)
    return length


# END SOLUTION
