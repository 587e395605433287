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
        assert {"id", "title", "points", "kind"} <= set(p) <= {"id", "title", "points", "kind", "extra"}, (
            f"{p['id']}: unexpected keys {sorted(p)}"
        )
        assert p.get("extra", False) in (True, False), f"{p['id']}: extra {p.get('extra')!r}"
        assert not p.get("extra") or p["kind"] == "autograded", f"{p['id']}: a written problem cannot be an extra"
        assert p["kind"] in {"autograded", "written"}, f"{p['id']}: kind {p['kind']!r}"
        assert isinstance(p["points"], int) and p["points"] > 0, f"{p['id']}: points {p['points']!r}"


def test_the_extras_are_exactly_our_additions():
    extras = {p["id"] for p in tomllib.loads(REGISTRY.read_text())["problem"] if p.get("extra")}
    assert extras == {
        "sinusoidal_pe", "learned_pe", "attention_extras", "lm_ablations", "module_init", "kv_cache",
        "tokenizer_files", "train_bpe_parallel", "input_validation",
    }, f"extras: {sorted(extras)}"  # fmt: skip
