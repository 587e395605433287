"""Grade a submission: overlay it on a pristine starter tree, run every problem's tests, score them.

    grade(submission, pristine, problems, limits) -> GradeResult

1. The grading tree is a fresh copy of the pristine starter (tests, fixtures, conftest, pyproject: never
   the submission's) with only the submission's `cs336_basics/` and `tests/adapters.py` written over it.
2. The test map (test -> problem, static skips) is collected from the pristine starter, so a
   submission cannot remove tests or change how points are split.
3. grading.runner (a subprocess) runs each problem's tests in its own forked process with a per-test
   timeout, a per-problem wall-clock limit and a memory limit, and survives crashes.
4. grading.scoring splits each problem's points over its tests and builds the table and results.json.
The grader never imports submission code itself.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grading.honour import attach_notes as attach_honour_notes
from grading.registry import Problem
from grading.scoring import ProblemScore, score_problem, table
from grading.submission import Submission, overlay

GRADER_ROOT = Path(__file__).resolve().parent.parent  # puts `grading` on the runner's sys.path
COPY_IGNORE_NAMES = (".venv", ".git", "__pycache__", "*.pyc", ".pytest_cache", ".hypothesis")
COPY_IGNORE = shutil.ignore_patterns(*COPY_IGNORE_NAMES)
RUNNER_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "VIRTUAL_ENV", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES")
STAFF_FOR_TRUSTED = ("grading/heldout", "tests/oracles")
HELDOUT_SCENARIOS = "grading/heldout/scenarios.py"
WORKER_LEFT_OUT = ("conftest.py", "make_fixtures.py")


@dataclass(frozen=True)
class Limits:
    """Resource limits of a grading run (see grading/runner.py for how each is enforced)."""

    test_timeout: float = 60.0
    """Seconds one test may run (pytest-timeout); the problem's other tests still run."""
    wall_limit: float = 300.0
    """Seconds all of one problem's tests may take together; then its process is killed."""
    import_timeout: float = 60.0
    """Seconds a problem's process may take to import its test modules (import-time code is in no test)."""
    memory_mb: int | None = 2048
    """Memory a problem's process may allocate beyond the preloaded libraries (RLIMIT_DATA); None: no limit."""
    jobs: int = 1
    """Problems graded at the same time (each in its own process)."""
    disk_mb: int = 512
    """MiB the submission's code may write in each of its temporary folders (private tmpfs, freed after)."""

    def __post_init__(self):
        if min(self.test_timeout, self.wall_limit, self.import_timeout) <= 0:
            raise ValueError(
                f"time limits must be positive; received {self.test_timeout}, {self.wall_limit}, {self.import_timeout}"
            )
        if self.memory_mb is not None and self.memory_mb <= 0:
            raise ValueError(f"memory_mb must be positive or None; received {self.memory_mb}")
        if self.disk_mb <= 0:
            raise ValueError(f"disk_mb must be positive; received {self.disk_mb}")
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1; received {self.jobs}")


def default_jobs() -> int:
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


@dataclass
class GradeResult:
    scores: list[ProblemScore]
    test_map: dict
    outcomes: dict
    """Per problem: {"tests": {nodeid: {"outcome", "message", "exc_types", "duration"}}, "notes": [...]}."""
    notes: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    error: str | None = None
    """Set when grading itself failed (a staff problem, not the submission's): every problem scores 0."""

    @property
    def score(self) -> float:
        return round(sum(s.earned for s in self.scores), 2)

    @property
    def max_score(self) -> int:
        return sum(s.problem.points for s in self.scores)

    def report(self) -> str:
        parts = [table(self.scores)]
        if self.notes:
            parts.append("\n".join(f"Note: {n}" for n in self.notes))
        if self.error:
            parts.append(f"GRADER ERROR (not your fault; tell the course staff): {self.error}")
        return "\n\n".join(parts)


def make_tree(pristine: Path, submission: Submission | None, dest: Path) -> None:
    """Copy the pristine starter to `dest` and write the submission's graded files over it."""
    shutil.copytree(pristine, dest, ignore=COPY_IGNORE, symlinks=False)
    if submission is not None:
        overlay(submission, dest)
    # A package without __init__.py would let `import cs336_basics` fall through to another copy on
    # sys.path (e.g. an editable install of the staff solution): the tree always has a regular package.
    (dest / "cs336_basics" / "__init__.py").touch(exist_ok=True)


def make_trusted_tree(pristine: Path, dest: Path, staff: Path | None) -> None:
    """The tree the trusted test process runs: the pristine starter plus, from the staff checkout, the
    held-out tests and the oracles they compute expected values with (never readable by the worker)."""
    shutil.copytree(pristine, dest, ignore=COPY_IGNORE, symlinks=False)
    if staff is None:
        return
    for rel in STAFF_FOR_TRUSTED:
        source, target = staff / rel, dest / rel
        if source.is_dir() and not target.exists():
            shutil.copytree(source, target, ignore=COPY_IGNORE, symlinks=False)


def make_worker_tree(pristine: Path, submission: Submission | None, dest: Path, staff: Path | None = None) -> None:
    """The tree the worker imports from: the starter's package with the submission over it, the
    submission's adapters, the public helpers of tests/ (scenarios, common), and the fixtures' input
    files; no test module, no oracle and no fixture archive (they hold the expected values)."""
    shutil.copytree(pristine / "cs336_basics", dest / "cs336_basics", ignore=COPY_IGNORE, symlinks=False)
    tests = dest / "tests"
    tests.mkdir(parents=True)
    for path in sorted((pristine / "tests").glob("*.py")):
        if path.name not in WORKER_LEFT_OUT and not path.name.startswith("test_"):
            shutil.copy2(path, tests / path.name)
    fixtures = pristine / "tests" / "fixtures"
    if fixtures.is_dir():
        shutil.copytree(fixtures, tests / "fixtures", ignore=shutil.ignore_patterns("*.npz", "*.npy", *COPY_IGNORE_NAMES))
    if staff is not None and (staff / HELDOUT_SCENARIOS).is_file():  # stateful held-out calls, no expected value
        for rel in ("grading/__init__.py", "grading/heldout/__init__.py"):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).write_text("")
        shutil.copy2(staff / HELDOUT_SCENARIOS, dest / HELDOUT_SCENARIOS)
    if submission is not None:
        overlay(submission, dest)
    (dest / "cs336_basics" / "__init__.py").touch(exist_ok=True)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def run_runner(spec: dict, workdir: Path, timeout: float, python: str = sys.executable) -> dict:
    """Run grading.runner in a subprocess and return its outcome (or {"error": ...})."""
    spec_path = workdir / "spec.json"
    spec_path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    # Only what Python and the libraries need: nothing of the grader's environment reaches a worker,
    # not even through the environment block it inherits by fork.
    env = {k: v for k, v in os.environ.items() if k in RUNNER_ENV}
    env["PYTHONPATH"] = str(GRADER_ROOT)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("OMP_NUM_THREADS", "1")  # problems run side by side: one thread each
    log = workdir / "runner.log"
    with log.open("wb") as out:
        try:
            proc = subprocess.run(
                [python, "-m", "grading.runner", str(spec_path)],
                cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                timeout=timeout, start_new_session=True,
            )  # fmt: skip
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            return {"error": f"the grading runner exceeded {timeout:.0f} s"}
    outcome_path = Path(spec["out_dir"]) / "outcome.json"
    if not outcome_path.exists():
        tail = log.read_text(errors="replace")[-2000:]
        return {"error": f"the grading runner stopped (exit {rc}) without results:\n{tail}"}
    return json.loads(outcome_path.read_text(encoding="utf-8"))


def grade(
    submission: Submission | None,
    pristine: Path,
    problems: list[Problem],
    limits: Limits = Limits(),
    workdir: Path | None = None,
    python: str = sys.executable,
    isolated: bool = True,
    hide: tuple[Path, ...] = (),
    staff: Path | None = GRADER_ROOT,
) -> GradeResult:
    """Grade `submission` (None: the pristine starter itself) on `problems` (autograded ones).

    `isolated` (the default): the tests run in a trusted process and the submission in sandboxed
    workers (grading.isolation); False: the submission is imported by the test process (the students'
    `uv run pytest` mode, kept for comparison). `hide`: more folders the worker must not see (other
    submissions, the results folder); the staff checkout `staff` (held-out tests and oracles come from
    it), the pristine tree and the work folder are always hidden. `python` runs the tests; `workdir`
    keeps the trees, events and logs.
    """
    start = time.monotonic()
    notes = list(submission.notes) if submission else []
    with tempfile.TemporaryDirectory(prefix="cs336-grade-") as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        work.chmod(0o700)
        for name in ("tree", "trusted", "worker", "run"):
            if (work / name).exists():
                shutil.rmtree(work / name)
        spec = {
            "out_dir": str(work / "run"),
            "problems": [p.id for p in problems],
            "test_timeout": limits.test_timeout,
            "wall_limit": limits.wall_limit,
            "import_timeout": limits.import_timeout,
            "memory_mb": limits.memory_mb,
            "jobs": limits.jobs,
        }
        if isolated:
            staff_root = Path(staff).resolve() if staff is not None else None
            make_trusted_tree(Path(pristine), work / "trusted", staff_root)
            make_worker_tree(Path(pristine), submission, work / "worker", staff_root)
            # The checkout this grader runs from holds the solution, whether or not its held-out tests are used.
            hidden = [work, Path(pristine), GRADER_ROOT, *(Path(h) for h in hide)] + ([staff_root] if staff_root else [])
            spec.update(
                tree=str(work / "trusted"), pristine=str(work / "trusted"), isolated=True,
                worker_tree=str(work / "worker"), hide=[str(Path(h).resolve()) for h in hidden],
                disk_mb=limits.disk_mb, heldout_seed_file=str(work / "heldout_seed"),
            )  # fmt: skip
            # In a root-only file, not in the spec: the runner (whose memory every worker inherits by
            # fork) never holds the seed; a trusted test process reads it after forking its zygote.
            fd = os.open(work / "heldout_seed", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(str(secrets.randbits(63)))
            from grading.isolation.jail import Jail

            degraded = Jail(work, work, work, work, work).degraded
            if degraded:
                notes.append(f"reduced isolation: {degraded}")
        else:
            make_tree(Path(pristine), submission, work / "tree")
            spec.update(tree=str(work / "tree"), pristine=str(Path(pristine).resolve()))
        budget = limits.wall_limit * (len(problems) / limits.jobs + 1) + 120
        outcome = run_runner(spec, work, budget, python)
    error = outcome.get("error")
    test_map = outcome.get("test_map", {})
    outcomes = outcome.get("problems", {})
    scores = [score_problem(p, outcomes.get(p.id, {}), test_map) for p in problems]
    result = GradeResult(scores, test_map, outcomes, notes, error=error)
    attach_honour_notes(result, submission, pristine)  # a static scan: visible notes, no deduction
    if error:
        for s in scores:
            s.notes.append("grading failed before this problem could run (a grader error, not your code)")
    result.elapsed = time.monotonic() - start
    return result
