"""Run mutants in parallel workers and judge each: killed (by which test, how), survived, or unclear.

A mutant is KILLED when at least one test of its own problem fails in an ordinary way: an assertion
(AssertionError, pytest.fail) or an exception raised by the buggy code (a shape error, a
UnicodeDecodeError, ...). Crashes of the test process, timeouts, memory limits, tests that could not be
collected or did not run, and grader errors are UNCLEAR, not kills: they do not show that a test
recognises the bug, so the catalogue entry or the tests must change until an ordinary failure does.
A mutant whose tests all pass SURVIVED.

A CONTROL (`control = true` in the catalogue) is a legitimate variant, judged the same way; it must
survive. The report gives the kill rate of the mutants and the survival rate of the controls separately.

Before the mutants, the unmutated reference is graded on the same problems (the baseline): a kill means
something only if the reference passes those tests.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grading.grader import GRADER_ROOT, Limits
from grading.mutants.catalogue import CATALOGUE_PATH, Mutant
from grading.submission import overlay, read_submission

ASSERTION_TYPES = {"AssertionError", "Failed"}  # Failed: pytest.fail(...)
# Prefixes grading.runner gives to failures that are limits or crashes, not the test's own verdict.
UNCLEAR_PREFIXES = {
    "timed out:": "timeout",
    "killed: the problem's time limit": "timeout",
    "crashed:": "crash",
    "not run:": "not run",
}
# A kill message that does not tell the student what to fix: pytest's rewritten bare `assert ...`, an
# AssertionError without text, or tests/numerics.assert_close called without a hint.
BARE_MESSAGE = re.compile(r"(AssertionError: )?(assert\b|\d+ of \d+ values are off)|AssertionError$")


@dataclass
class Verdict:
    """How one mutant fared."""

    id: str
    problem: str
    status: str
    """"killed", "survived" or "unclear"."""
    how: str = ""
    """For a kill: "assertion" or "error: <ExceptionType>"; for unclear: timeout, crash, not run, grader error."""
    test: str = ""
    """Node id of the killing test (the first one, in collection order, that fails in an ordinary way)."""
    message: str = ""
    """First line of that test's failure message, as the grader shows it to a student."""
    failing: int = 0
    total: int = 0
    seconds: float = 0.0
    control: bool = False
    """A legitimate variant: "survived" is the right outcome for it."""

    @property
    def as_expected(self) -> bool:
        """Killed for a mutant, survived for a control."""
        return self.status == ("survived" if self.control else "killed")

    @property
    def bare_message(self) -> bool:
        """A kill whose message is only pytest's rewritten `assert` (no explanation written for students)."""
        return self.status == "killed" and (not self.message.strip() or BARE_MESSAGE.match(self.message.strip()) is not None)


def first_line(message: str) -> str:
    return next((line.strip() for line in message.splitlines() if line.strip()), "")


def failure_kind(result: dict) -> tuple[str, bool]:
    """(kind, ordinary) of a failed test result from grading.runner: ordinary failures can kill a mutant."""
    message = result.get("message") or ""
    for prefix, kind in UNCLEAR_PREFIXES.items():
        if message.startswith(prefix):
            return kind, False
    if "out of memory: the grader lets" in message:
        return "memory limit", False
    types = result.get("exc_types") or []
    if not types:  # a failure without an exception chain (e.g. a fixture error report): judge by its text
        return "error", True
    if types[0] in ASSERTION_TYPES:
        return "assertion", True
    return f"error: {types[0]}", True


def judge(mutant: Mutant, outcome: dict, seconds: float) -> Verdict:
    """The verdict on one mutant from the runner's outcome for its problem."""
    verdict = Verdict(mutant.id, mutant.problem, "unclear", seconds=seconds, control=mutant.control)
    if "error" in outcome:
        verdict.how, verdict.message = "grader error", first_line(outcome["error"])
        return verdict
    tests = outcome.get("problems", {}).get(mutant.problem, {}).get("tests", {})
    verdict.total = len(tests)
    if not tests:
        verdict.how, verdict.message = "no tests", f"no test of problem {mutant.problem!r} ran"
        return verdict
    failed = [(n, r) for n, r in tests.items() if r["outcome"] != "passed"]
    verdict.failing = len(failed)
    if not failed:
        verdict.status = "survived"
        return verdict
    kinds = [(n, r, *failure_kind(r)) for n, r in failed]
    ordinary = [k for k in kinds if k[3]]
    if ordinary:
        nodeid, result, kind, _ = ordinary[0]  # the first in the test file's order: usually the main oracle test
        verdict.status = "killed"
    else:
        nodeid, result, kind, _ = kinds[0]
    verdict.how, verdict.test, verdict.message = kind, nodeid, first_line(result.get("message") or "")
    return verdict


def baseline_failures(outcome: dict) -> list[str]:
    """Tests the unmutated reference fails ("nodeid: first line"); the grader's error if it failed."""
    if "error" in outcome:
        return [f"grader error: {first_line(outcome['error'])}"]
    bad = []
    for problem in outcome.get("problems", {}).values():
        for nodeid, r in problem.get("tests", {}).items():
            if r["outcome"] != "passed":
                bad.append(f"{nodeid}: {first_line(r.get('message') or '')}")
    return bad


@dataclass
class Report:
    verdicts: list[Verdict] = field(default_factory=list)
    baseline: list[str] | None = None
    """None: no baseline was run; else the tests the reference fails (empty: it passes them all)."""
    seconds: float = 0.0
    jobs: int = 1

    @property
    def mutants(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.control]

    @property
    def controls(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.control]

    @property
    def killed(self) -> int:
        """Mutants (not controls) killed."""
        return sum(v.status == "killed" for v in self.mutants)

    @property
    def controls_survived(self) -> int:
        return sum(v.status == "survived" for v in self.controls)

    @property
    def ok(self) -> bool:
        return all(v.as_expected for v in self.verdicts) and not self.baseline

    def kill_rate(self) -> float:
        """Percent of the mutants killed (controls not counted)."""
        return 100.0 * self.killed / len(self.mutants) if self.mutants else 100.0

    def control_survival_rate(self) -> float:
        """Percent of the controls that survived."""
        return 100.0 * self.controls_survived / len(self.controls) if self.controls else 100.0


def run_mutants(
    mutants: list[Mutant],
    root: Path,
    jobs: int = 1,
    baseline: bool = True,
    limits: Limits = Limits(),
    keep: Path | None = None,
    python: str = sys.executable,
    progress=None,
) -> Report:
    """Grade every mutant (a copy of `root`'s solution with that one bug) on its problem; never writes to `root`.

    `limits` are the grader's (its `jobs` is ignored: each worker grades one problem at a time).
    `progress(verdict)` is called as each mutant finishes (in completion order).
    """
    from grading.release import build_starter  # staff-only module: imported only when mutants run

    start = time.monotonic()
    report = Report(jobs=jobs)
    with tempfile.TemporaryDirectory(prefix="cs336-mutants-") as tmp:
        work = Path(keep) if keep is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        pristine, solution = work / "starter", work / "solution"
        for d in (pristine, solution):
            if d.exists():
                raise FileExistsError(f"{d} exists: give --keep an empty folder")
        build_starter(root, pristine)
        overlay(read_submission(root), solution)  # a snapshot: edits to the working tree mid-run change nothing
        by_id = {m.id: m for m in mutants}
        problems = list(dict.fromkeys(m.problem for m in mutants))
        shares = [mutants[k::jobs] for k in range(jobs)]
        procs = []
        for k, share in enumerate(shares):
            if not share and not (k == 0 and baseline):
                continue
            spec = {
                "pristine": str(pristine),
                "solution": str(solution),
                "catalogue": str(CATALOGUE_PATH),
                "mutants": [m.id for m in share],
                "baseline": problems if (baseline and k == 0) else [],
                "workdir": str(work / f"worker{k}"),
                "results": str(work / f"results{k}.jsonl"),
                "limits": dataclasses.asdict(limits),
                "keep": keep is not None,
            }
            spec_path = work / f"worker{k}.json"
            spec_path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
            log = (work / f"worker{k}.log").open("wb")
            procs.append((subprocess.Popen(
                [python, "-m", "grading.mutants.worker", str(spec_path)],
                cwd=work, env=_worker_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            ), log, Path(spec["results"]), set(spec["mutants"])))  # fmt: skip
        seen: dict[Path, int] = {}

        def record(verdict: Verdict) -> None:
            report.verdicts.append(verdict)
            if progress is not None:
                progress(verdict)

        while procs:
            for entry in list(procs):
                proc, log, results, expected = entry
                finished = proc.poll() is not None  # read the results after polling: none can be missed
                for line in _new_records(results, seen):
                    if line["id"] is None:
                        report.baseline = baseline_failures(line["outcome"])
                    else:
                        expected.discard(line["id"])
                        record(judge(by_id[line["id"]], line["outcome"], line["seconds"]))
                if not finished:
                    continue
                log.close()
                procs.remove(entry)
                lines = [x for x in Path(log.name).read_text(errors="replace").splitlines() if x.strip()]
                why = f"the worker exited ({proc.returncode}) first: {lines[-1].strip() if lines else 'no output'}"
                for mid in sorted(expected):  # a worker that died takes its remaining mutants with it
                    record(Verdict(mid, by_id[mid].problem, "unclear", how="grader error", message=why, control=by_id[mid].control))
            time.sleep(0.1)
        if baseline and report.baseline is None:
            report.baseline = ["grader error: the baseline run never reported (see the worker logs with --keep)"]
    order = {m.id: i for i, m in enumerate(mutants)}
    report.verdicts.sort(key=lambda v: order[v.id])
    report.seconds = time.monotonic() - start
    return report


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(GRADER_ROOT)  # this repository's `grading` package (the starter has no grader)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["OMP_NUM_THREADS"] = "1"  # workers run side by side: one thread each, as in the grader
    env.pop("PYTEST_ADDOPTS", None)
    return env


def _new_records(path: Path, seen: dict[Path, int]) -> list[dict]:
    """Whole lines appended to `path` since the last call (a line still being written waits)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    done = data.rfind(b"\n") + 1
    start = seen.get(path, 0)
    seen[path] = max(start, done)
    return [json.loads(line) for line in data[start:done].splitlines() if line.strip()]
