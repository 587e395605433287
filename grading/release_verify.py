"""Verify a built starter; every check that fails adds a line to `Verification.errors`.

1. Static: no solution marker or marker text left in any file, no staff-only file present, every
   Python file parses, the registry and README are there.
   Leftovers (`leftover_errors`), in the starter's Python code: no unused import or local variable
   (ruff F401, F841), no
   comment or docstring that names an identifier the release stripped or says staff / reference /
   solution, no statement after a `raise NotImplementedError` in its block, and every stub's
   NotImplementedError carries a one-line message naming a handout problem. The README and the
   handout hold no staff command and no staff marker.
2. Install: `uv sync --offline --locked` installs the starter's locked dependencies into a temporary
   environment (hard links from uv's cache: seconds), and the next checks run with that environment;
   it fails if uv.lock is not up to date with the starter's pyproject.toml (grading/starter_deps.py).
3. Starter run: the suite collects, and every test fails with NotImplementedError: not a pass (a test
   that passes without a solution grades nothing), not an import error or another crash; every
   autograded problem scores 0. Every test
   carries a problem marker, and every autograded problem has at least one test. (Tests marked with a
   written problem are practice checks the grader does not score; they are held to the same rules.)
4. Round trip: the solution's cs336_basics/ and tests/adapters.py, put back into the starter, pass every
   test (run by the grader itself, so this is also the grader's full reference run).
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from grading.grader import GradeResult, Limits, grade
from grading.registry import load_problems
from grading.release import (
    GENERATED,
    STARTER_KEEPS,
    is_solution_file,
    is_staff_only,
    list_source_files,
)
from grading.starter_text import STAFF_MARKERS
from grading.submission import read_submission

MARKER_TEXT = (b"BEGIN SOLUTION", b"END SOLUTION")
LISTED = 10  # offending tests listed per check before "... and N more"
# Words of the staff's point of view that a student's copy must not contain (in comments and docstrings).
STAFF_WORDS = re.compile(r"\b(staff|solutions?|reference|starter)\b", re.IGNORECASE)
# Commands a student cannot run: the staff entry point and the grading package's modules.
STAFF_COMMANDS = re.compile(r"cs336-staff|python -m grading\b")
# A stub's message: one line naming what to implement and its problem (grading/release.py, name_stubs).
STUB_MESSAGE = re.compile(r"\(handout problem: (?P<problem>[a-z0-9_]+)\)")


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


def _prose(tree: ast.Module, text: str) -> list[tuple[int, str]]:
    """(line, text) of every comment and docstring of a Python source."""
    found = [(tok.start[0], tok.string) for tok in tokenize.generate_tokens(io.StringIO(text).readline) if tok.type == tokenize.COMMENT]
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.append((first.lineno, first.value.value))
    return found


def _defined_names(tree: ast.Module) -> set[str]:
    """Functions, classes and module- or class-level variables of a module (not a function's locals)."""
    names = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
                if isinstance(node, ast.ClassDef):
                    visit(node.body)
                else:  # nested helpers, not locals
                    visit([n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))])
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(t.id for t in targets if isinstance(t, ast.Name))

    visit(tree.body)
    return names


def _used_names(tree: ast.Module) -> set[str]:
    """Every identifier a module mentions in code: names, attributes, definitions, imports, arguments."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def _unused_code(starter: Path, files: list[str]) -> list[str]:
    if not files:
        return []
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select", "F401,F841", "--output-format",
         "json", "--exit-zero", *files],
        cwd=starter, capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        return [f"ruff could not check the starter's code (is the dev group installed?): {proc.stderr.strip()[-500:]}"]
    return [
        f"{Path(d['filename']).resolve().relative_to(starter.resolve()).as_posix()}:{d['location']['row']}: {d['message']}"
        for d in json.loads(proc.stdout or "[]")
    ]


def _stub_errors(rel: str, tree: ast.Module, problem_ids: set[str]) -> list[str]:
    errors = []
    for node in ast.walk(tree):
        for attr in ("body", "orelse", "finalbody", "handlers"):
            body = getattr(node, attr, None)
            if not isinstance(body, list):
                continue
            for k, stmt in enumerate(body):
                if not isinstance(stmt, ast.Raise) or stmt.exc is None:
                    continue
                exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
                if not (isinstance(exc, ast.Name) and exc.id == "NotImplementedError"):
                    continue
                if k + 1 < len(body):
                    errors.append(f"{rel}:{body[k + 1].lineno}: code after `raise NotImplementedError` (line {stmt.lineno}) never runs")
                args = stmt.exc.args if isinstance(stmt.exc, ast.Call) else []
                message = args[0].value if len(args) == 1 and isinstance(args[0], ast.Constant) else None
                m = STUB_MESSAGE.search(message) if isinstance(message, str) and "\n" not in message else None
                if m is None or m["problem"] not in problem_ids:
                    errors.append(
                        f"{rel}:{stmt.lineno}: the stub's NotImplementedError needs a one-line message naming what to "
                        f"implement and its problem, e.g. \"implement f (handout problem: ID)\"; got {message!r}"
                    )
    return errors


def leftover_errors(starter: Path, source: Path | None, problem_ids: set[str]) -> list[str]:
    """What a stripped solution left behind in the starter's code, README and handout (see the module docstring).

    `source` is the staff tree the starter was built from (for the names the release stripped); None skips
    that check.
    """
    starter = Path(starter)
    files = [rel for rel in list_source_files(starter) if is_solution_file(rel) and rel.endswith(".py")]
    errors = _unused_code(starter, files)
    trees = {}
    for rel in files:
        try:
            trees[rel] = ast.parse((starter / rel).read_text(encoding="utf-8"))
        except SyntaxError:
            continue  # static_errors reports it
    # identifiers the staff copy defines (in any solution file) that the starter's code never mentions
    gone: set[str] = set()
    if source is not None:
        staff_defined = set()
        for rel in list_source_files(Path(source)):
            if is_solution_file(rel) and rel.endswith(".py"):  # the fast path's names included: not shipped
                try:
                    staff_defined |= _defined_names(ast.parse((Path(source) / rel).read_text(encoding="utf-8")))
                except SyntaxError:
                    continue
        used = set().union(*(_used_names(tree) for tree in trees.values())) if trees else set()
        gone = {n for n in staff_defined - used if len(n) > 2}
        # and the modules the starter does not ship (a pointer to them points at nothing), unless a module
        # or package of that name is shipped too (fast/nn.py is left out, nn/ is not)
        shipped = {part.removesuffix(".py") for rel in list_source_files(starter) for part in Path(rel).parts}
        gone |= {
            Path(rel).stem for rel in list_source_files(Path(source))
            if is_solution_file(rel) and rel.endswith(".py") and not rel.endswith("__init__.py") and not (starter / rel).is_file()
        } - shipped  # fmt: skip
    for rel, tree in trees.items():
        text = (starter / rel).read_text(encoding="utf-8")
        errors += _stub_errors(rel, tree, problem_ids)
        for line, prose in _prose(tree, text):
            for word in sorted({m.group(0) for m in STAFF_WORDS.finditer(prose)}):
                errors.append(f"{rel}:{line}: a comment or docstring says {word!r} (the student's copy has no staff point of view)")
            for name in sorted(n for n in gone if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", prose)):
                errors.append(f"{rel}:{line}: a comment or docstring names {name}, which the release stripped")
    for rel in ("README.md", "handout.md"):
        path = starter / rel
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if m := STAFF_COMMANDS.search(line):
                errors.append(f"{rel}:{number}: names the staff command {m.group(0)!r}, which students do not have")
            if any(marker in line for marker in STAFF_MARKERS):
                errors.append(f"{rel}:{number}: a staff-section marker remains")
    return errors


def install(starter: Path, env_dir: Path) -> tuple[str | None, str]:
    """Install the starter's locked dependencies into `env_dir`; (python path, "") or (None, error)."""
    uv = shutil.which("uv")
    if uv is None:
        return None, "uv is not on PATH: cannot check that the starter installs"
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(env_dir))
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(
        [uv, "sync", "--offline", "--locked", "--quiet", "--directory", str(starter)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        return None, f"`uv sync --offline --locked` failed in the starter:\n{proc.stderr[-2000:]}"
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
    scored = [f"{s.problem.id} ({s.earned}/{s.problem.points})" for s in result.scores if s.problem.autograded and s.earned > 0]
    if scored:
        errors.append(f"problems that give points before their code is written: {scored}")
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
    problems = load_problems(starter / "grading" / "problems.toml")  # written ones run their practice tests, if any
    v.errors += leftover_errors(starter, source, {p.id for p in problems})
    v.timings["static"] = time.monotonic() - t
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
