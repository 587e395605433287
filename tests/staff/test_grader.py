"""The grader on fixture submissions: the reference, the starter, broken ones, and cheating ones.

Expected scores come from the registry and from what the suite contains (the collected test map), so
they stay true as tests are added. The full reference run is the release check's round trip
(conftest.release_check); the other runs grade a few problems each.
"""

from __future__ import annotations

import json
import zipfile
from fractions import Fraction

import pytest

from grading.cli import main as cs336_staff
from grading.grader import Limits, grade
from grading.registry import load_problems, parse_problems
from grading.scoring import results_json, split_points
from grading.submission import SubmissionError, read_submission
from tests.staff.conftest import REPO
from tests.staff.submissions import broken, mini

pytestmark = pytest.mark.staff

AUTOGRADED = {p.id: p for p in load_problems() if p.autograded}


def assert_gradescope_format(results: dict, problem_ids: list[str]) -> None:
    """results.json as Gradescope reads it, one entry per graded problem with the registry's points."""
    assert set(results) >= {"score", "execution_time", "output", "stdout_visibility", "tests"}
    assert results["stdout_visibility"] == "visible" and isinstance(results["output"], str)
    assert [t["number"] for t in results["tests"]] == problem_ids
    for t in results["tests"]:
        assert set(t) == {"name", "number", "score", "max_score", "status", "output", "visibility"}, t.keys()
        assert t["max_score"] == AUTOGRADED[t["number"]].points
        assert t["status"] in ("passed", "failed") and 0 <= t["score"] <= t["max_score"]
        assert (t["status"] == "passed") == (t["score"] == t["max_score"]) or t["score"] < t["max_score"]
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]), abs=0.005)
    json.dumps(results)  # serialisable as is


# ---- the points rule ---------------------------------------------------------------------------


def test_points_split_equally_over_test_functions_then_over_parametrised_cases():
    shares = split_points(3, ["t.py::f[a]", "t.py::f[b]", "t.py::g"])
    assert shares == {"t.py::f[a]": Fraction(3, 4), "t.py::f[b]": Fraction(3, 4), "t.py::g": Fraction(3, 2)}
    for points, n in [(1, 3), (15, 7), (5, 11)]:
        assert sum(split_points(points, [f"t.py::f{i}" for i in range(n)]).values()) == points  # exact


# ---- the reference and the starter (from the release check's two full runs) -------------------


def test_reference_solution_gets_every_autograded_point(release_check, tmp_path):
    result = release_check.round_trip
    assert result is not None and result.error is None, release_check.errors
    scores = [s for s in result.scores if s.problem.autograded]  # the release also runs written problems' practice tests
    for score in scores:
        runnable = [n for n, t in result.test_map.items() if t["problem"] == score.problem.id and not t["static_skip"]]
        expected = score.problem.points if runnable else 0
        failing = [f"{t.nodeid}: {t.message.splitlines()[0] if t.message else ''}" for t in score.tests if not t.passed]
        assert score.earned == expected, f"{score.problem.id}: {score.earned}/{expected}; failing: {failing}"
    results = results_json(scores, result.elapsed, result.report())
    assert_gradescope_format(results, list(AUTOGRADED))


def test_starter_gets_zero_and_every_test_says_not_implemented(release_check):
    result = release_check.starter_run
    assert result is not None and result.error is None, release_check.errors
    scores = [s for s in result.scores if s.problem.autograded]
    free = [t.nodeid for s in scores for t in s.tests if t.passed]
    assert not free, f"tests that pass without any solution give free points: {free}"
    for score in scores:
        for t in score.tests:
            assert not t.passed and "NotImplementedError" in t.message, f"{t.nodeid}: {t.message!r}"
    assert_gradescope_format(results_json(scores, 0, result.report()), list(AUTOGRADED))


# ---- broken submissions: each failure costs only its problem, with a message saying what happened -----


@pytest.fixture(scope="module")
def broken_results(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("broken")
    submission = broken.make(REPO, tmp / "submission")
    problems = [*broken.FAILURES, broken.CORRECT]
    out = tmp / "results.json"
    rc = cs336_staff(["grade", str(submission), "--results", str(out), "--problems", ",".join(problems),
                "--test-timeout", "3", "--memory-mb", "1024", "--jobs", "2"])  # fmt: skip
    assert rc == 0
    return json.loads(out.read_text())


def test_broken_submission_results_are_valid_gradescope_json(broken_results):
    assert_gradescope_format(broken_results, [p for p in AUTOGRADED if p in {*broken.FAILURES, broken.CORRECT}])


@pytest.mark.parametrize("problem", list(broken.FAILURES))
def test_each_failure_mode_costs_its_problem_with_a_message_saying_what_happened(broken_results, problem):
    entry = next(t for t in broken_results["tests"] if t["number"] == problem)
    expected_text = broken.FAILURES[problem][2]
    assert entry["score"] == 0 and entry["status"] == "failed", entry["output"]
    failed_blocks = entry["output"].split("\nFAILED ")[1:]
    assert failed_blocks, entry["output"]
    for block in failed_blocks:
        assert expected_text in block, f"{problem}: expected {expected_text!r} in every failure:\n{block}"


def test_a_correct_problem_keeps_full_marks_beside_broken_ones(broken_results):
    entry = next(t for t in broken_results["tests"] if t["number"] == broken.CORRECT)
    assert entry["score"] == entry["max_score"] and entry["status"] == "passed", entry["output"]


def test_rewritten_tests_conftest_and_extra_tests_in_a_submission_are_ignored(broken_results):
    # tests/test_cross_entropy.py was rewritten to `assert True`, conftest.py forces every outcome to
    # "passed", and tests/test_extra.py adds a free test: none of it is graded.
    cross_entropy = next(t for t in broken_results["tests"] if t["number"] == "cross_entropy")
    assert "test_cross_entropy()" not in cross_entropy["output"] and cross_entropy["score"] == 0
    schedule = next(t for t in broken_results["tests"] if t["number"] == "learning_rate_schedule")
    assert "test_free_points" not in schedule["output"] and schedule["score"] == 0


# ---- the runner's failure modes on a synthetic tree (independent of the real suite) ---------------


@pytest.fixture(scope="module")
def mini_result(tmp_path_factory):
    root = tmp_path_factory.mktemp("mini")
    pristine, submission_dir = mini.make_tree(root, REPO / "grading" / "registry.py", REPO / "tests" / "conftest.py")
    problems = [p for p in parse_problems(mini.MINI_PROBLEMS) if p.autograded]
    limits = Limits(test_timeout=2, wall_limit=10, import_timeout=3, memory_mb=512, jobs=2)
    return grade(read_submission(submission_dir), pristine, problems, limits, isolated=False)  # isolated: test_isolation.py


@pytest.mark.parametrize("problem", list(mini.EXPECTED))
def test_runner_failure_modes_score_and_explain_each_test(mini_result, problem):
    expected_score, tests = mini.EXPECTED[problem]
    score = next(s for s in mini_result.scores if s.problem.id == problem)
    by_name = {t.nodeid.split("::")[-1]: t for t in score.tests}
    assert set(by_name) == set(tests), f"graded tests {sorted(by_name)}; expected {sorted(tests)}"
    for name, text in tests.items():
        t = by_name[name]
        if text is None:
            assert t.passed, f"{name} should pass: {t.message}"
        else:
            assert not t.passed and text in t.message, f"{name}: expected {text!r} in {t.message!r}"
    assert score.earned == expected_score, score.output()


def test_runner_leaves_written_problems_and_static_skips_out(mini_result):
    assert "essay" not in {s.problem.id for s in mini_result.scores}
    skips = next(s for s in mini_result.scores if s.problem.id == "skips")
    assert any("left out of the split" in n for n in skips.notes)


# ---- reading submissions ---------------------------------------------------------------------------


def test_zip_submission_inside_a_top_folder_is_found_and_unsafe_entries_ignored(tmp_path):
    path = tmp_path / "sub.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("assignment1/cs336_basics/__init__.py", "")
        zf.writestr("assignment1/cs336_basics/nn/layers.py", "X = 1\n")
        zf.writestr("assignment1/cs336_basics/__pycache__/layers.cpython-311.pyc", b"\0")
        zf.writestr("assignment1/tests/adapters.py", "# adapters\n")
        zf.writestr("assignment1/tests/test_linear.py", "def test(): assert True\n")
        zf.writestr("assignment1/tests/conftest.py", "")
        zf.writestr("../escape.py", "")
        link = zipfile.ZipInfo("assignment1/cs336_basics/link.py")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    sub = read_submission(path)
    assert sorted(sub.files) == ["cs336_basics/__init__.py", "cs336_basics/nn/layers.py", "tests/adapters.py"]
    notes = "\n".join(sub.notes)
    assert "unsafe path" in notes and "symbolic link" in notes


def test_directory_submission_without_adapters_is_noted(tmp_path):
    (tmp_path / "cs336_basics").mkdir()
    (tmp_path / "cs336_basics" / "__init__.py").write_text("")
    (tmp_path / "cs336_basics" / "evil.py").symlink_to("/etc/passwd")
    sub = read_submission(tmp_path)
    assert list(sub.files) == ["cs336_basics/__init__.py"]
    assert any("no tests/adapters.py" in n for n in sub.notes) and any("symbolic link" in n for n in sub.notes)


def test_unreadable_submission_still_writes_results_json_with_zero(tmp_path, capsys):
    bad = tmp_path / "submission.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(SubmissionError):
        read_submission(bad)
    out = tmp_path / "results.json"
    assert cs336_staff(["grade", str(bad), "--results", str(out), "--problems", "adamw"]) == 2
    results = json.loads(out.read_text())
    assert results["score"] == 0 and "not a valid zip" in results["output"]
    assert_gradescope_format(results, ["adamw"])


def test_grade_rejects_unknown_and_written_problem_ids(tmp_path, capsys):
    assert cs336_staff(["grade", str(tmp_path), "--problems", "no_such_problem"]) == 2
    assert "unknown problem id" in capsys.readouterr().err
    written = next(p.id for p in load_problems() if not p.autograded)
    assert cs336_staff(["grade", str(tmp_path), "--problems", written]) == 2
    assert "written problems" in capsys.readouterr().err
