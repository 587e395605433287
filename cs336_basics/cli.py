"""The `cs336` command line: a thin dispatcher over subcommand modules.

Each subcommand lives in its own module exposing `add_arguments(parser)` and `run(args) -> int`; it is
imported only when used, so a staff-only command whose package is absent (the student starter ships
without `grading/`) fails with a one-line message instead of breaking the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from cs336_basics.cpu_memory import request_huge_pages

# name -> (module, one-line help). Staff-only commands live in `grading`.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "train-tokenizer": ("cs336_basics.commands.train_tokenizer", "train a byte-level BPE tokenizer on a text file"),
    "encode": ("cs336_basics.commands.encode", "encode a text file into a token array (.npy)"),
    "train": ("cs336_basics.commands.train", "train a Transformer LM (default: Shakespeare on the CPU)"),
    "generate": ("cs336_basics.commands.generate", "generate text from a checkpoint"),
    "accounting": ("cs336_basics.commands.accounting", "parameters, FLOPs and memory of a model preset"),
    "grade": ("grading.commands.grade", "staff: grade a submission and write a Gradescope results.json"),
    "grade-all": ("grading.commands.grade_all", "staff: grade a class of submissions; gradebook CSV and plot"),
    "release": ("grading.commands.release", "staff: build and verify the student starter release"),
    "autograder": ("grading.commands.autograder", "staff: build the Gradescope autograder bundle"),
}


class UserError(Exception):
    """An error caused by the user's input (missing file, bad option); printed as one line, exit 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cs336", description="Build, train and grade a language model from scratch.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module_name)
        try:
            importlib.import_module(module_name).add_arguments(p)
        except ModuleNotFoundError as e:
            if not module_name.startswith(e.name or "\0"):
                raise
            p.set_defaults(_missing=f"`cs336 {name}` is not available in this copy ({module_name} is not installed)")
    return parser


def main(argv: list[str] | None = None) -> int:
    request_huge_pages()  # before the subcommands import torch (see cpu_memory.py)
    args = build_parser().parse_args(argv)
    if missing := getattr(args, "_missing", None):
        print(f"cs336: error: {missing}", file=sys.stderr)
        return 2
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except (UserError, FileNotFoundError) as e:
        print(f"cs336 {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cs336 {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    # Run as `python -m cs336_basics.cli`, this file is `__main__`, a second copy of the module whose
    # UserError is not the one the commands raise: dispatch through the importable copy instead.
    from cs336_basics.cli import main as package_main

    sys.exit(package_main())
