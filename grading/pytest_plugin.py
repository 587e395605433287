"""The pytest plugin the grader loads into each problem's test process (`-p grading.pytest_plugin`).

Two modes:
- `--grading-collect MAP.json` (with `--collect-only`): write {nodeid: {"problem", "file", "function",
  "static_skip"}} for every collected test. Run on the pristine starter, never on a submission, so a
  submission cannot change which tests exist or how many points they carry.
- `--grading-problem ID --grading-events EVENTS.jsonl`: keep only the tests whose closest `problem`
  marker is ID (minus the node ids listed in `--grading-done FILE`) and append one JSON line per event:
  `collected` (the test modules are imported), `start` (a test begins: if the process dies, the runner
  knows which test killed it), `result` (the
  test's outcome and the first lines of its error), `collect_error` (a test module failed to import),
  and `finished` (pytest ended normally). Lines are flushed at once so they survive a crash.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

MESSAGE_LINES = 12  # lines of an error kept for the student: the assertion message, not the whole traceback
MESSAGE_CHARS = 1500
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grading", "cs336 grader (staff)")
    group.addoption("--grading-collect", metavar="MAP", help="write the test -> problem map as JSON")
    group.addoption("--grading-problem", metavar="ID", help="run only the tests of this problem")
    group.addoption("--grading-events", metavar="FILE", help="append JSON-lines events to FILE")
    group.addoption("--grading-done", metavar="FILE", help="node ids (one a line) already graded: deselect them")


def problem_of(item: pytest.Item) -> str | None:
    """The id of the item's closest `problem` marker (a function marker overrides the module's)."""
    marker = item.get_closest_marker("problem")
    return marker.args[0] if marker is not None and len(marker.args) == 1 else None


def static_skip_reason(item: pytest.Item) -> str | None:
    """The reason when a `skip`/`skipif` marker skips the item in this environment (e.g. no GPU); else None.

    Such a test is left out of its problem's point split. A skip raised at run time (pytest.skip() from
    inside a test or from the code under test) is not static: it counts as a failure.
    """
    try:
        from _pytest.skipping import evaluate_skip_marks
    except ImportError:  # private pytest API; without it, every test counts
        return None
    try:
        skipped = evaluate_skip_marks(item)
    except Exception:  # a skipif condition that fails to evaluate: let the run report it
        return None
    return skipped.reason if skipped is not None else None


class _Collector:
    def __init__(self, out: Path):
        self.out = out

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        tests = {}
        for item in items:
            tests[item.nodeid] = {
                "problem": problem_of(item),
                "file": item.nodeid.split("::", 1)[0],
                "function": getattr(item, "originalname", None) or item.name,
                "static_skip": static_skip_reason(item),
            }
        tmp = self.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(tests, indent=1), encoding="utf-8")
        os.replace(tmp, self.out)


class _Reporter:
    def __init__(self, problem: str, events: Path, done: set[str]):
        self.problem = problem
        self.done = done
        self.stream = events.open("a", encoding="utf-8")
        self.results: dict[str, dict] = {}

    def emit(self, **event) -> None:
        self.stream.write(json.dumps(event) + "\n")
        self.stream.flush()
        os.fsync(self.stream.fileno())

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        keep = [i for i in items if problem_of(i) == self.problem and i.nodeid not in self.done]
        dropped = [i for i in items if i not in keep]
        items[:] = keep
        if dropped:
            config.hook.pytest_deselected(items=dropped)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.emit(event="collected", count=len(session.items))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.emit(event="collect_error", nodeid=report.nodeid, message=error_message(report.longreprtext))

    def pytest_runtest_logstart(self, nodeid: str, location) -> None:
        self.emit(event="start", nodeid=nodeid)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        if call.excinfo is not None and report.failed:
            report.grading_exc_types = exception_chain_types(call.excinfo.value)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = self.results.setdefault(report.nodeid, {"outcome": "passed", "message": "", "exc_types": [], "duration": 0.0})
        entry["duration"] += report.duration  # set-up, call and teardown together
        if report.failed and entry["outcome"] != "failed":
            phase = "" if report.when == "call" else f"(in test {report.when}) "
            entry.update(outcome="failed", message=phase + error_message(report.longreprtext))
            entry["exc_types"] = getattr(report, "grading_exc_types", [])
        elif report.skipped and entry["outcome"] == "passed":
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            entry.update(outcome="skipped", message=reason)
        if report.when == "teardown":
            self.emit(event="result", nodeid=report.nodeid, **self.results.pop(report.nodeid))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.emit(event="finished", exitstatus=int(exitstatus))
        self.stream.close()


def exception_chain_types(exc: BaseException) -> list[str]:
    """Type names of `exc` and the exceptions it was raised from or during (outermost first)."""
    names, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        names.append(type(exc).__name__)
        exc = exc.__cause__ or exc.__context__
    return names


def error_message(text: str) -> str:
    """The part of a pytest failure text a student needs: the `E ...` lines (exception and message).

    Falls back to the last lines of the text when it has no `E` lines (e.g. a collection error's
    summary). Truncated to MESSAGE_LINES lines / MESSAGE_CHARS characters.
    """
    lines = text.splitlines()
    e_lines = [line[1:].strip() for line in lines if line.startswith("E ")]
    picked = e_lines or [line.rstrip() for line in lines[-MESSAGE_LINES:] if line.strip()]
    if picked and picked[0].startswith('File "'):  # a SyntaxError: its "File ..., line N" comes first
        error = next((i for i, line in enumerate(picked) if _ERROR_LINE.match(line)), None)
        if error is not None:
            picked.insert(0, picked.pop(error))
    picked = picked[:MESSAGE_LINES]
    message = "\n".join(picked)
    return message if len(message) <= MESSAGE_CHARS else message[: MESSAGE_CHARS - 3] + "..."


def pytest_configure(config: pytest.Config) -> None:
    collect = config.getoption("--grading-collect")
    problem = config.getoption("--grading-problem")
    if collect:
        config.pluginmanager.register(_Collector(Path(collect)), "grading-collector")
    elif problem:
        events = config.getoption("--grading-events")
        if not events:
            raise pytest.UsageError("--grading-problem needs --grading-events")
        done_file = config.getoption("--grading-done")
        done = set(Path(done_file).read_text(encoding="utf-8").split("\n")) - {""} if done_file else set()
        config.pluginmanager.register(_Reporter(problem, Path(events), done), "grading-reporter")
