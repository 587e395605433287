"""Suite-wide pytest set-up: every `problem` marker must name a problem of grading/problems.toml."""

from __future__ import annotations

import pytest

from grading.registry import REGISTRY_PATH, load_problems

REGISTRY = REGISTRY_PATH


def registered_problem_ids() -> set[str]:
    return {p.id for p in load_problems()}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    known = registered_problem_ids()
    bad = []
    for item in items:
        for marker in item.iter_markers(name="problem"):
            if len(marker.args) != 1 or marker.kwargs or marker.args[0] not in known:
                bad.append(f"{item.nodeid}: problem{marker.args!r}")
    if bad:
        raise pytest.UsageError(
            "tests marked with a problem id that grading/problems.toml does not register:\n  " + "\n  ".join(bad)
        )
