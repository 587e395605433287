"""The reference solution writes what students must write: no torch built-in versions of the assignment's
pieces anywhere in cs336_basics/ (those built-ins are the tests' oracles). The list of built-ins and the
scanner are the grader's honour-rules report (grading/honour.py); its own tests are test_honour_report.py."""

from pathlib import Path

import pytest

from grading.honour import scan_source

pytestmark = pytest.mark.staff

PACKAGE = Path(__file__).resolve().parents[2] / "cs336_basics"


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


def test_solution_does_not_use_torch_builtins_that_students_must_write():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += scan_source(path.read_text(), str(path.relative_to(PACKAGE.parent)))
    assert not found, "cs336_basics/ uses torch built-ins the assignment asks students to write:\n" + "\n".join(
        map(str, found)
    )
