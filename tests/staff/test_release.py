"""The starter release: solution stripping, staff-only files, the README, and the full verification."""

from __future__ import annotations

import textwrap

import pytest

from grading.cli import main as cs336_staff
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
from tests.staff.conftest import REPO

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
