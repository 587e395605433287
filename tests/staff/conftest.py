"""Shared fixtures of the staff tests of the grading tools (grader, release, autograder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grading.grader import Limits, default_jobs
from grading.release import build_starter
from grading.release_verify import Verification, verify_starter

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def release_check(tmp_path_factory: pytest.TempPathFactory) -> Verification:
    """The starter built from this repository and fully verified, once per session.

    Its round trip (the solution graded against the starter) is also the grader's one full reference
    run, and its starter run the grader's run on the starter: the grader tests read both.
    """
    starter = tmp_path_factory.mktemp("release") / "starter"
    build_starter(REPO, starter)
    return verify_starter(starter, REPO, Limits(jobs=default_jobs()), install_deps=True)


# The release check builds a starter, installs it and grades the reference and the starter (minutes on a
# busy 2-core machine): the suite-wide 120 s hang guard would cut it off, so its users get a longer one.
RELEASE_CHECK_TIMEOUT_S = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "release_check" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(RELEASE_CHECK_TIMEOUT_S))
