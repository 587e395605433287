"""The held-out tests (grading/heldout/, issue #16): their points, their seed, their coverage and their boundary.

Staff-only: the starter ships neither grading/heldout/ nor this file.
"""

from __future__ import annotations

import ast
from fractions import Fraction
from pathlib import Path

import pytest

from grading.heldout.conftest import FIXED_SEED, SEED_VARIABLE, heldout_seed, rng_for
from grading.registry import load_problems
from grading.scoring import split_points

pytestmark = pytest.mark.staff

REPO = Path(__file__).resolve().parents[2]
HELDOUT = REPO / "grading" / "heldout"
# Every numerically graded autograded problem has held-out cases (issue #16, item 2).
NUMERIC_PROBLEMS = {
    "train_bpe", "tokenizer", "linear", "embedding", "rmsnorm", "positionwise_feedforward", "softmax",
    "scaled_dot_product_attention", "multihead_self_attention", "transformer_block", "transformer_lm",
    "cross_entropy", "adamw", "learning_rate_schedule", "gradient_clipping", "data_loading", "checkpointing",
    "rope", "sinusoidal_pe", "learned_pe",
    # extras
    "attention_extras", "lm_ablations", "kv_cache", "tokenizer_files", "train_bpe_parallel", "module_init",
}
# What a held-out module may import from the repository: hooks, scenarios, oracles, the assertion helper,
# and its own helpers. Never the student package, never the public fixtures.
ALLOWED_PREFIXES = ("tests.adapters", "tests.scenarios", "tests.oracles", "tests.numerics", "tests.common",
                    "tests.test_tokenizer", "tests.test_adamw", "grading.heldout")
FORBIDDEN_PREFIXES = ("cs336_basics", "tests.fixture_io", "tests.fixtures")


# ---- points ------------------------------------------------------------------------------------


def test_heldout_tests_get_two_thirds_of_a_problems_points():
    shares = split_points(3, ["tests/t.py::f[a]", "tests/t.py::f[b]", "grading/heldout/t.py::h"])
    assert shares == {
        "tests/t.py::f[a]": Fraction(1, 2), "tests/t.py::f[b]": Fraction(1, 2), "grading/heldout/t.py::h": Fraction(2)
    }
    # within the held-out part: equal per function, then per parametrised case
    shares = split_points(15, ["tests/t.py::f", "grading/heldout/t.py::h[x]", "grading/heldout/t.py::h[y]", "grading/heldout/t.py::k"])
    assert shares["tests/t.py::f"] == 5
    assert (shares["grading/heldout/t.py::h[x]"], shares["grading/heldout/t.py::k"]) == (Fraction(5, 2), 5)


def test_a_problem_with_one_kind_of_tests_gives_it_every_point():
    public = split_points(3, ["tests/t.py::f[a]", "tests/t.py::f[b]", "tests/t.py::g"])
    assert public == {"tests/t.py::f[a]": Fraction(3, 4), "tests/t.py::f[b]": Fraction(3, 4), "tests/t.py::g": Fraction(3, 2)}
    heldout = split_points(2, ["grading/heldout/t.py::h", "grading/heldout/t.py::k"])
    assert heldout == {"grading/heldout/t.py::h": 1, "grading/heldout/t.py::k": 1}


@pytest.mark.parametrize("points, public, heldout", [(1, 3, 2), (15, 7, 4), (5, 11, 1), (2, 1, 9)])
def test_split_with_heldout_tests_adds_up_exactly(points, public, heldout):
    ids = [f"tests/t.py::f{i}" for i in range(public)] + [f"grading/heldout/t.py::h{i}" for i in range(heldout)]
    shares = split_points(points, ids)
    assert sum(shares.values()) == points
    assert sum(v for k, v in shares.items() if k.startswith("grading/heldout/")) == Fraction(2, 3) * points


# ---- the seed ----------------------------------------------------------------------------------


def test_seed_comes_from_the_environment_else_the_fixed_seed(monkeypatch):
    monkeypatch.delenv(SEED_VARIABLE, raising=False)
    assert heldout_seed() == FIXED_SEED
    monkeypatch.setenv(SEED_VARIABLE, "12345")
    assert heldout_seed() == 12345
    for bad in ("abc", "-3", "1.5"):
        monkeypatch.setenv(SEED_VARIABLE, bad)
        with pytest.raises(pytest.UsageError, match=SEED_VARIABLE):
            heldout_seed()


def test_each_test_and_each_seed_draws_its_own_inputs_reproducibly():
    a, b = "grading/heldout/test_x.py::test_y[a]", "grading/heldout/test_x.py::test_y[b]"
    draw = lambda seed, nodeid: rng_for(seed, nodeid).integers(0, 2**62, size=4).tolist()  # noqa: E731
    assert draw(1, a) == draw(1, a), "the same seed and test must give the same inputs (a failure is reproducible)"
    assert draw(1, a) != draw(2, a), "another seed must give other inputs"
    assert draw(1, a) != draw(1, b), "two parametrised cases must not share their inputs"


# ---- coverage and boundary ---------------------------------------------------------------------


def _modules() -> dict[str, ast.Module]:
    return {p.name: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(HELDOUT.glob("*.py"))}


def _problem_ids(tree: ast.Module) -> set[str]:
    ids = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "problem"
            and node.args and isinstance(node.args[0], ast.Constant)
        ):
            ids.add(node.args[0].value)
    return ids


def test_every_numerically_graded_problem_has_heldout_tests():
    autograded = {p.id for p in load_problems() if p.kind == "autograded"}
    covered = set().union(*(_problem_ids(t) for name, t in _modules().items() if name.startswith("test_")))
    missing = sorted((NUMERIC_PROBLEMS & autograded) - covered)
    assert not missing, f"autograded problems without held-out tests in grading/heldout/: {missing}"
    assert covered <= autograded, f"held-out tests marked with unknown problems: {sorted(covered - autograded)}"


def test_heldout_tests_reach_student_code_only_through_hooks_and_scenarios():
    bad = []
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for module in names:
                if module.startswith(FORBIDDEN_PREFIXES) or (
                    module.startswith(("tests", "grading", "cs336_basics")) and not module.startswith(ALLOWED_PREFIXES)
                ):
                    bad.append(f"{name}: imports {module}")
    assert not bad, "held-out modules may import only hooks, scenarios, oracles and their helpers:\n  " + "\n  ".join(bad)


def test_heldout_tests_never_read_the_public_fixtures():
    for name, tree in _modules().items():
        strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        assert not any(".npz" in s or "fixtures/" in s for s in strings), (
            f"{name} mentions the public fixtures: held-out inputs are drawn fresh from heldout_rng"
        )
