"""`uv run python -m grading.mutants`: prove the tests catch real student bugs (staff only).

    uv run python -m grading.mutants                      # the whole catalogue
    uv run python -m grading.mutants --only ID [ID ...]   # some mutants
    uv run python -m grading.mutants --problem rope       # one problem's mutants
    uv run python -m grading.mutants --sample             # the fast CI sample (entries with ci = true)
    uv run python -m grading.mutants --check              # only check that every patch still applies
    uv run python -m grading.mutants --list

Each mutant is graded like a student submission that holds that one bug, on its own problem's tests
only (grading/mutants/worker.py), with the unmutated reference graded first as a baseline. Prints a line
per mutant (killed by which test, and the first line of the message the student would see), the kill
rate and the runtime. Controls (legitimate variants, `control = true`) must survive; their survival rate
is reported apart from the kill rate. Exit status: 0 when every mutant is killed, every control survives
and the baseline passes; 1 otherwise; 2 when the catalogue is malformed or a patch no longer applies.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from grading.grader import GRADER_ROOT, Limits
from grading.mutants.catalogue import CatalogueError, check_catalogue, load_catalogue
from grading.mutants.run import Report, Verdict, run_mutants
from grading.registry import autograded_problems

SYMBOL = {"killed": "killed  ", "survived": "SURVIVED", "unclear": "UNCLEAR "}
CONTROL_SYMBOL = {"killed": "CONTROL KILLED", "survived": "control kept", "unclear": "CONTROL UNCLEAR"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `python -m grading.mutants` and of `cs336-staff mutants`."""
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these mutant ids")
    parser.add_argument("--problem", nargs="+", metavar="PROBLEM", help="run only the mutants of these problems")
    parser.add_argument("--sample", action="store_true", help="run only the CI sample (ci = true)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel workers (default 1)")
    parser.add_argument("--check", action="store_true", help="check the catalogue applies; run nothing")
    parser.add_argument("--list", action="store_true", help="list the selected mutants; run nothing")
    parser.add_argument("--no-baseline", action="store_true", help="skip grading the unmutated reference first")
    parser.add_argument("--test-timeout", type=float, default=60.0, help="seconds per test (%(default)s)")
    parser.add_argument("--json", type=Path, help="also write the verdicts as JSON to this file")
    parser.add_argument("--keep", type=Path, help="keep trees, logs and events in this (new) folder")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m grading.mutants", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return parser.parse_args(argv)


def print_verdict(v: Verdict) -> None:
    where = f"{v.test.split('::', 1)[-1]} ({v.how}; {v.failing}/{v.total} tests fail)" if v.test else v.how
    symbol = CONTROL_SYMBOL[v.status] if v.control else SYMBOL[v.status]
    print(f"{symbol} {v.id:<58} {v.seconds:5.1f}s  {where}", flush=True)
    if v.message:
        print(f"{'':9} {v.message[:150]}", flush=True)


def summary(report: Report) -> str:
    n = len(report.mutants)
    lines = [f"\n{report.killed}/{n} mutants killed ({report.kill_rate():.1f}%) in {report.seconds:.0f} s with {report.jobs} worker(s)"]
    if report.controls:
        lines.append(
            f"{report.controls_survived}/{len(report.controls)} controls survived ({report.control_survival_rate():.1f}%): "
            "legitimate variants the tests must accept"
        )
    for status in ("survived", "unclear"):
        ids = [v.id for v in report.mutants if v.status == status]
        if ids:
            lines.append(f"{status}: {', '.join(ids)}")
    wronged = [v.id for v in report.controls if v.status != "survived"]
    if wronged:
        lines.append(f"controls NOT accepted (the tests demand more than the handout): {', '.join(wronged)}")
    bare = [v.id for v in report.mutants if v.bare_message]
    if bare:
        lines.append(f"killed, but by a test with no explanation for the student: {', '.join(bare)}")
    if report.baseline:
        lines.append("BASELINE FAILS (the unmutated reference fails these tests, so kills prove nothing):")
        lines.extend(f"  {b}" for b in report.baseline)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Run the selected mutants (see the module docstring for the exit status)."""
    if args.jobs < 1:
        print(f"error: --jobs must be at least 1; received {args.jobs}", file=sys.stderr)
        return 2
    try:
        catalogue = load_catalogue()
        issues = check_catalogue(catalogue, GRADER_ROOT, {p.id for p in autograded_problems()})
        if issues:
            raise CatalogueError("the catalogue does not fit the solution:\n  " + "\n  ".join(issues))
        mutants = catalogue.select(args.only, args.sample)
    except CatalogueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.problem:
        mutants = [m for m in mutants if m.problem in args.problem]
    if args.check:
        print(f"{len(catalogue.mutants)} mutants, every patch applies to the current solution")
        return 0
    if args.list or not mutants:
        for m in mutants:
            print(f"{m.id:<58} {'ci' if m.ci else '  '} {'control' if m.control else '       '}  {m.description}")
        if not mutants:
            print("no mutant selected", file=sys.stderr)
        return 0 if mutants else 2
    print(f"running {len(mutants)} mutant(s) with {args.jobs} worker(s)...", flush=True)
    report = run_mutants(
        mutants, GRADER_ROOT, jobs=args.jobs, baseline=not args.no_baseline,
        limits=Limits(test_timeout=args.test_timeout), keep=args.keep, progress=print_verdict,
    )  # fmt: skip
    print(summary(report))
    if args.json:
        args.json.write_text(
            json.dumps({"kill_rate": report.kill_rate(), "control_survival_rate": report.control_survival_rate(),
                        "seconds": round(report.seconds, 1),
                        "baseline_failures": report.baseline, "verdicts": [asdict(v) for v in report.verdicts]}, indent=1),
            encoding="utf-8",
        )  # fmt: skip
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
