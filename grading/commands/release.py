"""`cs336-staff release --out DIR`: build the student starter from this repository and verify it.

Exit status 0 only when every check of grading/release_verify.py passes; otherwise the failures are
printed and the status is 1 (the built folder is kept for inspection).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cs336_basics.training.cli import UserError
from grading.grader import GRADER_ROOT, Limits, default_jobs
from grading.release import ReleaseError, build_starter
from grading.release_verify import verify_starter


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="folder to build the starter in (new or empty)")
    parser.add_argument("--source", type=Path, default=GRADER_ROOT, help="staff repository (default: this one)")
    parser.add_argument("--no-verify", action="store_true", help="build only (the verification runs the suite twice)")
    parser.add_argument("--no-install", action="store_true",
                        help="verify with this environment instead of installing the starter's (uv sync --offline)")
    parser.add_argument("--jobs", type=int, default=None, help="problems tested in parallel (default: CPUs, at most 4)")


def run(args: argparse.Namespace) -> int:
    try:
        report = build_starter(args.source, args.out)
    except ReleaseError as e:
        raise UserError(str(e)) from e
    regions = sum(report.stripped.values())
    print(f"built {args.out}: {len(report.copied)} files, {regions} solution regions stripped from "
          f"{len(report.stripped)} files, {len(report.left_out)} staff-only files left out")  # fmt: skip
    if args.no_verify:
        print("not verified (--no-verify)")
        return 0
    v = verify_starter(args.out, args.source, Limits(jobs=args.jobs or default_jobs()), install_deps=not args.no_install)
    timings = ", ".join(f"{k} {t:.0f} s" for k, t in v.timings.items())
    if v.ok:
        print(f"verified ({timings}): no solution text, staff file or leftover (unused import, stale name, staff "
              "word, code after a stub, stub without its problem, staff command) remains; the suite collects, every "
              "autograded test fails with NotImplementedError in the starter (every problem scores 0) and passes "
              "with the solution put back")  # fmt: skip
        return 0
    print(f"RELEASE VERIFICATION FAILED ({timings}):")
    for error in v.errors:
        print(f"- {error}")
    return 1
