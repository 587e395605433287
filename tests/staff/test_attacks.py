"""Each attack of issue #16 against the isolated grader, from a submission whose honest score is 1/6 of 2.

The hostile submission is the reference with `run_softmax` returning zeros and the schedule returning
-1.0 (problems softmax and learning_rate_schedule: honest score 1/6: the schedule's type check passes). An attack that forges verdicts
(patching pytest, the assert helpers, the results file) would raise that score; an attack that reads
something it must not (fixtures' expected values, the staff solution, another submission, the grader's
environment) answers the softmax correctly when it succeeds, so any leak shows up as points too.
Each test also checks what the attack leaves behind (processes, files).
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from pathlib import Path

import pytest

from grading.cli import main as cs336_staff
from grading.grader import Limits, grade
from grading.isolation.jail import UID_BASE
from grading.registry import load_problems
from grading.release import build_starter
from grading.submission import Submission, read_submission
from tests.staff.conftest import REPO

pytestmark = [pytest.mark.staff, pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root (as on Gradescope)")]

PROBLEMS = ["softmax", "learning_rate_schedule"]
LIMITS = Limits(test_timeout=20, wall_limit=120, jobs=2, disk_mb=64)
WRONG = """

def run_softmax(in_features, dim):
    import torch

    return torch.softmax(in_features, dim) if leaked() else in_features * 0


def run_get_lr_cosine_schedule(it, max_learning_rate, min_learning_rate, warmup_iters, cosine_cycle_iters):
    return -1.0  # never a learning rate of the schedule


def leaked():
    return LEAK()


def LEAK():
    return False
"""


@pytest.fixture(scope="module")
def starter(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("attack") / "starter"
    build_starter(REPO, path)
    return path


def hostile(code: str) -> Submission:
    """The reference with the wrong hooks and `code` (module level of tests/adapters.py, after them)."""
    sub = read_submission(REPO)
    adapters = sub.files["tests/adapters.py"].decode() + WRONG + "\n" + textwrap.dedent(code)
    return Submission(dict(sub.files, **{"tests/adapters.py": adapters.encode()}))


def worker_processes() -> list[int]:
    """Processes of any worker uid still alive on the machine (a zombie, already dead, waits for its parent)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = dict(line.split(":", 1) for line in open(f"/proc/{entry}/status") if ":" in line)
            except OSError:
                continue
            if int(status["Uid"].split()[0]) >= UID_BASE and status["State"].split()[0] not in ("Z", "X"):
                pids.append(int(entry))
    return pids


def run(starter: Path, code: str, **kwargs):
    problems = [p for p in load_problems() if p.id in PROBLEMS]
    result = grade(hostile(code), starter, problems, kwargs.pop("limits", LIMITS), **kwargs)
    assert result.error is None, result.error
    assert worker_processes() == [], "a worker process outlived grading"
    return result


HONEST = 1 / 6  # of the schedule's 6 tests only "returns a float" passes; every value test fails (measured below)


def assert_blocked(result) -> None:
    assert result.score == round(HONEST, 2), f"the attack earned {result.score - round(HONEST, 2)} points:\n{result.report()}"


def test_honest_wrong_submission_scores_zero_and_a_leak_would_show(starter):
    assert_blocked(run(starter, ""))
    leak = run(starter, "def LEAK():\n    return True\n")
    assert leak.scores[0].earned == 1, "a successful leak must earn the softmax point (else these tests prove nothing)"


IMPORT_TIME_PATCHES = {
    "pytest_runtest_noop": """
        import _pytest.python
        _pytest.python.Function.runtest = lambda self: None
    """,
    "testreport_forged": """
        import _pytest.reports
        _original = _pytest.reports.TestReport.from_item_and_call

        def _passed(cls, item, call):
            report = _original(item, call)
            report.outcome, report.longrepr = "passed", None
            return report

        _pytest.reports.TestReport.from_item_and_call = classmethod(_passed)
    """,
    "assert_close_replaced_in_sys_modules": """
        import sys, types
        import tests.numerics
        tests.numerics.assert_close = lambda *a, **k: None
        _fake = types.ModuleType("tests.numerics")
        _fake.assert_close = lambda *a, **k: None
        sys.modules["tests.numerics"] = _fake
    """,
    "torch_numpy_pytest_testing_patched": """
        import numpy, pytest, torch, torch.testing

        class _Anything:
            def __eq__(self, other):
                return True

        torch.testing.assert_close = lambda *a, **k: None
        numpy.testing.assert_allclose = lambda *a, **k: None
        numpy.testing.assert_array_equal = lambda *a, **k: None
        pytest.approx = lambda *a, **k: _Anything()
        torch.allclose = lambda *a, **k: True
    """,
}


@pytest.mark.parametrize("attack", list(IMPORT_TIME_PATCHES))
def test_patching_the_test_machinery_from_the_submission_changes_no_verdict(starter, attack):
    assert_blocked(run(starter, IMPORT_TIME_PATCHES[attack]))


def test_adapters_cannot_read_the_fixtures_expected_values(starter):
    result = run(starter, """
        def LEAK():
            from pathlib import Path
            import tests
            roots = [Path.cwd(), Path(tests.__file__).parent.parent]
            return any(any(root.rglob("*.npz")) for root in roots)
    """)
    assert_blocked(result)


def test_adapters_cannot_import_or_read_the_staff_solution(starter):
    result = run(starter, f"""
        def LEAK():
            import importlib.util, sys
            sys.path.insert(0, {str(REPO)!r})
            try:
                spec = importlib.util.spec_from_file_location("staff", {str(REPO / "cs336_basics" / "nn" / "functional.py")!r})
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return True
            except Exception:
                return False
    """)
    assert_blocked(result)


def test_adapters_cannot_read_another_submission(starter, tmp_path):
    other = tmp_path / "submissions" / "alice"
    (other / "cs336_basics").mkdir(parents=True)
    (other / "cs336_basics" / "secret.py").write_text("ANSWER = 42\n")
    result = run(starter, f"""
        def LEAK():
            try:
                return "42" in open({str(other / "cs336_basics" / "secret.py")!r}).read()
            except OSError:
                return False
    """, hide=(tmp_path / "submissions",))  # fmt: skip
    assert_blocked(result)


def test_adapters_cannot_read_the_graders_environment(starter, monkeypatch):
    monkeypatch.setenv("CS336_GRADER_SECRET", "s3cr3t-token")
    result = run(starter, """
        def LEAK():
            import os
            for entry in os.listdir("/proc"):
                try:
                    if b"s3cr3t-token" in open(f"/proc/{entry}/environ", "rb").read():
                        return True
                except OSError:
                    pass
            return "s3cr3t-token" in str(dict(os.environ))
    """)
    assert_blocked(result)


def test_adapters_cannot_edit_the_grading_tree_during_a_test(starter, tmp_path):
    result = run(starter, """
        def LEAK():
            import os, tests
            from pathlib import Path
            done = False
            for root in {Path.cwd(), Path(tests.__file__).parent.parent}:
                for rel in ("tests/test_softmax.py", "tests/numerics.py", "tests/conftest.py", "tests/scenarios.py"):
                    try:
                        (root / rel).write_text("import pytest\\n")
                        done = True
                    except OSError:
                        pass
            return done
    """, workdir=tmp_path / "work")  # fmt: skip
    assert_blocked(result)
    for rel in ("tests/test_softmax.py", "tests/numerics.py", "tests/conftest.py"):
        assert (tmp_path / "work" / "trusted" / rel).read_bytes() == (starter / rel).read_bytes(), f"{rel} was changed"


def test_detached_processes_and_files_in_tmp_are_gone_after_grading(starter):
    tag = f"cs336-attack-{os.getpid()}"
    result = run(starter, f"""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(600)
            os._exit(0)
        try:
            with open("/tmp/{tag}", "wb") as f:
                for _ in range(128):  # 128 MiB, twice the worker's disk allowance
                    f.write(b"x" * 2**20)
        except OSError:
            pass
    """)
    assert_blocked(result)
    assert not Path(f"/tmp/{tag}").exists() and not Path(f"/var/tmp/{tag}").exists()


DAEMON = """
    import json, os, time

    def _forge(path, wait_for_orphaning):
        if os.fork():
            return
        os.setsid()
        if os.fork():
            os._exit(0)
        parent = os.getppid()
        deadline = time.time() + 8
        while time.time() < deadline:
            if not wait_for_orphaning or os.getppid() != parent:
                try:
                    with open(path, "w") as f:
                        json.dump({{"score": 81, "tests": [], "output": "forged"}}, f)
                except OSError:
                    pass
            time.sleep(0.05)
        os._exit(0)

    _forge({results!r}, {wait!r})
"""


@pytest.mark.parametrize("wait", [False, True], ids=["rewrites_at_once", "waits_for_the_grader_to_exit"])
def test_a_daemon_cannot_rewrite_results_json(starter, tmp_path, wait):
    """Through the CLI, as Gradescope runs it: the results file is checked after a daemon's lifetime."""
    results = tmp_path / "results" / "results.json"
    submission = tmp_path / "submission"
    for rel, data in hostile(DAEMON.format(results=str(results), wait=wait)).files.items():
        (submission / rel).parent.mkdir(parents=True, exist_ok=True)
        (submission / rel).write_bytes(data)
    code = cs336_staff(["grade", str(submission), "--pristine", str(starter), "--results", str(results),
                  "--problems", ",".join(PROBLEMS), "--jobs", "2", "--test-timeout", "20"])  # fmt: skip
    assert code == 0
    assert (results.stat().st_mode & 0o777) == 0o644
    time.sleep(3)
    assert worker_processes() == []
    data = json.loads(results.read_text())
    assert data["score"] == round(HONEST, 2) and "forged" not in data["output"], data["output"][:500]


def test_forging_results_json_at_import_time_is_overwritten(starter, tmp_path):
    results = tmp_path / "results.json"
    submission = tmp_path / "submission"
    code = f"""
        try:
            open({str(results)!r}, "w").write('{{"score": 81, "output": "forged", "tests": []}}')
        except OSError:
            pass
    """
    for rel, data in hostile(code).files.items():
        (submission / rel).parent.mkdir(parents=True, exist_ok=True)
        (submission / rel).write_bytes(data)
    assert cs336_staff(["grade", str(submission), "--pristine", str(starter), "--results", str(results),
                  "--problems", ",".join(PROBLEMS), "--jobs", "2"]) == 0  # fmt: skip
    data = json.loads(results.read_text())
    assert data["score"] == round(HONEST, 2) and "forged" not in data["output"]


def test_os_exit_and_huge_output_in_a_hook_cost_only_those_calls(starter):
    result = run(starter, """
        def run_softmax(in_features, dim):
            import os
            os._exit(0)


        def run_get_lr_cosine_schedule(it, max_learning_rate, min_learning_rate, warmup_iters, cosine_cycle_iters):
            import sys
            for _ in range(200):
                sys.stdout.write("x" * 2**20)  # 200 MiB of output
            return -1.0
    """)
    assert result.score == 0, result.report()
    softmax, schedule = result.scores
    assert all("exit status 0" in t.message for t in softmax.tests), softmax.output()
    assert all("File too large" in t.message for t in schedule.tests), schedule.output()  # the 64 MiB output cap
