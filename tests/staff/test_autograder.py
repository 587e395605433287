"""The Gradescope bundle: unpacked into a folder laid out like /autograder, set up, and run on submissions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from grading.cli import main as cs336_staff
from grading.autograder import SCRIPTS, unpack
from grading.release import GENERATED, is_staff_only
from tests.staff.conftest import REPO
from tests.staff.test_grader import assert_gradescope_format

pytestmark = pytest.mark.staff

PROBLEMS = ["cross_entropy", "adamw"]  # a subset keeps each run short; the full run is the release check's


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    """An /autograder-like root with the bundle unpacked in source/ and set up by setup.sh (offline)."""
    root = tmp_path_factory.mktemp("gradescope") / "autograder"
    bundle = root.parent / "autograder.zip"
    assert cs336_staff(["autograder", "--out", str(bundle)]) == 0
    unpack(bundle, root / "source")
    env = dict(os.environ, CS336_AUTOGRADER_ROOT=str(root), UV_OFFLINE="1")
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"setup.sh failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return root


def run_autograder(root: Path, submission: Path) -> tuple[subprocess.CompletedProcess, dict]:
    if (root / "submission").exists():
        shutil.rmtree(root / "submission")
    shutil.copytree(submission, root / "submission")
    env = dict(os.environ, CS336_AUTOGRADER_ROOT=str(root),
               CS336_GRADE_ARGS=f"--problems {','.join(PROBLEMS)} --test-timeout 20")  # fmt: skip
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True, timeout=900)
    results = json.loads((root / "results" / "results.json").read_text())
    return proc, results


def test_bundle_has_the_scripts_and_no_solution(tmp_path):
    bundle = tmp_path / "autograder.zip"
    assert cs336_staff(["autograder", "--out", str(bundle)]) == 0
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        for script in SCRIPTS:
            assert script in names and (zf.getinfo(script).external_attr >> 16) & 0o111, f"{script} not executable"
        for name in names:
            assert not any(m in zf.read(name) for m in (b"BEGIN SOLUTION", b"END SOLUTION")), f"solution text in {name}"
        inner = [n.removeprefix("pristine/") for n in names if n.startswith("pristine/")]
        staff = [n for n in inner if is_staff_only(n) and n not in GENERATED and not n.startswith(("grading/", "tests/oracles/"))]
        assert not staff, f"staff-only files in the bundle: {staff}"
    second = tmp_path / "again.zip"
    assert cs336_staff(["autograder", "--out", str(second)]) == 0
    assert second.read_bytes() == bundle.read_bytes(), "the same sources must give the same bundle"


def test_run_autograder_gives_the_reference_full_marks(autograder, tmp_path):
    submission = tmp_path / "reference"
    shutil.copytree(REPO / "cs336_basics", submission / "cs336_basics", ignore=shutil.ignore_patterns("__pycache__"))
    (submission / "tests").mkdir()
    shutil.copy2(REPO / "tests" / "adapters.py", submission / "tests" / "adapters.py")
    proc, results = run_autograder(autograder, submission)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert_gradescope_format(results, PROBLEMS)
    assert all(t["score"] == t["max_score"] for t in results["tests"]), results["output"]


def test_run_autograder_on_a_broken_submission_writes_zero_with_the_reason(autograder, tmp_path):
    submission = tmp_path / "broken"
    (submission / "tests").mkdir(parents=True)
    (submission / "tests" / "adapters.py").write_text("def run_linear(:\n")  # every test module fails to import
    proc, results = run_autograder(autograder, submission)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert_gradescope_format(results, PROBLEMS)
    assert results["score"] == 0
    for t in results["tests"]:
        assert "could not be imported: SyntaxError" in t["output"], t["output"]
    assert "no cs336_basics/ folder" in results["output"]


def test_run_autograder_writes_results_even_when_the_grader_cannot_start(autograder, tmp_path):
    env = dict(os.environ, CS336_AUTOGRADER_ROOT=str(autograder), CS336_PYTHON=str(tmp_path / "no-python"))
    proc = subprocess.run([str(autograder / "source" / "run_autograder")], env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    results = json.loads((autograder / "results" / "results.json").read_text())
    assert results["score"] == 0 and "failed to run" in results["output"]


def test_run_autograder_grades_in_isolation_and_a_daemon_cannot_forge_the_results(autograder, tmp_path):
    """The reference plus a detached daemon that rewrites results.json once run_autograder has exited,
    and that would copy the bundle's files out if it could see them."""
    submission = tmp_path / "hostile"
    shutil.copytree(REPO / "cs336_basics", submission / "cs336_basics", ignore=shutil.ignore_patterns("__pycache__"))
    (submission / "tests").mkdir()
    results = autograder / "results" / "results.json"
    daemon = f"""

import json as _json, os as _os, time as _time
if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        _seen = _os.path.exists({str(autograder / "source" / "pristine" / "grading")!r})
        for _ in range(100):
            try:
                with open({str(results)!r}, "w") as _f:
                    _json.dump({{"score": 999, "output": "forged", "tests": [], "seen": _seen}}, _f)
            except OSError:
                pass
            _time.sleep(0.05)
    _os._exit(0)
"""
    (submission / "tests" / "adapters.py").write_text((REPO / "tests" / "adapters.py").read_text() + daemon)
    proc, _ = run_autograder(autograder, submission)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    time.sleep(6)  # longer than the daemon would live
    results_data = json.loads(results.read_text())
    assert "forged" not in results_data["output"], "a daemon rewrote results.json after the grader"
    assert_gradescope_format(results_data, PROBLEMS)
    assert all(t["score"] == t["max_score"] for t in results_data["tests"]), results_data["output"]
    assert "reduced isolation" not in results_data["output"]
