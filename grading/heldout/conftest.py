"""Held-out tests: the `heldout_rng` fixture and the `heldout` marker.

Every test here is marked `@pytest.mark.problem(id)` and `@pytest.mark.heldout`, draws its shapes, seeds
and values from `heldout_rng`, computes the expected values with the staff oracles (tests/oracles/, torch
built-ins, tiktoken) and reaches the student's code only through tests/adapters.py hooks and
tests/scenarios.py functions, with plain data.

The seed: CS336_HELDOUT_SEED when set (the grader sets a fresh one per grading run, so the inputs are
never the same twice and never stored anywhere a student can read), else FIXED_SEED (CI and
`uv run pytest grading/heldout` are reproducible). Each test gets its own generator, seeded from
(seed, CRC-32 of the test's node id): a test's inputs do not depend on which other tests run or in what
order, and re-running one failing test with the same seed reproduces it exactly.
"""

from __future__ import annotations

import os
import zlib

import numpy as np
import pytest

SEED_VARIABLE = "CS336_HELDOUT_SEED"
FIXED_SEED = 20250611
MARKER = "heldout: a held-out test (grading/heldout/): fresh inputs per grading run from the heldout_rng fixture"


def heldout_seed() -> int:
    """The run's seed: CS336_HELDOUT_SEED (a non-negative integer) when set, else FIXED_SEED."""
    raw = os.environ.get(SEED_VARIABLE, "").strip()
    if not raw:
        return FIXED_SEED
    try:
        seed = int(raw, 0)
    except ValueError:
        raise pytest.UsageError(f"{SEED_VARIABLE}={raw!r} is not an integer") from None
    if seed < 0:
        raise pytest.UsageError(f"{SEED_VARIABLE}={raw!r} must be a non-negative integer")
    return seed


def rng_for(seed: int, nodeid: str) -> np.random.Generator:
    """The generator of one test: PCG64 seeded from (seed, CRC-32 of its node id), so `test_x[a]` and
    `test_x[b]` draw different inputs and each is reproducible on its own."""
    return np.random.default_rng([seed, zlib.crc32(nodeid.encode("utf-8"))])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


def pytest_report_header(config: pytest.Config) -> str:
    return f"held-out seed: {heldout_seed()} ({SEED_VARIABLE} {'set' if os.environ.get(SEED_VARIABLE) else 'unset: fixed seed'})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    bad = []
    for item in items:
        if not str(item.path).startswith(here + os.sep):
            continue
        problems = list(item.iter_markers(name="problem"))
        if len(problems) != 1 or item.get_closest_marker("heldout") is None or "heldout_rng" not in item.fixturenames:
            bad.append(item.nodeid)
    if bad:
        raise pytest.UsageError(
            "every test in grading/heldout/ needs exactly one problem marker, the heldout marker and the heldout_rng "
            "fixture:\n  " + "\n  ".join(bad)
        )


@pytest.fixture
def heldout_rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A numpy Generator for this test's fresh inputs (see the module docstring for the seed)."""
    return rng_for(heldout_seed(), request.node.nodeid)
