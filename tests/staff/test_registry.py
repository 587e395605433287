"""The problem registry is well formed (staff: the student starter ships the registry but not this)."""

import tomllib

import pytest

from tests.conftest import REGISTRY

pytestmark = pytest.mark.staff


def test_registry_ids_are_unique_and_points_positive():
    problems = tomllib.loads(REGISTRY.read_text())["problem"]
    ids = [p["id"] for p in problems]
    assert len(ids) == len(set(ids)), f"duplicate problem ids: {sorted(i for i in ids if ids.count(i) > 1)}"
    for p in problems:
        assert set(p) == {"id", "title", "points", "kind"}, f"{p['id']}: unexpected keys {sorted(p)}"
        assert p["kind"] in {"autograded", "written"}, f"{p['id']}: kind {p['kind']!r}"
        assert isinstance(p["points"], int) and p["points"] > 0, f"{p['id']}: points {p['points']!r}"
