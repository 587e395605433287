"""Run each problem's tests in its own process, with limits, and survive whatever the submission does.

    python -m grading.runner SPEC.json

The runner imports torch, numpy and pytest once, then forks one child per problem (a fork server:
importing torch costs seconds, forking costs milliseconds; see grading/sandbox.py for the child's
isolation). The runner itself never imports submission code.

Limits, per problem (spec fields):
- `test_timeout`: pytest-timeout (signal method) fails a test that runs longer; the others go on.
- `wall_limit`: seconds for the whole problem (all attempts); then the process group is killed.
- `import_timeout`: seconds the process may take to import the problem's test modules (code running
  at import time is outside any test, so the per-test timeout does not cover it).
- `memory_mb`: what the problem's process may allocate beyond the preloaded libraries (RLIMIT_DATA).
When a child dies (segfault, os._exit, SIGKILL), the test that was running is marked crashed and a new
child runs the problem's remaining tests, so one crash costs one test.

Output (`outcome.json` in `out_dir`): the test map, and per problem each test's outcome and message.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from grading.sandbox import describe_status, fork_child, kill_group, preload

HELDOUT_PATHS = ("grading/heldout",)  # staff-only tests, present in the trusted tree when the grader has them
MAX_ATTEMPTS = 20  # crashes tolerated per problem before its remaining tests are given up
POLL_S = 0.02


def read_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by a crash
            pass
    return events


@dataclass
class ProblemRun:
    id: str
    files: list[str]
    expected: list[str]  # node ids to grade, in collection order
    deadline: float = 0.0
    attempt: int = 0
    results: dict[str, dict] = field(default_factory=dict)
    collect_errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    pid: int = 0
    started: float = 0.0  # when the current attempt began
    collected: bool = False  # whether the current attempt finished importing its test modules
    killed: str | None = None  # "time" (the problem's wall-clock limit) or "import" (the import limit)

    def remaining(self) -> list[str]:
        return [n for n in self.expected if n not in self.results]


class Runner:
    def __init__(self, spec: dict):
        self.spec = spec
        self.tree = Path(spec["tree"]).resolve()
        self.out = Path(spec["out_dir"]).resolve()
        (self.out / "events").mkdir(parents=True, exist_ok=True)
        (self.out / "logs").mkdir(parents=True, exist_ok=True)
        (self.out / "workers").mkdir(parents=True, exist_ok=True)
        self.memory = spec["memory_mb"] * 2**20 if spec.get("memory_mb") else None

    def pytest_args(self, run: ProblemRun, events: Path, done: Path) -> list[str]:
        return [
            "-p", "no:cacheprovider",
            "-q", "--no-header", "-rN",
            # the runner preloads libraries that are also pytest plugins (jaxtyping): nothing to rewrite
            "-W", "ignore::pytest.PytestAssertRewriteWarning",
            f"--rootdir={self.tree}",
            "-c", str(self.tree / "pyproject.toml"),
            f"--timeout={self.spec['test_timeout']}",
            "--timeout-method=signal",
            f"--grading-problem={run.id}",
            f"--grading-events={events}",
            f"--grading-done={done}",
            *run.files,
        ]  # fmt: skip

    def start(self, run: ProblemRun) -> None:
        run.attempt += 1
        tag = f"{run.id}.{run.attempt}"
        events, done = self.out / "events" / f"{tag}.jsonl", self.out / "events" / f"{tag}.done"
        graded = [n for n in run.expected if n in run.results]
        done.write_text("\n".join(graded + self.static_skipped(run.id)), encoding="utf-8")
        run.started, run.collected = time.monotonic(), False
        run.pid = fork_child(self.tree, self.pytest_args(run, events, done), self.out / "logs" / f"{tag}.log", self.memory,
                             self.isolation(tag))  # fmt: skip

    def isolation(self, tag: str) -> dict | None:
        """What the trusted test process needs to run the submission in workers (None: in-process mode)."""
        if not self.spec.get("isolated"):
            return None
        return {
            "worker_tree": self.spec["worker_tree"],
            "shared": str(self.out / "shared" / tag),
            "worker_log": str(self.out / "logs" / f"{tag}.worker.log"),
            "uid_log": str(self.out / "workers" / f"{tag}.uids"),
            "hide": self.spec.get("hide", []),
            "disk_mb": self.spec.get("disk_mb", 512),
            "heldout_seed_file": self.spec.get("heldout_seed_file"),
        }

    def sweep_workers(self, tag: str = "*") -> None:
        """Kill every process a worker of `tag` started (by its uid), and wait until none is left."""
        from grading.isolation.jail import sweep

        for path in (self.out / "workers").glob(f"{tag}.uids"):
            for line in path.read_text().split():
                if not sweep(int(line)):
                    raise RuntimeError(f"processes of worker uid {line} survived SIGKILL")

    def static_skipped(self, problem: str) -> list[str]:
        return [n for n, t in self.test_map.items() if t["problem"] == problem and t["static_skip"]]

    def finish(self, run: ProblemRun, status: int) -> bool:
        """Record an attempt's events; True when the problem is done, False to start another attempt."""
        kill_group(run.pid)  # leftover grandchildren (e.g. a worker pool) go with it
        tag = f"{run.id}.{run.attempt}"
        self.sweep_workers(tag)
        events = read_events(self.out / "events" / f"{tag}.jsonl")
        running, finished = None, False
        for ev in events:
            kind = ev.get("event")
            if kind == "start":
                running = ev["nodeid"]
            elif kind == "result":
                run.results[ev["nodeid"]] = self.explain({k: ev.get(k) for k in ("outcome", "message", "exc_types", "duration")})
                running = None
            elif kind == "collect_error":
                run.collect_errors[ev["nodeid"]] = ev["message"].replace(f"{self.tree}/", "")
            elif kind == "finished":
                finished = True
        if run.killed == "import":
            run.notes.append(self.import_note())
            return True
        if run.killed == "time":
            limit = self.spec["wall_limit"]
            if running is not None:
                run.results[running] = failure(f"killed: the problem's time limit ({limit} s) ran out during this test")
            run.notes.append(f"time limit of {limit} s for the whole problem reached: its process was killed")
            return True
        if finished:
            return True
        how = describe_status(status)
        if running is None:
            run.notes.append(f"the test process died outside any test ({how}); see {tag}.log")
            return True
        run.results[running] = failure(f"crashed: the test process died with {how} during this test")
        run.notes.append(f"the test process died with {how} in {running}")
        if run.attempt >= MAX_ATTEMPTS:
            run.notes.append(f"gave up after {MAX_ATTEMPTS} crashes")
            return True
        return not run.remaining()

    def import_note(self) -> str:
        return (
            f"importing the test modules took longer than {self.spec['import_timeout']:g} s: an infinite loop or a "
            "long computation at import time (in tests/adapters.py, or in a cs336_basics module the tests import)?"
        )

    def explain(self, result: dict) -> dict:
        """Say which grader limit a failure ran into, in words a student understands."""
        message = (result.get("message") or "").replace(f"{self.tree}/", "")  # paths as the student knows them
        types = result.get("exc_types") or []
        result["message"] = message
        if "Timeout" in message and "pytest-timeout" in message:
            limit = self.spec["test_timeout"]
            result["message"] = f"timed out: the test ran longer than the grader's limit of {limit:g} s per test (an infinite loop, or far too slow?)\n{message}"
        elif "MemoryError" in types or "can't allocate memory" in message:
            result["message"] = f"{message}\nout of memory: the grader lets each problem's process allocate {self.spec['memory_mb']} MiB"
        return result

    def collect(self) -> dict:
        """Map every test of the pristine tree to its problem (in a forked child, like the problem runs)."""
        out = self.out / "test_map.json"
        pristine = Path(self.spec["pristine"]).resolve()
        paths = ["tests"] + [p for p in HELDOUT_PATHS if (pristine / p).is_dir()]
        args = ["-p", "no:cacheprovider", "-q", "--collect-only", f"--rootdir={pristine}",
                "-c", str(pristine / "pyproject.toml"), f"--grading-collect={out}", *paths]  # fmt: skip
        pid = fork_child(pristine, args, self.out / "logs" / "collect.log", None)
        deadline = time.monotonic() + self.spec["wall_limit"]
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                kill_group(pid)
            time.sleep(POLL_S)
        kill_group(pid)
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0) or not out.exists():
            log = (self.out / "logs" / "collect.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"collecting the pristine test suite failed ({describe_status(status)}):\n{log}")
        return json.loads(out.read_text(encoding="utf-8"))

    def run(self) -> dict:
        self.test_map = self.collect()
        runs = {}
        for pid in self.spec["problems"]:
            expected = [n for n, t in self.test_map.items() if t["problem"] == pid and not t["static_skip"]]
            files = sorted({self.test_map[n]["file"] for n in expected})
            runs[pid] = ProblemRun(pid, files, expected)
        pending = deque(r for r in runs.values() if r.expected)
        active: dict[int, ProblemRun] = {}
        while pending or active:
            while pending and len(active) < self.spec.get("jobs", 1):
                r = pending.popleft()
                if r.attempt == 0:
                    r.deadline = time.monotonic() + self.spec["wall_limit"]
                self.start(r)
                active[r.pid] = r
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid in active:
                r = active.pop(pid)
                if not self.finish(r, status):
                    pending.appendleft(r)
                continue
            now = time.monotonic()
            for r in active.values():
                if r.killed:
                    continue
                if now > r.deadline:
                    r.killed = "time"
                    kill_group(r.pid)
                elif not r.collected and now - r.started > self.spec["import_timeout"]:
                    tag = f"{r.id}.{r.attempt}"
                    r.collected = any(e.get("event") == "collected" for e in read_events(self.out / "events" / f"{tag}.jsonl"))
                    if not r.collected:
                        r.killed = "import"
                        kill_group(r.pid)
            time.sleep(POLL_S)
        self.sweep_workers()
        return {"test_map": self.test_map, "problems": {pid: self.summarise(r) for pid, r in runs.items()}}

    def summarise(self, run: ProblemRun) -> dict:
        tests = {}
        for nodeid in run.expected:
            if nodeid in run.results:
                tests[nodeid] = run.results[nodeid]
                continue
            file = self.test_map[nodeid]["file"]
            error = run.collect_errors.get(file) or next(
                (m for n, m in run.collect_errors.items() if file.startswith(n.rstrip("/") + "/") or n in ("", ".")), None
            )
            if error is not None:
                first, _, rest = error.partition("\n")
                tests[nodeid] = failure(f"not run: {file} could not be imported: {first}" + (f"\n{rest}" if rest else ""))
            elif run.killed == "time":
                tests[nodeid] = failure(f"not run: the problem's time limit ({self.spec['wall_limit']} s) ran out")
            else:
                tests[nodeid] = failure("not run: " + (run.notes[-1] if run.notes else "the test process stopped early"))
        return {"tests": tests, "notes": run.notes, "attempts": run.attempt}


def failure(message: str) -> dict:
    return {"outcome": "failed", "message": message, "exc_types": [], "duration": None}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    preload()
    outcome_path = Path(spec["out_dir"]) / "outcome.json"
    try:
        outcome = Runner(spec).run()
    except Exception as e:
        outcome = {"error": f"{type(e).__name__}: {e}"}
    tmp = outcome_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(outcome, indent=1), encoding="utf-8")
    os.replace(tmp, outcome_path)
    return 0 if "error" not in outcome else 3


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown: the preloaded (frozen) heap only makes it slow and noisy
