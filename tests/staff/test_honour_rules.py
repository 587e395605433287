"""The reference solution writes what students must write: no torch built-in versions of the assignment's
pieces anywhere in cs336_basics/ (those built-ins are the tests' oracles), except in the staff fast path
cs336_basics/fast/, which the starter leaves out and which may use any built-in (test_fast_path.py
compares it with the reference). The list of built-ins and the scanner are the grader's honour-rules
report (grading/honour.py); its own tests are test_honour_report.py."""

from pathlib import Path

import pytest

from grading.honour import scan_source

pytestmark = pytest.mark.staff

PACKAGE = Path(__file__).resolve().parents[2] / "cs336_basics"
FAST_PATH = PACKAGE / "fast"  # staff-only: the honour rules bind student code, not the fast path


def test_scanner_catches_each_kind_of_use():
    sample = (
        "import torch\nimport torch.nn.functional as F\nfrom torch import nn\nfrom torch.optim import AdamW\n"
        "a = nn.Linear(2, 3)\nb = F.scaled_dot_product_attention(q, k, v)\nc = x.softmax(-1)\n"
        "d = torch.nn.utils.clip_grad_norm_(p, 1.0)\ne = torch.softmax(x, 0)\n"
    )
    found = "\n".join(map(str, scan_source(sample, "sample.py")))
    for expected in ("sample.py:4 (module level) uses torch.optim.AdamW", ":5 (module level) uses torch.nn.Linear",
                     ":6 (module level) uses torch.nn.functional.scaled", ":7 (module level) uses .softmax",
                     ":8 (module level) uses torch.nn.utils.clip_grad_norm_", ":9 (module level) uses torch.softmax"):
        assert expected in found, f"scanner missed {expected!r}; found:\n{found}"
    allowed = (
        "import torch\nfrom cs336_basics.nn.layers import Linear\nfrom cs336_basics.nn import functional\n"
        "y = Linear(2, 3)\nz = torch.sigmoid(x)\np = functional.softmax(z, -1)\n"
    )
    assert scan_source(allowed, "ok.py") == [], scan_source(allowed, "ok.py")


def reference_files() -> list[Path]:
    """Every Python file of cs336_basics/ outside the fast path."""
    return [p for p in sorted(PACKAGE.rglob("*.py")) if not p.is_relative_to(FAST_PATH)]


def test_the_scan_skips_the_fast_path_and_only_it():
    scanned = reference_files()
    assert not [p for p in scanned if p.is_relative_to(FAST_PATH)]
    for module in ("nn/functional.py", "nn/layers.py", "nn/attention.py", "nn/loss.py", "optim/adamw.py", "optim/clipping.py"):
        assert PACKAGE / module in scanned, f"the honour-rule scan misses cs336_basics/{module}"
    # the fast path does use built-ins, so skipping it is what keeps this scan green
    assert any(scan_source(p.read_text(), p.name) for p in sorted(FAST_PATH.rglob("*.py")))


def test_solution_does_not_use_torch_builtins_that_students_must_write():
    found = []
    for path in reference_files():
        found += scan_source(path.read_text(), str(path.relative_to(PACKAGE.parent)))
    assert not found, "cs336_basics/ uses torch built-ins the assignment asks students to write:\n" + "\n".join(
        map(str, found)
    )
