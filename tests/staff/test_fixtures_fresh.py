"""The committed reference fixtures are exactly what tests/make_fixtures.py regenerates from the oracles."""

import pytest

from tests.make_fixtures import all_builders, stale_fixtures

pytestmark = pytest.mark.staff


def test_committed_fixtures_equal_a_fresh_regeneration():
    stale = stale_fixtures()
    assert not stale, (
        f"fixtures {stale} differ from what the oracles produce now: if the oracle change is intended, run "
        "`uv run python -m tests.make_fixtures` and commit tests/fixtures/"
    )


def test_every_committed_fixture_has_an_oracle():
    from tests.fixture_io import FIXTURES

    orphans = sorted(p.stem for p in FIXTURES.glob("*.npz") if p.stem not in all_builders())
    assert not orphans, f"fixtures without a builder in tests/oracles/: {orphans} (delete them or restore the builder)"
