"""Verify a built starter; every check that fails adds a line to `Verification.errors`.

1. Static: no solution marker or marker text left in any file, no staff-only file present, every
   Python file parses, the registry and README are there.
2. Install: `uv sync --offline --frozen` installs the starter's locked dependencies into a temporary
   environment (hard links from uv's cache: seconds), and the next checks run with that environment.
3. Starter run: the suite collects, and every test fails with NotImplementedError: not a pass (a test
   that passes without a solution grades nothing), not an import error or another crash. Every test
   carries a problem marker, and every autograded problem has at least one test. (Tests marked with a
   written problem are practice checks the grader does not score; they are held to the same rules.)
4. Round trip: the solution's cs336_basics/ and tests/adapters.py, put back into the starter, pass every
   test (run by the grader itself, so this is also the grader's full reference run).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grading.grader import GradeResult, Limits, grade
from grading.registry import load_problems
from grading.release import GENERATED, STARTER_KEEPS, is_staff_only, list_source_files
from grading.submission import read_submission

MARKER_TEXT = (b"BEGIN SOLUTION", b"END SOLUTION")
LISTED = 10  # offending tests listed per check before "... and N more"


@dataclass
class Verification:
    starter: Path
    errors: list[str] = field(default_factory=list)
    starter_run: GradeResult | None = None
    round_trip: GradeResult | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _listed(items: list[str]) -> str:
    shown = "\n  ".join(items[:LISTED])
    more = f"\n  ... and {len(items) - LISTED} more" if len(items) > LISTED else ""
    return f"\n  {shown}{more}"


def static_errors(starter: Path) -> list[str]:
    errors = []
    files = list_source_files(starter)
    for rel in files:
        data = (starter / rel).read_bytes()
        if any(m in data for m in MARKER_TEXT):
            errors.append(f"{rel}: solution marker text remains")
        if is_staff_only(rel) and rel not in GENERATED:
            errors.append(f"{rel}: a staff-only file is in the starter")
        if rel.endswith(".py"):
            try:
                ast.parse(data, filename=rel)
            except SyntaxError as e:
                errors.append(f"{rel}:{e.lineno}: does not parse ({e.msg})")
    for rel in [*STARTER_KEEPS, "README.md", "pyproject.toml", "uv.lock", "tests/adapters.py"]:
        if not (starter / rel).is_file():
            errors.append(f"{rel}: missing from the starter")
    return errors


def install(starter: Path, env_dir: Path) -> tuple[str | None, str]:
    """Install the starter's locked dependencies into `env_dir`; (python path, "") or (None, error)."""
    uv = shutil.which("uv")
    if uv is None:
        return None, "uv is not on PATH: cannot check that the starter installs"
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(env_dir))
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(
        [uv, "sync", "--offline", "--frozen", "--quiet", "--directory", str(starter)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        return None, f"`uv sync --offline --frozen` failed in the starter:\n{proc.stderr[-2000:]}"
    return str(env_dir / "bin" / "python"), ""


def starter_run_errors(result: GradeResult, problems) -> list[str]:
    if result.error:
        return [f"the starter's test suite could not be run (does it collect?): {result.error}"]
    errors = []
    unmarked = [n for n, t in result.test_map.items() if t["problem"] is None]
    if unmarked:
        errors.append("tests without a problem marker (never run by the grader):" + _listed(unmarked))
    empty = [p.id for p in problems if p.autograded and not any(t["problem"] == p.id for t in result.test_map.values())]
    if empty:
        errors.append(f"autograded problems without any test: {empty}")
    passing, other = [], []
    for outcome in result.outcomes.values():
        for nodeid, r in outcome.get("tests", {}).items():
            if r["outcome"] == "passed":
                passing.append(nodeid)
            elif "NotImplementedError" not in (r.get("exc_types") or []):
                first = (r.get("message") or r["outcome"]).splitlines()[0] if r.get("message") else r["outcome"]
                other.append(f"{nodeid}: {first}")
    if passing:
        errors.append("tests that pass in the starter, without any solution (they grade nothing):" + _listed(passing))
    if other:
        errors.append("tests that fail in the starter with something else than NotImplementedError:" + _listed(other))
    return errors


def round_trip_errors(result: GradeResult) -> list[str]:
    if result.error:
        return [f"the round trip could not be graded: {result.error}"]
    failing = [
        f"{nodeid}: {(r.get('message') or '').splitlines()[0] if r.get('message') else r['outcome']}"
        for outcome in result.outcomes.values()
        for nodeid, r in outcome.get("tests", {}).items()
        if r["outcome"] != "passed"
    ]
    errors = ["with the solution put back, tests fail:" + _listed(failing)] if failing else []
    short = [f"{s.problem.id} ({s.earned}/{s.problem.points})" for s in result.scores if s.tests and s.earned != s.problem.points]
    if short:
        errors.append(f"with the solution put back, problems lack points: {short}")
    return errors


def verify_starter(starter: Path, source: Path, limits: Limits = Limits(), install_deps: bool = True) -> Verification:
    """Run every check on the starter built from `source` (the staff tree holding the solution)."""
    starter, source = Path(starter).resolve(), Path(source).resolve()
    v = Verification(starter)
    t = time.monotonic()
    v.errors += static_errors(starter)
    v.timings["static"] = time.monotonic() - t
    problems = load_problems(starter / "grading" / "problems.toml")  # written ones run their practice tests, if any
    with tempfile.TemporaryDirectory(prefix="cs336-release-env-") as env_dir:
        python = sys.executable
        if install_deps:
            t = time.monotonic()
            installed, error = install(starter, Path(env_dir) / "venv")
            v.timings["install"] = time.monotonic() - t
            if installed is None:
                v.errors.append(error)
                return v
            python = installed
        t = time.monotonic()
        v.starter_run = grade(None, starter, problems, limits, python=python)
        v.timings["starter_run"] = time.monotonic() - t
        v.errors += starter_run_errors(v.starter_run, problems)
        t = time.monotonic()
        v.round_trip = grade(read_submission(source), starter, problems, limits, python=python)
        v.timings["round_trip"] = time.monotonic() - t
        v.errors += round_trip_errors(v.round_trip)
    return v
