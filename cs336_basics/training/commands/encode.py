"""`cs336 encode`: encode a text file into a 1-D token array (.npy), in parallel, written atomically."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cs336_basics.training.cli import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tokenizer", required=True, metavar="DIR", help="tokenizer directory (from cs336 train-tokenizer)")
    parser.add_argument("--input", required=True, metavar="FILE", help="UTF-8 text file to encode")
    parser.add_argument("--out", required=True, metavar="FILE.npy", help="token array to write (uint16 when the vocabulary fits)")
    parser.add_argument("--num-processes", type=int, default=None, metavar="N", help="encoding processes (default: all cores)")


def run(args: argparse.Namespace) -> int:
    from cs336_basics.training.prepare import load_tokenizer

    source, out = Path(args.input), Path(args.out)
    if not source.is_file():
        raise FileNotFoundError(f"input file {str(source)!r} does not exist")
    if out.suffix != ".npy":
        raise UserError(f"--out must end in .npy, got {str(out)!r}")
    started = time.perf_counter()
    tokenizer = load_tokenizer(args.tokenizer)
    try:
        count = tokenizer.encode_file(source, out, num_processes=args.num_processes)
    except ValueError as e:
        raise UserError(str(e)) from e
    size = source.stat().st_size
    print(f"encoded {size:,} bytes into {count:,} tokens ({size / max(count, 1):.2f} bytes/token) in {time.perf_counter() - started:.1f} s -> {out}")
    return 0
