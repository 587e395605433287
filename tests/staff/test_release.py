"""The starter release: solution stripping, staff-only files, the README, and the full verification."""

from __future__ import annotations

import shutil
import textwrap
from fractions import Fraction

import pytest

from grading.cli import main as cs336_staff
from grading.registry import load_problems
from grading.release import (
    GENERATED,
    STAFF_ONLY,
    STARTER_KEEPS,
    ReleaseError,
    build_starter,
    is_staff_only,
    render_readme,
    strip_solutions,
)
from grading.release_verify import leftover_errors, starter_run_errors
from grading.starter_text import name_stubs, strip_staff_sections
from tests.staff.conftest import REPO

PROBLEM_IDS = {p.id for p in load_problems()}

pytestmark = pytest.mark.staff


def strip(source: str) -> str:
    return strip_solutions(textwrap.dedent(source), "x.py")[0]


def test_function_body_region_becomes_raise_keeping_signature_docstring_and_hints():
    starter = strip('''
        def softmax(x, dim):
            """Docstring stays."""
            # Hint for students stays (outside the region).
            # BEGIN SOLUTION
            shifted = x - x.max()
            return shifted.exp() / shifted.exp().sum()
            # END SOLUTION
    ''')
    assert starter == textwrap.dedent('''
        def softmax(x, dim):
            """Docstring stays."""
            # Hint for students stays (outside the region).
            raise NotImplementedError
    ''')


def test_method_and_nested_block_regions_keep_their_indentation():
    starter = strip("""
        class A:
            def f(self, x):
                if x:
                    # BEGIN SOLUTION
                    return 1
                    # END SOLUTION
                return 0
    """)
    assert "            raise NotImplementedError\n        return 0\n" in starter


def test_module_level_helper_region_is_removed_with_its_blank_lines():
    starter = strip('''
        import math


        def public():
            """Kept."""
            # BEGIN SOLUTION
            return _helper()
            # END SOLUTION


        # BEGIN SOLUTION
        def _helper():
            return math.pi


        class _Cache:
            pass


        # END SOLUTION


        def other():
            return 2
    ''')
    assert "_helper():" not in starter and "_Cache" not in starter
    assert '    """Kept."""\n    raise NotImplementedError\n\n\ndef other():' in starter


def test_solution_only_method_region_inside_a_class_is_removed_not_stubbed():
    starter = strip('''
        class Model:
            """Doc."""

            # BEGIN SOLUTION
            def _solution_helper(self):
                return 1

            # END SOLUTION
            def forward(self):
                # BEGIN SOLUTION
                return self._solution_helper()
                # END SOLUTION
    ''')
    # removed, not stubbed: a `raise` in the class body would run when the module is imported
    assert starter == '\nclass Model:\n    """Doc."""\n\n    def forward(self):\n        raise NotImplementedError\n'


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f():\n    # BEGIN SOLUTION\n    return 1\n", "never closed"),
        ("def f():\n    return 1\n    # END SOLUTION\n", "without a matching"),
        ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", "nested"),
        ("def f():\n    # BEGIN SOLUTION\n    return 1\n# END SOLUTION\n", "indentation"),
        ("def f():\n    #BEGIN SOLUTION\n    return 1\n", "malformed"),
        ("def f():\n    # BEGIN SOLUTION\n    if x:\n    # END SOLUTION\n        return 1\n", "not whole statements"),
        ("class A:\n    # BEGIN SOLUTION\n    def f(self):\n        pass\n    # END SOLUTION\n", "no longer parses"),
    ],
)
def test_bad_markers_fail_loudly_with_file_and_line(source, message):
    with pytest.raises(ReleaseError, match=message) as info:
        strip_solutions(source, "cs336_basics/x.py")
    assert "cs336_basics/x.py:" in str(info.value)


def test_staff_only_rules_leave_out_each_listed_path_and_keep_the_registry():
    for pattern in STAFF_ONLY:
        example = pattern + "example.py" if pattern.endswith("/") else pattern.replace("*", "grader.py")
        assert is_staff_only(example), example
    for kept in STARTER_KEEPS:
        assert not is_staff_only(kept), kept
    for student_file in ["tests/test_linear.py", "tests/adapters.py", "tests/conftest.py", "cs336_basics/nn/layers.py",
                         "pyproject.toml", "uv.lock", "handout.md", "tests/fixtures/linear.npz"]:  # fmt: skip
        assert not is_staff_only(student_file), student_file


def test_starter_readme_tells_students_how_to_set_up_test_edit_and_submit():
    readme = render_readme()
    for text in ["uv sync", "uv run pytest -k test_linear", "cs336_basics/", "tests/adapters.py", "zip -r submission.zip"]:
        assert text in readme, text
    assert "$" not in readme.replace("$ ", "")  # every template placeholder was filled


def test_build_refuses_a_non_empty_output_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("")
    with pytest.raises(ReleaseError, match="not empty"):
        build_starter(REPO, tmp_path)


def test_release_command_fails_loudly_on_unbalanced_markers(tmp_path, capsys):
    source = tmp_path / "repo"
    (source / "cs336_basics").mkdir(parents=True)
    (source / "grading").mkdir()
    (source / "grading" / "problems.toml").write_text((REPO / "grading" / "problems.toml").read_text())
    (source / "cs336_basics" / "bad.py").write_text("def f():\n    # BEGIN SOLUTION\n    return 1\n")
    assert cs336_staff(["release", "--source", str(source), "--out", str(tmp_path / "out"), "--no-verify"]) == 2
    assert "cs336_basics/bad.py:2: '# BEGIN SOLUTION' is never closed" in capsys.readouterr().err


def test_release_of_this_repository_verifies(release_check):
    """The full check `cs336-staff release` runs: collects, NotImplementedError everywhere, round trip, no solution left."""
    assert release_check.ok, "release verification failed:\n- " + "\n- ".join(release_check.errors)


def test_starter_has_no_solution_and_no_staff_file(release_check):
    starter = release_check.starter
    files = [p.relative_to(starter).as_posix() for p in starter.rglob("*") if p.is_file()]
    assert "README.md" in files and "README.md" in GENERATED
    staff = [f for f in files if is_staff_only(f) and f not in GENERATED]
    assert not staff, f"staff-only files in the starter: {staff}"
    marked = [f for f in files if any(m in (starter / f).read_bytes() for m in (b"BEGIN SOLUTION", b"END SOLUTION"))]
    assert not marked, f"marker text left in {marked}"
    assert (starter / "README.md").read_text() == render_readme()


# ---- what the release does so that the starter reads as if written for students


def test_each_stub_names_its_function_and_problem_and_loses_the_dead_code_after_it():
    starter = name_stubs(textwrap.dedent('''
        class Linear:
            def forward(self, x):
                """Doc."""
                raise NotImplementedError
                return x @ self.weight.T
    '''), "cs336_basics/nn/layers.py", PROBLEM_IDS)
    assert '        raise NotImplementedError("implement Linear.forward (handout problem: linear)")\n' in starter
    assert "return x @ self.weight.T" not in starter
    # softmax is not in layers.py's table of STUB_PROBLEMS: the release refuses to ship a stub without a problem
    with pytest.raises(ReleaseError, match="no handout problem for the stub softmax"):
        name_stubs("def softmax(x):\n    raise NotImplementedError\n", "cs336_basics/nn/layers.py", PROBLEM_IDS)
    hook = name_stubs("def run_rope(d_k):\n    raise NotImplementedError\n", "tests/adapters.py", PROBLEM_IDS)
    assert 'raise NotImplementedError("implement run_rope (handout problem: rope)")' in hook


def test_staff_sections_are_cut_from_markdown_and_bad_markers_fail_with_file_and_line():
    text = "keep 1\n<!-- BEGIN STAFF -->\n### Staff results\n| a | b |\n<!-- END STAFF -->\nkeep 2\n"
    assert strip_staff_sections(text) == "keep 1\nkeep 2\n"
    for bad, message in [
        ("<!-- BEGIN STAFF -->\nx\n", "never closed"),
        ("x\n<!-- END STAFF -->\n", "without a matching"),
        ("<!-- BEGIN STAFF -->\n<!-- BEGIN STAFF -->\n<!-- END STAFF -->\n", "nested"),
        ("text <!-- BEGIN STAFF --> text\n", "alone on its line"),
    ]:
        with pytest.raises(ReleaseError, match=message):
            strip_staff_sections(bad, "handout.md")


def _tiny_source(root):
    """A staff tree with one solution file, a handout with a staff section and a staff-only script line."""
    (root / "cs336_basics").mkdir(parents=True)
    (root / "grading").mkdir()
    (root / "grading" / "problems.toml").write_text((REPO / "grading" / "problems.toml").read_text())
    (root / "cs336_basics" / "data.py").write_text(textwrap.dedent('''
        """Batches."""

        import heapq
        import math
        import os  # noqa: F401 (kept for students)


        def get_batch(n):
            """Sample n windows."""
            # BEGIN SOLUTION
            return heapq.nsmallest(n, range(10))
            # END SOLUTION


        def _helper():
            return math.pi
    '''))
    (root / "cs336_basics" / "speedy.py").write_text('"""A staff-only helper module."""\n\nimport math\n\n# BEGIN SOLUTION\ndef f():\n    return math.pi\n\n\n# END SOLUTION\n')
    (root / "handout.md").write_text("# Handout\n<!-- BEGIN STAFF -->\nstaff only\n<!-- END STAFF -->\nfor students\n")
    (root / "pyproject.toml").write_text('[project.scripts]\ncs336 = "a:b"\ncs336-staff = "c:d"  # staff-only\n')
    return root


def test_build_removes_unused_imports_staff_sections_and_staff_entry_point(tmp_path):
    source = _tiny_source(tmp_path / "repo")
    out = tmp_path / "out"
    build_starter(source, out)
    data = (out / "cs336_basics" / "data.py").read_text()
    assert "import heapq" not in data, "an import only the solution used must go"
    assert '"""Batches."""\n\nimport math\nimport os  # noqa: F401\n\n\ndef get_batch' in data, (
        "used and noqa imports stay (without the staff's reason), and no gap is left where heapq was"
    )
    assert not (out / "cs336_basics" / "speedy.py").exists(), "a module left with only a docstring and imports is left out"
    assert 'raise NotImplementedError("implement get_batch (handout problem: data_loading)")' in data
    assert (out / "handout.md").read_text() == "# Handout\nfor students\n"
    assert "cs336-staff" not in (out / "pyproject.toml").read_text()
    assert 'cs336 = "a:b"' in (out / "pyproject.toml").read_text()


# ---- the verifier's leftover checks: each fails on a planted leftover and passes on the real starter

CLEAN = textwrap.dedent('''
    """Batches of a token array."""

    import math


    def get_batch(n):
        """Sample n windows (see the handout)."""
        # Draw the starts uniformly.
        raise NotImplementedError("implement get_batch (handout problem: data_loading)")


    def scale():
        return math.pi
''')
STAFF_COPY = CLEAN.replace(
    '    raise NotImplementedError("implement get_batch (handout problem: data_loading)")\n',
    "    return _starts(n)\n\n\ndef _starts(n):\n    return list(range(n))\n",
)
assert "_starts" in STAFF_COPY
PLANTS = {
    "unused import": (("import math\n", "import math\nimport heapq\n"), "imported but unused"),
    "unused local": (("    # Draw the starts uniformly.\n", "    # Draw the starts uniformly.\n    starts = n - 1\n"), "assigned to but never used"),
    "stale name": (("Draw the starts uniformly.", "Draw the starts uniformly with _starts."), "names _starts, which the release stripped"),
    "staff word": (("Draw the starts uniformly.", "The staff copy draws the starts."), "says 'staff'"),
    "solution word": (("(see the handout)", "(see the solution)"), "says 'solution'"),
    "starter word": (("Draw the starts uniformly.", "The starter draws the starts."), "says 'starter'"),
    "unshipped module": (("(see the handout)", "(see speedy.py)"), "names speedy, which the release stripped"),
    "code after raise": (("(handout problem: data_loading)\")\n", "(handout problem: data_loading)\")\n    return []\n"), "code after `raise NotImplementedError`"),
    "bare raise": (("raise NotImplementedError(\"implement get_batch (handout problem: data_loading)\")", "raise NotImplementedError"), "needs a one-line message"),
    "unknown problem": (("handout problem: data_loading", "handout problem: batching"), "needs a one-line message"),
}


def _starter(root, code, readme="# Starter\nuv run pytest\n"):
    (root / "cs336_basics").mkdir(parents=True)
    (root / "cs336_basics" / "data.py").write_text(code)
    (root / "README.md").write_text(readme)
    return root


def _source(root):
    source = _starter(root, STAFF_COPY)
    (source / "cs336_basics" / "speedy.py").write_text("def f():\n    return 1\n")  # staff only: not in the starter
    return source


def test_leftover_checks_pass_on_a_clean_starter(tmp_path):
    source = _source(tmp_path / "source")
    assert leftover_errors(_starter(tmp_path / "starter", CLEAN), source, PROBLEM_IDS) == []


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_each_leftover_check_fails_on_its_planted_leftover(plant, tmp_path):
    (old, new), message = PLANTS[plant]
    assert old in CLEAN
    source = _source(tmp_path / "source")
    errors = leftover_errors(_starter(tmp_path / "starter", CLEAN.replace(old, new, 1)), source, PROBLEM_IDS)
    assert errors and all(e.startswith("cs336_basics/data.py:") for e in errors), errors
    assert any(message in e for e in errors), errors


def test_a_staff_command_or_marker_in_the_students_readme_or_handout_fails(tmp_path):
    starter = _starter(tmp_path / "starter", CLEAN, readme="# Starter\nuv run cs336-staff grade .\n")
    (starter / "handout.md").write_text("intro\n<!-- END STAFF -->\n")
    errors = leftover_errors(starter, None, PROBLEM_IDS)
    assert any(e.startswith("README.md:2: names the staff command") for e in errors), errors
    assert any(e.startswith("handout.md:2: a staff-section marker remains") for e in errors), errors


def test_a_problem_that_scores_in_the_starter_fails_the_release():
    from grading.grader import GradeResult
    from grading.scoring import ProblemScore, TestOutcome

    swiglu = next(p for p in load_problems() if p.id == "positionwise_feedforward")
    free = "tests/test_positionwise_feedforward.py::test_swiglu_parameter_shapes"
    failing = "tests/test_positionwise_feedforward.py::test_swiglu_matches_oracle"
    result = GradeResult(
        scores=[ProblemScore(swiglu, [TestOutcome(free, Fraction(1), True, ""), TestOutcome(failing, Fraction(1), False, "")])],
        test_map={free: {"problem": swiglu.id}, failing: {"problem": swiglu.id}},
        outcomes={swiglu.id: {"tests": {free: {"outcome": "passed"},
                                        failing: {"outcome": "failed", "exc_types": ["NotImplementedError"]}}}},
    )  # fmt: skip
    errors = starter_run_errors(result, [swiglu])
    assert any("give points before their code is written: ['positionwise_feedforward (1/2" in e for e in errors), errors
    assert any(free in e for e in errors), errors


@pytest.fixture(scope="module")
def built_starter(tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "starter"
    build_starter(REPO, out)
    yield out
    shutil.rmtree(out, ignore_errors=True)


def test_real_starter_has_no_leftover(built_starter):
    errors = leftover_errors(built_starter, REPO, PROBLEM_IDS)
    assert not errors, "leftovers in the starter:\n- " + "\n- ".join(errors)


def test_real_starter_stubs_each_name_a_problem_and_the_handout_has_no_staff_section(built_starter):
    stubs = [line.strip() for path in (built_starter / "cs336_basics").rglob("*.py")
             for line in path.read_text().splitlines() if "raise NotImplementedError" in line]  # fmt: skip
    assert len(stubs) > 40 and all("(handout problem: " in s for s in stubs), [s for s in stubs if "handout problem" not in s]
    handout = (built_starter / "handout.md").read_text()
    assert "Staff results" not in handout and "docs/experiments.py" not in handout and "tests/staff/" not in handout
    assert not (built_starter / "cs336_basics" / "fast").exists() and not (built_starter / "docs").exists()
