"""The registry, the test suite's problem markers and handout.md agree (grading/registry.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grading.registry import (
    RegistryError,
    handout_mismatches,
    load_problems,
    parse_handout_headings,
    parse_problems,
)

pytestmark = pytest.mark.staff

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def suite_map(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """{nodeid: {"problem", ...}} for the student suite (tests/ without tests/staff), collected by pytest."""
    out = tmp_path_factory.mktemp("collect") / "map.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "grading.pytest_plugin",
         f"--grading-collect={out}", "tests", "--ignore=tests/staff"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, f"the student suite does not collect:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(out.read_text())


def test_every_autograded_problem_has_at_least_one_test(suite_map):
    marked = {t["problem"] for t in suite_map.values()}
    missing = [p.id for p in load_problems() if p.autograded and p.id not in marked]
    assert not missing, f"autograded problems with no test carrying their marker: {missing}"


def test_every_student_test_is_marked_with_a_registered_problem(suite_map):
    # A test marked with a written problem is a practice check: it runs, but the grader does not score it.
    ids = {p.id for p in load_problems()}
    unmarked = [n for n, t in suite_map.items() if t["problem"] is None]
    assert not unmarked, f"tests without @pytest.mark.problem(...) (never graded): {unmarked[:10]}"
    unknown = [f"{n}: {t['problem']}" for n, t in suite_map.items() if t["problem"] not in ids]
    assert not unknown, f"tests marked with unregistered problems: {unknown[:10]}"


def test_handout_headings_match_the_registry_in_order():
    handout = REPO / "handout.md"
    assert handout.is_file(), "handout.md is missing: it must carry one '### Problem (<id>): <title> (<N> points)' per problem"
    headings = parse_handout_headings(handout.read_text(encoding="utf-8"))
    problems = load_problems()
    assert [h.id for h in headings] == [p.id for p in problems], handout_mismatches(problems, headings)
    assert not handout_mismatches(problems, headings)


SYNTHETIC_REGISTRY = """
[[problem]]
id = "linear"
title = "Implementing the linear module"
points = 1
kind = "autograded"

[[problem]]
id = "unicode1"
title = "Understanding Unicode"
points = 3
kind = "written"
"""


def test_handout_parser_reads_headings_and_finds_every_kind_of_mismatch():
    problems = parse_problems(SYNTHETIC_REGISTRY)
    good = (
        "# Title\n\n### Problem (linear): Implementing the linear module (1 point)\ntext\n"
        "```\n### Problem (ignored): inside a code block (9 points)\n```\n"
        "### Problem (unicode1): Understanding Unicode (3 points)\n"
    )
    headings = parse_handout_headings(good)
    assert [(h.id, h.title, h.points, h.line) for h in headings] == [
        ("linear", "Implementing the linear module", 1, 3),
        ("unicode1", "Understanding Unicode", 3, 8),
    ]
    assert handout_mismatches(problems, headings) == []

    swapped = parse_handout_headings(
        "### Problem (unicode1): Understanding Unicode (2 points)\n### Problem (linear): Linear (1 point)\n"
        "### Problem (extra): Not registered (1 point)\n"
    )
    issues = "\n".join(handout_mismatches(problems, swapped))
    assert "order" in issues and "worth 2 point(s); the registry says 3" in issues
    assert "title 'Linear'" in issues and "'extra' is not registered" in issues
    assert "'linear' is registered but has no handout heading" in "\n".join(handout_mismatches(problems, swapped[:1]))


@pytest.mark.parametrize(
    "line", ["### Problem (linear) Implementing the linear module (1 point)", "### Problem (linear): Linear (one point)"]
)
def test_handout_parser_rejects_a_malformed_problem_heading(line):
    with pytest.raises(RegistryError, match="line 2"):
        parse_handout_headings(f"intro\n{line}\n")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('points = 1', 'points = 0'), "positive integer"),
        (('kind = "written"', 'kind = "oral"'), "kind must be one of"),
        (('id = "unicode1"', 'id = "linear"'), "duplicate id"),
        (('id = "unicode1"', 'id = "Unicode 1"'), "id must match"),
        (('points = 3', 'points = 3\nweight = 2'), "expected the keys"),
        (('kind = "autograded"', 'kind = "autograded"\nextra = 1'), "extra must be true or false"),
        (('kind = "written"', 'kind = "written"\nextra = true'), "only an autograded problem can be an extra"),
    ],
)
def test_registry_validation_names_the_bad_entry(change, message):
    with pytest.raises(RegistryError, match=message):
        parse_problems(SYNTHETIC_REGISTRY.replace(*change))


def test_extra_problems_are_parsed_and_their_headings_must_say_so():
    problems = parse_problems(SYNTHETIC_REGISTRY.replace('kind = "autograded"', 'kind = "autograded"\nextra = true'))
    assert [p.extra for p in problems] == [True, False]
    marked = "### Problem (linear): Implementing the linear module (1 point, extra)\n### Problem (unicode1): Understanding Unicode (3 points)\n"
    headings = parse_handout_headings(marked)
    assert [h.extra for h in headings] == [True, False] and handout_mismatches(problems, headings) == []
    issues = handout_mismatches(problems, parse_handout_headings(marked.replace(", extra", "")))
    assert issues == ["handout line 1: linear heading is not marked extra; the registry says an extra"]


def test_repository_registry_is_valid():
    problems = load_problems()
    assert problems and any(p.autograded for p in problems)
