"""Staff: the mutant catalogue fits the current solution, and its fast CI sample is killed.

The whole catalogue runs on demand (`uv run python -m grading.mutants`, a few minutes); here the
structure of every entry is checked (cheap) and the sample marked `ci = true` is graded (about half a
minute), so a solution change that makes a patch stale, or a test change that lets a sample bug through,
fails CI.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from grading.mutants.catalogue import (
    CatalogueError,
    Hunk,
    Mutant,
    apply_mutant,
    check_catalogue,
    load_catalogue,
    parse_catalogue,
)
from grading.mutants.run import judge, run_mutants
from grading.registry import autograded_problems

pytestmark = pytest.mark.staff

ROOT = Path(__file__).resolve().parents[2]
MIN_MUTANTS = 40
CI_SAMPLE_MAX = 12  # keeps the sample run under a minute on a busy 2-core machine


def test_every_mutant_applies_exactly_once_and_names_an_autograded_problem():
    issues = check_catalogue(load_catalogue(), ROOT, {p.id for p in autograded_problems()})
    assert not issues, "the mutant catalogue does not fit the solution:\n" + "\n".join(issues)


def test_catalogue_covers_every_autograded_problem():
    mutants = load_catalogue().mutants
    assert len(mutants) >= MIN_MUTANTS, f"the catalogue has {len(mutants)} mutants; keep at least {MIN_MUTANTS}"
    per_problem = Counter(m.problem for m in mutants)
    missing = [p.id for p in autograded_problems() if per_problem[p.id] == 0]
    assert not missing, f"autograded problems with no mutant: {missing}"


def test_ci_sample_is_small_and_spans_problems():
    sample = load_catalogue().select(sample=True)
    assert 4 <= len(sample) <= CI_SAMPLE_MAX, f"the CI sample has {len(sample)} mutants; keep 4..{CI_SAMPLE_MAX}"
    problems = Counter(m.problem for m in sample if not m.control)
    assert max(problems.values()) == 1, f"one CI mutant per problem, to spread the sample: {problems}"
    assert any(m.control for m in sample), "the CI sample must hold a control, so a test that rejects a legitimate variant fails CI"


def test_controls_are_the_legitimate_variants_the_contract_names():
    controls = {m.id for m in load_catalogue().mutants if m.control}
    assert {"train_bpe.control_bytes_first_vocab", "adamw.control_torch_order_decay_first",
            "input_validation.control_index_error_on_bad_ids"} <= controls, f"controls: {sorted(controls)}"  # fmt: skip


def test_a_stale_patch_fails_loudly_naming_the_mutant():
    mutant = Mutant("x.stale", "linear", "d", "cs336_basics/x.py", (Hunk("a + b", "a - b"),))
    assert apply_mutant(mutant, "return a + b\n") == "return a - b\n"
    with pytest.raises(CatalogueError, match=r"x\.stale.*does not occur"):
        apply_mutant(mutant, "return b + a\n")
    with pytest.raises(CatalogueError, match="occurs 2 times"):
        apply_mutant(mutant, "a + b; a + b\n")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[[mutant]]\nid = 'a'\n", "expected the keys"),
        ("[[mutant]]\nid='a'\nproblem='p'\ndescription='d'\nfile='/abs.py'\nfind='x'\nreplace='y'\n", "relative POSIX path"),
        ("[[mutant]]\nid='a'\nproblem='p'\ndescription='d'\nfile='f.py'\nfind='x'\nreplace='x'\n", "differs from `find`"),
        ("[[mutant]]\nid='a'\nproblem='p'\ndescription='d'\nfile='f.py'\nfind='x'\nreplace='y'\n" * 2, "duplicate id"),
        ("[[mutant]]\nid='a'\nproblem='p'\ndescription='d'\nfile='f.py'\nfind='x'\nreplace='y'\ncontrol=1\n", "`control` must be true or false"),
    ],
)
def test_malformed_catalogue_entries_are_rejected(text, error):
    with pytest.raises(CatalogueError, match=error):
        parse_catalogue(text)


def _outcome(problem: str, **tests: dict) -> dict:
    return {"problems": {problem: {"tests": tests}}}


def test_judge_counts_only_ordinary_failures_as_kills():
    m = Mutant("p.bug", "p", "d", "cs336_basics/x.py", (Hunk("a", "b"),))
    ok = {"outcome": "passed", "message": "", "exc_types": []}
    assertion = {"outcome": "failed", "message": "AssertionError: y must be x shifted\nassert False",
                 "exc_types": ["AssertionError"]}  # fmt: skip
    error = {"outcome": "failed", "message": "ValueError: bad shape", "exc_types": ["ValueError"]}
    timeout = {"outcome": "failed", "message": "timed out: the test ran longer than 60 s", "exc_types": ["Failed"]}
    crash = {"outcome": "failed", "message": "crashed: the test process died with SIGSEGV", "exc_types": []}

    v = judge(m, _outcome("p", t1=ok, t2=timeout, t3=assertion, t4=error), 1.0)
    assert (v.status, v.test, v.how, v.failing, v.total) == ("killed", "t3", "assertion", 3, 4)
    assert v.message == "AssertionError: y must be x shifted" and not v.bare_message
    assert judge(m, _outcome("p", t1=error), 1.0).how == "error: ValueError"
    assert judge(m, _outcome("p", t1=ok), 1.0).status == "survived"
    assert (judge(m, _outcome("p", t1=timeout, t2=crash), 1.0).status, judge(m, _outcome("p", t1=timeout), 1.0).how) == (
        "unclear",
        "timeout",
    )
    assert judge(m, {"error": "RuntimeError: collecting failed"}, 1.0).how == "grader error"
    control = Mutant("p.ok", "p", "d", "cs336_basics/x.py", (Hunk("a", "b"),), control=True)
    assert judge(control, _outcome("p", t1=ok), 1.0).as_expected and not judge(control, _outcome("p", t1=assertion), 1.0).as_expected
    assert judge(m, _outcome("p", t1=assertion), 1.0).as_expected and not judge(m, _outcome("p", t1=ok), 1.0).as_expected
    bare = {"outcome": "failed", "message": "assert 3 == 4", "exc_types": ["AssertionError"]}
    assert judge(m, _outcome("p", t1=bare), 1.0).bare_message


def test_a_worker_that_dies_leaves_its_mutants_unclear_never_killed():
    mutants = load_catalogue().select(sample=True)[:2]
    report = run_mutants(mutants, ROOT, jobs=1, python="/bin/false")
    assert [(v.status, v.how) for v in report.verdicts] == [("unclear", "grader error")] * 2
    assert "worker exited (1)" in report.verdicts[0].message
    assert report.baseline and not report.ok, "a baseline that never ran must not pass"


def test_report_counts_kills_and_control_survivals_apart():
    from grading.mutants.run import Report, Verdict

    report = Report(verdicts=[Verdict("a", "p", "killed"), Verdict("b", "p", "survived"),
                              Verdict("c", "p", "survived", control=True), Verdict("d", "p", "killed", control=True)],
                    baseline=[])  # fmt: skip
    assert (report.killed, report.kill_rate(), report.controls_survived, report.control_survival_rate()) == (1, 50.0, 1, 50.0)
    assert not report.ok
    assert Report(verdicts=[Verdict("a", "p", "killed"), Verdict("c", "p", "survived", control=True)], baseline=[]).ok


def test_ci_sample_of_mutants_is_killed_by_their_own_problems_tests():
    sample = load_catalogue().select(sample=True)
    report = run_mutants(sample, ROOT, jobs=1, baseline=False)
    lines = [f"{v.status} {v.id}{' (control)' if v.control else ''}: {v.how} {v.test} {v.message}" for v in report.verdicts]
    assert [v.id for v in report.verdicts] == [m.id for m in sample], "every sample mutant must get a verdict"
    assert report.ok, (
        "a CI mutant was not killed (strengthen the test, never weaken the mutant), or a control (a legitimate "
        "variant) was rejected (the test demands too much):\n" + "\n".join(lines)
    )
    bare = [v.id for v in report.mutants if v.bare_message]
    assert not bare, f"killed without a message a student can act on: {bare}"
