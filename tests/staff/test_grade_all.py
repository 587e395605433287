"""`grade-all` on a small synthetic class: gradebook, plot, resuming, a crash, a hostile classmate, submitit.

The class is graded against a tiny starter of its own (three problems whose tests do not import torch),
so each submission costs only the runner's start. Each submission's expected score follows from how it
was built (which of its functions are right), independently of the grader.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from grading.batch import grade_all
from grading.cli import main as cs336
from grading.grader import Limits
from grading.registry import parse_problems
from grading.roster import BatchError, discover
from tests.staff.conftest import REPO

pytestmark = [pytest.mark.staff, pytest.mark.timeout(300)]  # each grading run starts a runner (seconds)

PROBLEMS = """
[[problem]]
id = "add"
title = "Addition"
points = 2
kind = "autograded"

[[problem]]
id = "mul"
title = "Multiplication"
points = 1
kind = "autograded"

[[problem]]
id = "softmax"
title = "Softmax"
points = 1
kind = "autograded"
"""

TESTS = {
    "test_add.py": """
        import pytest
        from tests import adapters

        pytestmark = pytest.mark.problem("add")

        def test_add_small():
            assert adapters.add(2, 3) == 5

        def test_add_negative():
            assert adapters.add(-2, -3) == -5
    """,
    "test_mul.py": """
        import pytest
        from tests import adapters

        pytestmark = pytest.mark.problem("mul")

        def test_mul():
            assert adapters.mul(4, 5) == 20
    """,
    "test_softmax.py": """
        import math
        import pytest
        from tests import adapters

        pytestmark = pytest.mark.problem("softmax")

        def test_softmax_matches_exp_over_sum():
            p = adapters.softmax([1.0, 2.0, 3.0])
            z = sum(math.exp(v) for v in (1.0, 2.0, 3.0))
            assert all(abs(a - math.exp(v) / z) < 1e-12 for a, v in zip(p, (1.0, 2.0, 3.0)))
    """,
}

PYPROJECT = """
[project]
name = "class"
version = "0"

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-ra --strict-markers --strict-config"
timeout = 120
markers = ["problem(id): problem", "staff: staff"]
"""

# Each function in a right and a wrong version; a submission picks one of each.
RIGHT = {
    "add": "def add(a, b):\n    return a + b\n",
    "mul": "def mul(a, b):\n    return a * b\n",
    "softmax": (
        "def softmax(xs):\n    from cs336_basics.functional import softmax as own\n    return own(xs)\n"
    ),
}
WRONG = {
    "add": "def add(a, b):\n    return a + abs(b)\n",  # right on test_add_small only
    "mul": "def mul(a, b):\n    return a + b\n",
    "softmax": "def softmax(xs):\n    return [1.0 / len(xs)] * len(xs)\n",
}
OWN_SOFTMAX = """
import math


def softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    return [v / sum(e) for v in e]
"""
# Never called by the tests (so torch is never imported): the honour report is a static scan.
PLANTED_SOFTMAX = OWN_SOFTMAX + """

def softmax_builtin(xs):
    import torch
    import torch.nn.functional as F

    return F.softmax(torch.tensor(xs), dim=-1).tolist()
"""
POINTS = {"add": 2, "mul": 1, "softmax": 1}


def expected_scores(wrong: set[str]) -> dict[str, float]:
    """The oracle: a wrong add still passes test_add_small (half its points); other wrong pieces earn 0."""
    return {p: (POINTS[p] / 2 if p == "add" else 0) if p in wrong else POINTS[p] for p in POINTS}


def write_submission(folder: Path, wrong: set[str] = frozenset(), planted: bool = False, extra_adapters: str = "") -> Path:
    (folder / "tests").mkdir(parents=True)
    (folder / "cs336_basics").mkdir()
    (folder / "cs336_basics" / "__init__.py").write_text("")
    (folder / "cs336_basics" / "functional.py").write_text(PLANTED_SOFTMAX if planted else OWN_SOFTMAX)
    body = "".join((WRONG if p in wrong else RIGHT)[p] + "\n\n" for p in POINTS)
    (folder / "tests" / "adapters.py").write_text(textwrap.dedent(extra_adapters) + "\n" + body)
    return folder


def zip_folder(folder: Path, dest: Path, top: str) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{top}/{path.relative_to(folder)}")
    return dest


def make_pristine(root: Path) -> Path:
    """The class's starter tree: the three problems' tests, stub adapters, the registry."""
    (root / "grading").mkdir(parents=True)
    (root / "grading" / "__init__.py").write_text("")
    (root / "grading" / "registry.py").write_bytes((REPO / "grading" / "registry.py").read_bytes())
    (root / "grading" / "problems.toml").write_text(PROBLEMS)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "tests").mkdir()
    (root / "tests" / "__init__.py").write_text("")
    (root / "tests" / "conftest.py").write_bytes((REPO / "tests" / "conftest.py").read_bytes())
    stub = "".join(f"def {name}(*args):\n    raise NotImplementedError\n\n\n" for name in ("add", "mul", "softmax"))
    (root / "tests" / "adapters.py").write_text(stub)
    for name, text in TESTS.items():
        (root / "tests" / name).write_text(textwrap.dedent(text))
    (root / "cs336_basics").mkdir()
    (root / "cs336_basics" / "__init__.py").write_text("")
    return root


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return make_pristine(tmp_path_factory.mktemp("class-starter") / "starter")


# name -> (wrong pieces, honour violation planted)
CLASS = {
    "alice": (set(), False),
    "bob": ({"add"}, False),
    "carol": ({"mul"}, True),
    "dave": ({"add", "mul", "softmax"}, False),
}


def make_class(root: Path) -> tuple[Path, dict[str, dict[str, float]]]:
    """alice, carol, dave as folders; bob as a zip with a top folder. Returns (folder, expected per key)."""
    root.mkdir(parents=True)
    expected = {}
    for name, (wrong, planted) in CLASS.items():
        if name == "bob":
            write_submission(root.parent / "bob-src", wrong, planted)
            zip_folder(root.parent / "bob-src", root / "bob.zip", "assignment1")
        else:
            write_submission(root / name, wrong, planted)
        expected[name] = expected_scores(wrong)
    return root, expected


def cli_args(submissions: Path, out: Path, pristine: Path, jobs: int = 2, *extra: str) -> list[str]:
    return ["grade-all", str(submissions), "--out", str(out), "--pristine", str(pristine), "--jobs", str(jobs),
            "--test-timeout", "10", "--wall-limit", "30", "--memory-mb", "1024", "--no-heldout", "--no-progress", *extra]  # fmt: skip


def read_gradebook(out: Path) -> dict[str, dict]:
    with (out / "gradebook.csv").open(newline="") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


def assert_grades(out: Path, expected: dict[str, dict[str, float]]) -> None:
    book = read_gradebook(out)
    assert set(book) == set(expected), sorted(book)
    for key, scores in expected.items():
        row = book[key]
        for problem, points in scores.items():
            assert float(row[problem]) == points, f"{key}/{problem}: gradebook {row[problem]}, expected {points}"
        assert float(row["total"]) == sum(scores.values()), f"{key}: total {row['total']}"
        results = json.loads((out / key / "results.json").read_text())
        assert results["score"] == sum(scores.values()), f"{key}: results.json {results['score']}"
        assert {t["number"]: t["score"] for t in results["tests"]} == scores


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, pristine):
    root = tmp_path_factory.mktemp("class")
    submissions, expected = make_class(root / "submissions")
    out = root / "out"
    start = time.monotonic()
    assert cs336(cli_args(submissions, out, pristine)) == 0
    return submissions, out, expected, time.monotonic() - start


def test_gradebook_has_one_row_per_submission_with_each_problem_and_the_total(graded_class):
    _, out, expected, _ = graded_class
    assert_grades(out, expected)
    header = (out / "gradebook.csv").read_text().splitlines()[0].split(",")
    assert header == ["student", "email", "submission", "total", "add", "mul", "softmax", "honour_notes", "grader_error"]


def test_plot_is_a_png(graded_class):
    _, out, _, _ = graded_class
    assert (out / "grades.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_planted_builtin_softmax_is_a_note_on_the_softmax_problem_only(graded_class):
    _, out, _, _ = graded_class
    book = read_gradebook(out)
    assert book["carol"]["honour_notes"] == "softmax" and book["alice"]["honour_notes"] == ""
    tests = {t["number"]: t for t in json.loads((out / "carol" / "results.json").read_text())["tests"]}
    note = tests["softmax"]["output"]
    assert "Honour rules" in note and "cs336_basics/functional.py:" in note and "torch.nn.functional.softmax" in note
    assert "staff decide" in note and tests["softmax"]["score"] == 1  # no deduction
    assert "Honour rules" not in tests["add"]["output"] + tests["mul"]["output"]


def test_second_run_skips_every_graded_submission(graded_class, pristine):
    submissions, out, expected, first = graded_class
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/results.json")}
    start = time.monotonic()
    assert cs336(cli_args(submissions, out, pristine)) == 0
    again = time.monotonic() - start
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/results.json")} == stamps
    assert again < first / 2, f"the second run took {again:.1f} s (first {first:.1f} s): nothing should be regraded"
    assert_grades(out, expected)


GRADESCOPE_METADATA = """\
submission_1001:
  :submitters:
  - :name: Ada Lovelace
    :sid: '1815'
    :email: ada@example.edu
  :created_at: 2025-04-01 12:00:00.000000000 -07:00
  :score: 0.0
submission_1002:
  :submitters:
  - :name: Alan Turing
    :sid: '1912'
    :email: alan@example.edu
  - :name: Grace Hopper
    :sid: '1906'
    :email: grace@example.edu
  :created_at: 2025-04-02 09:30:00.000000000 -07:00
"""


def make_gradescope_export(root: Path) -> Path:
    """Gradescope's "Download submissions" layout: the metadata beside one folder per submission."""
    export = root / "assignment_42_export"
    write_submission(export / "submission_1001", {"mul"})
    write_submission(root / "upload-src", {"softmax"})
    (export / "submission_1002").mkdir()  # an upload that Gradescope stored as the zip itself
    zip_folder(root / "upload-src", export / "submission_1002" / "upload.zip", "cs336")
    (export / "submission_metadata.yml").write_text(GRADESCOPE_METADATA)
    return export


def test_discover_reads_class_folders_and_gradescope_exports(tmp_path):
    export = make_gradescope_export(tmp_path / "gs")
    for root in (export, export.parent):  # the export folder, or the folder it was unpacked into
        entries = {e.key: e for e in discover(root)}
        assert sorted(entries) == ["submission_1001", "submission_1002"]
        assert (entries["submission_1002"].student, entries["submission_1002"].email) == (
            "Alan Turing; Grace Hopper", "alan@example.edu; grace@example.edu")  # fmt: skip
    plain = tmp_path / "plain"
    write_submission(plain / "Ada Lovelace", set())
    zip_folder(plain / "Ada Lovelace", plain / "bob.zip", "a1")
    (plain / "notes.txt").write_text("not a submission")
    (plain / ".hidden").mkdir()
    assert [(e.key, e.student) for e in discover(plain)] == [("Ada_Lovelace", "Ada Lovelace"), ("bob", "bob")]
    zip_folder(plain / "Ada Lovelace", plain / "Ada_Lovelace.zip", "a1")
    with pytest.raises(BatchError, match="same output folder"):
        discover(plain)


def test_gradescope_export_zip_is_graded_with_students_named_from_its_metadata(tmp_path, pristine):
    export = make_gradescope_export(tmp_path / "src")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(export.rglob("*")):
            if path.is_file():
                zf.write(path, f"{export.name}/{path.relative_to(export)}")
        zf.writestr("../escape.txt", "outside")  # skipped when unpacking
    out = tmp_path / "out"
    assert cs336(cli_args(archive, out, pristine, 2, "--problems", "mul,softmax")) == 0
    assert not (tmp_path / "escape.txt").exists() and not (out / "escape.txt").exists()
    book = read_gradebook(out)
    assert book["submission_1001"]["student"] == "Ada Lovelace" and book["submission_1001"]["email"] == "ada@example.edu"
    assert book["submission_1002"]["student"] == "Alan Turing; Grace Hopper"
    assert (float(book["submission_1001"]["mul"]), float(book["submission_1001"]["softmax"])) == (0, 1)
    assert (float(book["submission_1002"]["mul"]), float(book["submission_1002"]["softmax"])) == (1, 0)
    assert "add" not in book["submission_1001"]  # --problems restricts the columns too


def test_a_crash_mid_way_resumes_without_regrading_what_was_done(tmp_path, pristine):
    submissions = tmp_path / "submissions"
    expected = {}
    for i in range(3):
        wrong = {"add"} if i % 2 else set()
        write_submission(submissions / f"student{i}", wrong)
        expected[f"student{i}"] = expected_scores(wrong)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "grading.cli", *cli_args(submissions, out, pristine, 1)]
    proc = subprocess.Popen(cmd, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not list(out.glob("*/results.json")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the coordinator, its pool and the grading in flight
    proc.wait()
    done = {p: p.stat().st_mtime_ns for p in out.glob("*/results.json")}
    assert 1 <= len(done) < 3, f"the kill should land mid-way; {len(done)} of 3 were done"
    assert not (out / "gradebook.csv").exists()
    assert cs336(cli_args(submissions, out, pristine, 2)) == 0
    assert {p: p.stat().st_mtime_ns for p in done} == done, "a submission graded before the crash was graded again"
    assert_grades(out, expected)


# A hostile submission: at import time (it runs inside the grader's test processes) it finds grade-all's
# command line, rewrites every other submission's adapters, forges every other results.json, and leaves a
# detached (double-forked, setsid) daemon that keeps forging them and the gradebook until 3 s after
# grade-all has exited (at most 2 minutes).
HOSTILE = """
import os, sys, time
from pathlib import Path


def _targets():
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\\0")
        except OSError:
            continue
        if "grade-all" in argv and "--out" in argv:
            i = argv.index("grade-all")
            return int(pid), Path(argv[i + 1]), Path(argv[argv.index("--out") + 1])
    return None, None, None


def _forge(out):
    for r in out.glob("*/results.json"):
        if r.parent.name != "mallory":
            r.write_text('{"score": 999, "tests": []}')
    if (out / "gradebook.csv").exists():
        (out / "gradebook.csv").write_text("student,total\\nmallory,999\\n")


_grader, _subs, _out = _targets()
if _out is not None:
    for a in _subs.glob("*/tests/adapters.py"):
        if "mallory" not in str(a):
            a.write_text("def add(a, b):\\n    return 0\\n")
    _forge(_out)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            end, gone = time.time() + 120, None
            while time.time() < end and (gone is None or time.time() < gone + 3):
                _forge(_out)
                if gone is None and not os.path.exists(f"/proc/{_grader}"):
                    gone = time.time()
                time.sleep(0.05)
        os._exit(0)
"""


def test_a_hostile_submission_changes_no_other_grade(tmp_path, pristine):
    submissions = tmp_path / "submissions"
    expected = {}
    for name, wrong in [("alice", {"mul"}), ("mallory", set()), ("zoe", {"add"})]:
        write_submission(submissions / name, wrong, extra_adapters=HOSTILE if name == "mallory" else "")
        expected[name] = expected_scores(wrong)
    out = tmp_path / "out"
    before = {a: a.read_bytes() for a in submissions.glob("*/tests/adapters.py")}
    cmd = [sys.executable, "-m", "grading.cli", *cli_args(submissions, out, pristine, 2)]
    proc = subprocess.run(cmd, check=False, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    time.sleep(1.5)  # a daemon left alive forges the files now
    changed = [str(a.relative_to(submissions)) for a, data in before.items() if a.read_bytes() != data]
    assert not changed, f"the hostile submission rewrote its classmates' files: {changed}"
    del expected["mallory"]  # its own grade is whatever its code earns
    book = read_gradebook(out)
    assert set(book) == {"alice", "mallory", "zoe"}
    assert_grades(out, expected | {"mallory": {p: float(book["mallory"][p]) for p in POINTS}})


def test_submitit_local_executor_grades_like_the_local_pool(graded_class, tmp_path, pristine):
    _, first, expected, _ = graded_class
    submissions = tmp_path / "submissions"
    for name in ("bob", "dave"):
        write_submission(submissions / name, CLASS[name][0], CLASS[name][1])
    out = tmp_path / "out"
    problems = [p for p in parse_problems(PROBLEMS) if p.autograded]
    limits = Limits(test_timeout=10, wall_limit=30, memory_mb=1024)
    results = grade_all(discover(submissions), pristine, problems, limits, out, 2, "submitit-local", progress=False, staff=None)
    for key in ("bob", "dave"):
        pool = json.loads((first / key / "results.json").read_text())["tests"]
        assert [(t["number"], t["score"], t["status"]) for t in results[key]["tests"]] == [
            (t["number"], t["score"], t["status"]) for t in pool
        ]
        assert results[key]["score"] == sum(expected[key].values())
    assert list((out / ".submitit").iterdir()), "submitit's job folders are where the jobs ran"
