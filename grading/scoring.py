"""Points: how a problem's points are split over its tests, the per-problem table, and results.json.

The rule (also in the starter README): a problem's points are split equally over its test functions,
and a test function's share equally over its parametrised cases; when a problem has held-out tests
(grading/heldout/, see `split_points`), they carry 2/3 of its points and the public tests 1/3, each
part split that way. A problem earns the exact sum of the shares of its passing tests, reported
rounded to 2 decimals; full marks are exact, and the total is the sum of the reported problem scores. A test skipped by a `skipif` marker in the grading environment (a
GPU-only test on a CPU grader) is left out of the split; a skip raised while the test runs is a failure.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from grading.registry import Problem

MAX_OUTPUT_CHARS = 8000  # per Gradescope test entry: long outputs make the page unreadable
TABLE_FAILURES = 3  # failing tests listed per problem in the printed table


HELDOUT_PREFIX = "grading/heldout/"  # node ids of the held-out tests (staff-only, fresh inputs per grading run)
HELDOUT_SHARE = Fraction(2, 3)  # of a problem's points, when it has held-out tests (and public ones)


def split_points(points: int, nodeids: list[str]) -> dict[str, Fraction]:
    """Share of `points` of each test.

    Held-out tests (node ids under grading/heldout/) get 2/3 of the points when the problem has any,
    the public tests the other 1/3; a problem with only one kind gives that kind all its points. Within
    each kind, the share is equal per test function, then equal per parametrised case.

    Example: split_points(3, ["tests/t.py::f[a]", "tests/t.py::f[b]", "grading/heldout/t.py::h"])
    -> {"tests/t.py::f[a]": 1/2, "tests/t.py::f[b]": 1/2, "grading/heldout/t.py::h": 2};
    without the held-out test, f[a] and f[b] get 3/2 each.
    """
    heldout = [n for n in nodeids if n.startswith(HELDOUT_PREFIX)]
    public = [n for n in nodeids if not n.startswith(HELDOUT_PREFIX)]
    if heldout and public:
        return {**_split_equally(points * (1 - HELDOUT_SHARE), public), **_split_equally(points * HELDOUT_SHARE, heldout)}
    return _split_equally(Fraction(points), nodeids)


def _split_equally(points: Fraction, nodeids: list[str]) -> dict[str, Fraction]:
    """Equal per test function (node id up to "["), then equal per parametrised case."""
    if not nodeids:
        return {}
    functions: dict[str, list[str]] = {}
    for nodeid in nodeids:
        functions.setdefault(nodeid.split("[", 1)[0], []).append(nodeid)
    per_function = points / len(functions)
    return {n: per_function / len(cases) for cases in functions.values() for n in cases}


def display(x: Fraction | float) -> float:
    """A score as reported: 2 decimals (an int when whole)."""
    value = round(float(x), 2)
    return int(value) if value == int(value) else value


@dataclass
class TestOutcome:
    nodeid: str
    share: Fraction
    passed: bool
    message: str


@dataclass
class ProblemScore:
    problem: Problem
    tests: list[TestOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def earned(self) -> float:
        total = sum((t.share for t in self.tests if t.passed), Fraction(0))
        return display(total)

    @property
    def passed(self) -> bool:
        return bool(self.tests) and all(t.passed for t in self.tests)

    def output(self) -> str:
        lines = []
        n_pass = sum(t.passed for t in self.tests)
        if not self.tests:
            lines.append("No test of this problem could run in the grading environment.")
        else:
            lines.append(f"{n_pass}/{len(self.tests)} tests passed; {self.earned}/{self.problem.points} points.")
        for t in self.tests:
            if not t.passed:
                share = display(t.share)
                lines.append(f"\nFAILED {t.nodeid} ({share} point{'' if share == 1 else 's'})")
                lines.extend("    " + line for line in t.message.splitlines())
        lines.extend(f"\nNote: {n}" for n in self.notes)
        text = "\n".join(lines)
        return text if len(text) <= MAX_OUTPUT_CHARS else text[: MAX_OUTPUT_CHARS - 20] + "\n... (truncated)"


def score_problem(problem: Problem, outcome: dict, test_map: dict) -> ProblemScore:
    """Combine a problem's run outcome (grading.runner) with its point split."""
    nodeids = [n for n, t in test_map.items() if t["problem"] == problem.id and not t["static_skip"]]
    shares = split_points(problem.points, nodeids)
    results = outcome.get("tests", {})
    score = ProblemScore(problem, notes=list(outcome.get("notes", [])))
    for nodeid in nodeids:
        r = results.get(nodeid, {"outcome": "failed", "message": "not run"})
        passed = r["outcome"] == "passed"
        message = r.get("message") or ""
        if r["outcome"] == "skipped":
            message = f"skipped while running (counts as a failure): {message}"
        score.tests.append(TestOutcome(nodeid, shares[nodeid], passed, message))
    skipped = [n for n, t in test_map.items() if t["problem"] == problem.id and t["static_skip"]]
    if skipped:
        score.notes.append(f"{len(skipped)} test(s) skipped in this environment and left out of the split")
    return score


def first_line(message: str) -> str:
    line = next((s for s in message.splitlines() if s.strip()), "")
    return line if len(line) <= 100 else line[:97] + "..."


def table(scores: list[ProblemScore]) -> str:
    """The per-problem table: problem, points, earned, and the failing tests with their first message line."""
    rows = [("problem", "points", "earned", "failing tests")]
    for s in scores:
        failing = [t for t in s.tests if not t.passed]
        detail = "" if s.passed else ("no runnable test" if not s.tests else f"{len(failing)}/{len(s.tests)} failing")
        rows.append((s.problem.id, str(s.problem.points), f"{s.earned:g}", detail))
    total_points = sum(s.problem.points for s in scores)
    total = display(sum(s.earned for s in scores))
    rows.append(("TOTAL", str(total_points), f"{total:g}", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}".rstrip() for r in rows]
    rule = "-" * max(len(line) for line in lines)
    lines = [lines[0], rule, *lines[1:-1], rule, lines[-1]]
    failing_lines = []
    for s in scores:
        failing = [t for t in s.tests if not t.passed]
        for t in failing[:TABLE_FAILURES]:
            failing_lines.append(f"  {s.problem.id}: {t.nodeid.split('::', 1)[-1]}: {first_line(t.message)}")
        if len(failing) > TABLE_FAILURES:
            failing_lines.append(f"  {s.problem.id}: ... and {len(failing) - TABLE_FAILURES} more failing tests")
    if failing_lines:
        lines += ["", "Failing tests (first line of each message; results.json has the details):", *failing_lines]
    return "\n".join(lines)


def results_json(scores: list[ProblemScore], execution_time: float, output: str) -> dict:
    """Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/)."""
    return {
        "score": display(sum(s.earned for s in scores)),
        "execution_time": round(execution_time),
        "output": output,
        "stdout_visibility": "visible",
        "tests": [
            {
                "name": f"{s.problem.id}: {s.problem.title}",
                "number": s.problem.id,
                "score": s.earned,
                "max_score": s.problem.points,
                "status": "passed" if s.passed else "failed",
                "output": s.output(),
                "visibility": "visible",
            }
            for s in scores
        ],
    }


def write_json(path: Path, data: dict) -> None:
    """Atomic write: a reader never sees half a results.json."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
            os.fchmod(f.fileno(), 0o644)  # mkstemp's 0600 would hide it from a grader reading as another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
