"""`cs336-staff autograder --out autograder.zip`: build the Gradescope autograder bundle (grading/autograder.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cs336_basics.training.cli import UserError
from grading.autograder import build_autograder
from grading.grader import GRADER_ROOT
from grading.release import ReleaseError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"), help="the zip to write (%(default)s)")
    parser.add_argument("--source", type=Path, default=GRADER_ROOT, help="staff repository (default: this one)")


def run(args: argparse.Namespace) -> int:
    try:
        entries = build_autograder(args.source, args.out)
    except ReleaseError as e:
        raise UserError(str(e)) from e
    print(f"wrote {args.out} ({len(entries)} files): upload it as the Gradescope autograder; "
          "setup.sh installs the locked dependencies, run_autograder grades /autograder/submission")  # fmt: skip
    print("Check the starter it contains first: `cs336-staff release --out DIR` verifies the same build.")
    return 0
