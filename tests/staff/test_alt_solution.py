"""The independent second solution (tests/staff/submissions/alt) scores full marks under the grader.

alt is written from the handout alone, in another layout than the reference (flat modules, other class
names) and with the legitimate choices the reference does not make: bytes-first vocabulary ids, AdamW in
torch.optim.AdamW's order, IndexError/TypeError on bad input, real-valued RoPE, einsum, masked_fill.
Graded like a student's submission (pristine starter + its cs336_basics/ and tests/adapters.py), every
autograded problem it implements must earn every point: a test that fails here either demands a
convention the handout leaves open or reaches past the adapters.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grading.grader import Limits, grade
from grading.registry import load_problems
from grading.release import build_starter
from grading.submission import read_submission

pytestmark = pytest.mark.staff

REPO = Path(__file__).resolve().parents[2]
ALT = Path(__file__).resolve().parent / "submissions" / "alt"

NOT_IMPLEMENTED: set[str] = set()
"""Autograded problems alt leaves out (none: it implements every official problem and every extra)."""

IMPLEMENTED = [p for p in load_problems() if p.autograded and p.id not in NOT_IMPLEMENTED]


@pytest.fixture(scope="module")
def alt_grade(tmp_path_factory: pytest.TempPathFactory):
    """One grading run of alt over the problems it implements, against a starter built from this tree."""
    starter = tmp_path_factory.mktemp("alt") / "starter"
    build_starter(REPO, starter)
    result = grade(read_submission(ALT), starter, IMPLEMENTED, Limits(jobs=2))
    assert result.error is None, f"the grader itself failed on alt: {result.error}"
    return {s.problem.id: s for s in result.scores}


@pytest.mark.parametrize("problem_id", [p.id for p in IMPLEMENTED])
def test_alt_solution_earns_full_marks(alt_grade, problem_id):
    score = alt_grade[problem_id]
    failing = [f"{t.nodeid}: {t.message.splitlines()[0] if t.message else '(no message)'}" for t in score.tests if not t.passed]
    assert score.tests, f"{problem_id}: no test of this problem ran against alt ({'; '.join(score.notes)})"
    full = score.earned == score.problem.points and not failing
    assert full, (
        f"alt earns {score.earned}/{score.problem.points} on {problem_id}; failing tests:\n  " + "\n  ".join(failing)
    )
