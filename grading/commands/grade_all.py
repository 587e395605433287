"""`grade-all SUBMISSIONS --out DIR [--jobs N] [--executor local|slurm]`: grade a whole class.

SUBMISSIONS is a folder of submission folders and/or .zip files, or a Gradescope export
(`submission_metadata.yml` beside one folder per submission), unpacked or as the zip Gradescope gives. Writes DIR/<submission>/results.json,
DIR/gradebook.csv and DIR/grades.png (see grading/batch.py). Run it again after a crash: submissions
already graded are skipped. Exit status: 0 when every submission was graded, 3 when the grader itself
failed on some (they are retried on the next run).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from cs336_basics.training.cli import UserError
from grading.batch import EXECUTORS, grade_all
from grading.commands.grade import pristine_tree, select_problems
from grading.grader import GRADER_ROOT, Limits
from grading.registry import REGISTRY_PATH
from grading.roster import BatchError, discover, unpack_export


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", type=Path,
                        help="a folder of submissions (folders, zips, or an unpacked Gradescope export), or a Gradescope export zip")
    parser.add_argument("--out", type=Path, required=True, help="where results, gradebook.csv and grades.png go")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at the same time (%(default)s)")
    parser.add_argument("--executor", choices=EXECUTORS, default="local",
                        help="local: a pool of --jobs processes; slurm: one Slurm job per submission through submitit "
                             "(--jobs at a time); submitit-local: the slurm path run on this machine (%(default)s)")
    parser.add_argument("--slurm-partition", help="Slurm partition for --executor slurm")
    parser.add_argument("--problems", help="comma-separated problem ids to grade (default: every autograded problem)")
    parser.add_argument("--pristine", type=Path,
                        help="a built starter tree to grade against (default: build one from this repository)")
    parser.add_argument("--problem-jobs", type=int, default=1, help="problems of one submission graded in parallel (%(default)s)")
    parser.add_argument("--test-timeout", type=float, default=Limits.test_timeout, help="seconds per test (%(default)s)")
    parser.add_argument("--wall-limit", type=float, default=Limits.wall_limit, help="seconds per problem (%(default)s)")
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb,
                        help="MiB a problem's process may allocate (%(default)s; 0: no limit)")
    parser.add_argument("--no-heldout", action="store_true",
                        help="grade only the pristine tree's own tests, not this checkout's held-out tests (for a --pristine "
                             "tree that is not this course's starter)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    registry = (args.pristine / "grading" / "problems.toml") if args.pristine else REGISTRY_PATH
    problems = select_problems(args.problems, registry)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        limits = Limits(test_timeout=args.test_timeout, wall_limit=args.wall_limit,
                        memory_mb=args.memory_mb or None, jobs=args.problem_jobs)  # fmt: skip
        root = args.submissions
        if root.is_file() and root.suffix == ".zip":
            root = unpack_export(root, args.out / ".export")
        entries = discover(root)
    except (ValueError, BatchError) as e:
        raise UserError(str(e)) from e
    if args.jobs < 1:
        raise UserError(f"--jobs must be at least 1; received {args.jobs}")
    slurm = {"slurm_partition": args.slurm_partition} if args.slurm_partition else {}
    # The starter is built inside OUT so that cluster nodes see it on the shared file system.
    with tempfile.TemporaryDirectory(prefix=".starter-", dir=args.out) as tmp:
        pristine = pristine_tree(args.pristine, Path(tmp))
        results = grade_all(entries, pristine, problems, limits, args.out, args.jobs, args.executor, slurm,
                            progress=not args.no_progress, staff=None if args.no_heldout else GRADER_ROOT)  # fmt: skip
    failed = [k for k, r in results.items() if (r.get("extra_data") or {}).get("grader_error")]
    totals = [r["score"] for r in results.values()]
    print(f"graded {len(results)} submissions (mean {sum(totals) / len(totals):.1f} / {sum(p.points for p in problems)}); "
          f"wrote {args.out / 'gradebook.csv'} and {args.out / 'grades.png'}")  # fmt: skip
    if failed:
        print(f"grader errors on {len(failed)} submission(s), retried on the next run: {', '.join(failed)}")
    return 3 if failed else 0
