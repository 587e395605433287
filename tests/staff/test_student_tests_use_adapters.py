"""Staff: the student-facing tests reach student code only through tests/adapters.py (CONTRACT §1).

No `import cs336_basics` (or `from cs336_basics ...`, `importlib.import_module("cs336_basics...")`,
`__import__`) in tests/test_*.py, tests/scenarios.py, tests/common.py or tests/conftest.py, at any depth
of the file (module level, inside functions, under `if`). Checked on the syntax tree, so a docstring or
comment that mentions the package is fine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.staff

TESTS = Path(__file__).resolve().parents[1]
PACKAGE = "cs336_basics"


def student_facing_files(root: Path = TESTS) -> list[Path]:
    return sorted(root.glob("test_*.py")) + [root / name for name in ("scenarios.py", "common.py", "conftest.py")]


def _names_package(name: object) -> bool:
    return isinstance(name, str) and (name == PACKAGE or name.startswith(PACKAGE + "."))


def package_imports(source: str, filename: str = "<test>") -> list[str]:
    """'line N: <what>' for every place `source` imports cs336_basics."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names if _names_package(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _names_package(node.module):
            found.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in ("import_module", "__import__") and _names_package(node.args[0].value):
                found.append(f"line {node.lineno}: {called}({node.args[0].value!r})")
    return found


def test_student_facing_tests_never_import_the_student_package():
    files = student_facing_files()
    assert len(files) > 20 and all(f.is_file() for f in files), f"expected the student suite under {TESTS}"
    offenders = [f"{f.relative_to(TESTS.parent)} {hit}" for f in files for hit in package_imports(f.read_text(encoding="utf-8"), str(f))]
    assert not offenders, (
        "student-facing tests must reach student code only through tests/adapters.py hooks and tests/scenarios.py:\n  "
        + "\n  ".join(offenders)
    )


@pytest.mark.parametrize(
    "source",
    [
        "import cs336_basics\n",
        "import torch, cs336_basics.nn.layers as layers\n",
        "from cs336_basics.config import ModelConfig\n",
        "def test_x():\n    if True:\n        from cs336_basics import nn\n",
        "import importlib\nm = importlib.import_module('cs336_basics.tokenizer')\n",
        "m = __import__('cs336_basics')\n",
    ],
)
def test_a_planted_import_is_found(source):
    assert package_imports(source), f"the check misses: {source!r}"


def test_mentions_and_relative_or_other_imports_are_not_flagged():
    source = '"""Calls cs336_basics only through hooks."""\n# import cs336_basics\nfrom tests import adapters\nimport cs336_basics_extra\nfrom . import cs336_basics\n'
    assert package_imports(source) == []


def test_a_planted_import_in_a_copy_of_the_suite_fails_the_check(tmp_path):
    for f in student_facing_files():
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    planted = tmp_path / "test_linear.py"
    planted.write_text(planted.read_text(encoding="utf-8") + "\n\ndef test_peek():\n    from cs336_basics.nn.layers import Linear\n", encoding="utf-8")
    hits = {f.name: package_imports(f.read_text(encoding="utf-8")) for f in student_facing_files(tmp_path)}
    assert {name for name, h in hits.items() if h} == {"test_linear.py"}
