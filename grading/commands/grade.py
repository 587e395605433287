"""`cs336-staff grade [SUBMISSION] [--results results.json]`: grade a submission directory or zip.

Prints the per-problem table and always writes results.json (Gradescope format), even when nothing
passes. The submission runs in sandboxed workers (grading/isolation/); results.json is written after
every one of their processes is gone. Exit status: 0 when grading ran (whatever the score), 3 when the grader itself failed.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from cs336_basics.training.cli import UserError
from grading.grader import GRADER_ROOT, GradeResult, Limits, default_jobs, grade
from grading.registry import REGISTRY_PATH, load_problems
from grading.scoring import ProblemScore, results_json, write_json
from grading.submission import SubmissionError, read_submission


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submission", nargs="?", default=".", type=Path,
                        help="a folder or zip holding cs336_basics/ and tests/adapters.py (default: this repository)")
    parser.add_argument("--results", type=Path, default=Path("results.json"), help="where to write results.json")
    parser.add_argument("--problems", help="comma-separated problem ids to grade (default: every autograded problem)")
    parser.add_argument("--pristine", type=Path,
                        help="a built starter tree to grade against (default: build one from this repository)")
    parser.add_argument("--test-timeout", type=float, default=Limits.test_timeout, help="seconds per test (%(default)s)")
    parser.add_argument("--wall-limit", type=float, default=Limits.wall_limit, help="seconds per problem (%(default)s)")
    parser.add_argument("--import-timeout", type=float, default=Limits.import_timeout,
                        help="seconds to import a problem's test modules (%(default)s)")
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb,
                        help="MiB a problem's process may allocate beyond the preloaded libraries (%(default)s; 0: no limit)")
    parser.add_argument("--jobs", type=int, default=None, help="problems graded in parallel (default: CPUs, at most 4)")
    parser.add_argument("--disk-mb", type=int, default=Limits.disk_mb,
                        help="MiB the submission may write in each of its temporary folders (%(default)s)")
    parser.add_argument("--hide", type=Path, action="append", default=[],
                        help="a folder the submission's code must not see (repeatable; other submissions, results)")
    parser.add_argument("--in-process", action="store_true",
                        help="import the submission in the test process, as `uv run pytest` does (no isolation; staff comparisons only)")
    parser.add_argument("--keep", type=Path, help="keep the grading tree, events and logs in this folder (debugging)")  # fmt: skip


def select_problems(spec: str | None, registry: Path = REGISTRY_PATH):
    problems = load_problems(registry)
    auto = [p for p in problems if p.autograded]
    if not spec:
        return auto
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    by_id = {p.id: p for p in problems}
    unknown = [w for w in wanted if w not in by_id]
    if unknown:
        raise UserError(f"unknown problem id(s) {unknown}; autograded problems: {', '.join(p.id for p in auto)}")
    written = [w for w in wanted if not by_id[w].autograded]
    if written:
        raise UserError(f"{written} are written problems: staff grade them from the write-up")
    return [p for p in auto if p.id in wanted]



def pristine_tree(given: Path | None, scratch: Path) -> Path:
    """The starter to grade against: `given`, or one built from this checkout under `scratch`."""
    if given is not None:
        return given
    # Imported here: the autograder bundle always passes --pristine and ships no release code.
    from grading.release import ReleaseError, build_starter

    pristine = scratch / "starter"
    try:
        build_starter(GRADER_ROOT, pristine)
    except ReleaseError as e:
        raise UserError(f"cannot build the pristine starter to grade against: {e}") from e
    return pristine

def run(args: argparse.Namespace) -> int:
    registry = (args.pristine / "grading" / "problems.toml") if args.pristine else REGISTRY_PATH
    problems = select_problems(args.problems, registry)
    try:
        limits = Limits(
            test_timeout=args.test_timeout,
            wall_limit=args.wall_limit,
            import_timeout=args.import_timeout,
            memory_mb=args.memory_mb or None,
            jobs=args.jobs or default_jobs(),
            disk_mb=args.disk_mb,
        )
    except ValueError as e:
        raise UserError(str(e)) from e
    try:
        submission = read_submission(args.submission)
    except SubmissionError as e:
        result = GradeResult([ProblemScore(p) for p in problems], {}, {}, [f"the submission could not be read: {e}"])
        write_json(args.results, results_json(result.scores, 0.0, result.report()))
        raise UserError(f"{e} (wrote {args.results} with score 0)") from e
    with tempfile.TemporaryDirectory(prefix="cs336-starter-") as tmp:
        pristine = pristine_tree(args.pristine, Path(tmp))
        # The worker never sees the submission's own folder, the results folder or what --hide names.
        hide = (*args.hide, args.submission.resolve(), args.results.resolve().parent)
        result = grade(submission, pristine, problems, limits, workdir=args.keep, isolated=not args.in_process, hide=hide)
    report = result.report()
    print(report)
    write_json(args.results, results_json(result.scores, result.elapsed, report))
    print(f"\nscore {result.score:g} / {result.max_score} in {result.elapsed:.0f} s; wrote {args.results}")
    return 3 if result.error else 0
