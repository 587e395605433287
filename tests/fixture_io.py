"""Reading and writing the reference tensors in tests/fixtures/ (npz, never pickle).

Writing is deterministic (fixed zip timestamps, sorted names) so that re-running
tests/make_fixtures.py gives byte-identical files and a test can check the committed ones.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write `arrays` as an uncompressed .npz with fixed metadata, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
            for name in sorted(arrays):
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
                info.external_attr = 0o644 << 16
                zf.writestr(info, buf.getvalue())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_npz(name: str) -> dict[str, np.ndarray]:
    """Load tests/fixtures/<name>.npz into a dict of numpy arrays (no pickle)."""
    path = FIXTURES / f"{name}.npz"
    if not path.exists():
        raise FileNotFoundError(f"missing reference fixture {path}; staff regenerate it with tests/make_fixtures.py")
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def load_tensors(name: str) -> dict[str, torch.Tensor]:
    """Like `load_npz` but as torch tensors."""
    return {k: torch.from_numpy(v) for k, v in load_npz(name).items()}
