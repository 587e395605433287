"""`cs336 train-tokenizer`: train a byte-level BPE tokenizer on a text file and save it to a directory."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cs336_basics.training.cli import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="FILE", help="UTF-8 text file to learn the merges from")
    parser.add_argument("--vocab-size", required=True, type=int, metavar="N", help="final vocabulary size (256 bytes + special tokens + merges)")
    parser.add_argument(
        "--special-tokens",
        nargs="*",
        default=["<|endoftext|>"],
        metavar="TOKEN",
        help="tokens kept whole and never merged across (default: <|endoftext|>; an empty list gives none)",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write the tokenizer to (created)")
    parser.add_argument("--num-processes", type=int, default=None, metavar="N", help="pre-tokenisation processes (default: all cores)")


def run(args: argparse.Namespace) -> int:
    from cs336_basics.tokenizer.tokenizer import Tokenizer
    from cs336_basics.tokenizer.train_bpe import train_bpe
    from cs336_basics.training.prepare import save_tokenizer

    source = Path(args.input)
    if not source.is_file():
        raise FileNotFoundError(f"input file {str(source)!r} does not exist")
    minimum = 256 + len(args.special_tokens)
    if args.vocab_size < minimum:
        raise UserError(f"--vocab-size must be at least {minimum} (256 bytes + {len(args.special_tokens)} special tokens), got {args.vocab_size}")
    started = time.perf_counter()
    try:
        vocab, merges = train_bpe(source, args.vocab_size, args.special_tokens, num_processes=args.num_processes)
    except ValueError as e:
        raise UserError(str(e)) from e
    save_tokenizer(Tokenizer(vocab, merges, args.special_tokens), args.out)
    print(f"trained {len(vocab)} tokens ({len(merges)} merges) on {source} in {time.perf_counter() - started:.1f} s -> {args.out}")
    return 0
