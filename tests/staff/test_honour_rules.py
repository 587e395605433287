"""The reference solution writes what students must write: no torch built-in versions of the assignment's
pieces anywhere in cs336_basics/ (those built-ins are the tests' oracles), except in the staff fast path
cs336_basics/fast/, which the starter leaves out and which may use any built-in (its equivalence tests in
test_fast_path.py compare it with the reference)."""

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.staff

PACKAGE = Path(__file__).resolve().parents[2] / "cs336_basics"
FAST_PATH = PACKAGE / "fast"  # staff-only: the honour rules bind student code, not the fast path

# Fully qualified names that must not be used (called, referenced or imported).
FORBIDDEN = {
    "torch.nn.Linear", "torch.nn.Bilinear", "torch.nn.functional.linear", "torch.nn.functional.bilinear",
    "torch.nn.Embedding", "torch.nn.functional.embedding",
    "torch.nn.RMSNorm", "torch.nn.functional.rms_norm", "torch.nn.LayerNorm", "torch.nn.functional.layer_norm",
    "torch.nn.SiLU", "torch.nn.functional.silu",
    "torch.nn.Softmax", "torch.nn.functional.softmax", "torch.softmax", "torch.special.softmax",
    "torch.nn.LogSoftmax", "torch.nn.functional.log_softmax", "torch.log_softmax", "torch.special.log_softmax",
    "torch.nn.functional.scaled_dot_product_attention", "torch.nn.MultiheadAttention",
    "torch.nn.functional.multi_head_attention_forward", "torch.nn.Transformer", "torch.nn.TransformerEncoderLayer",
    "torch.nn.TransformerDecoderLayer",
    "torch.nn.functional.cross_entropy", "torch.nn.CrossEntropyLoss", "torch.nn.functional.nll_loss", "torch.nn.NLLLoss",
    "torch.optim.AdamW", "torch.optim.Adam", "torch.optim.adamw.AdamW", "torch.optim.adam.Adam",
    "torch.optim.lr_scheduler.CosineAnnealingLR", "torch.optim.lr_scheduler.CosineAnnealingWarmRestarts",
    "torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad.clip_grad_norm_", "torch.nn.utils.get_total_norm",
}
# Method names that are forbidden whatever they are called on (tensor methods such as x.softmax(-1)).
FORBIDDEN_ATTRIBUTES = {"softmax", "log_softmax", "scaled_dot_product_attention", "rms_norm", "clip_grad_norm_"}


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> fully qualified module or object, from the file's imports."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                names[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names


def _dotted(node: ast.AST) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def violations(source: str, filename: str) -> list[str]:
    tree = ast.parse(source, filename)
    aliases = _aliases(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                if f"{node.module}.{a.name}" in FORBIDDEN:
                    found.append(f"{filename}:{node.lineno}: imports {node.module}.{a.name}")
        elif isinstance(node, ast.Attribute):
            parts = _dotted(node)
            qualified = None
            if parts and parts[0] in aliases:
                qualified = ".".join([aliases[parts[0]], *parts[1:]])
            if qualified in FORBIDDEN:
                found.append(f"{filename}:{node.lineno}: uses {qualified}")
            elif node.attr in FORBIDDEN_ATTRIBUTES and not (qualified or "").startswith("cs336_basics."):
                # x.softmax(-1) on a tensor; our own functional.softmax reached through a module is fine.
                found.append(f"{filename}:{node.lineno}: uses .{node.attr}")
        elif isinstance(node, ast.Name) and aliases.get(node.id) in FORBIDDEN:
            found.append(f"{filename}:{node.lineno}: uses {aliases[node.id]} (imported as {node.id})")
    return sorted(set(found))


def test_scanner_catches_each_kind_of_use():
    sample = (
        "import torch\nimport torch.nn.functional as F\nfrom torch import nn\nfrom torch.optim import AdamW\n"
        "a = nn.Linear(2, 3)\nb = F.scaled_dot_product_attention(q, k, v)\nc = x.softmax(-1)\n"
        "d = torch.nn.utils.clip_grad_norm_(p, 1.0)\ne = torch.softmax(x, 0)\n"
    )
    found = "\n".join(violations(sample, "sample.py"))
    for expected in (":4: imports torch.optim.AdamW", ":5: uses torch.nn.Linear", ":6: uses torch.nn.functional.scaled",
                     ":7: uses .softmax", ":8: uses torch.nn.utils.clip_grad_norm_", ":9: uses torch.softmax"):
        assert expected in found, f"scanner missed {expected!r}; found:\n{found}"
    allowed = (
        "import torch\nfrom cs336_basics.nn.layers import Linear\nfrom cs336_basics.nn import functional\n"
        "y = Linear(2, 3)\nz = torch.sigmoid(x)\np = functional.softmax(z, -1)\n"
    )
    assert violations(allowed, "ok.py") == [], violations(allowed, "ok.py")


def reference_files() -> list[Path]:
    """Every Python file of cs336_basics/ outside the fast path."""
    return [p for p in sorted(PACKAGE.rglob("*.py")) if not p.is_relative_to(FAST_PATH)]


def test_the_scan_skips_the_fast_path_and_only_it():
    scanned = reference_files()
    assert not [p for p in scanned if p.is_relative_to(FAST_PATH)]
    for module in ("nn/functional.py", "nn/layers.py", "nn/attention.py", "nn/loss.py", "optim/adamw.py", "optim/clipping.py"):
        assert PACKAGE / module in scanned, f"the honour-rule scan misses cs336_basics/{module}"
    # the fast path does use built-ins, so skipping it is what keeps this scan green
    assert any(violations(p.read_text(), p.name) for p in sorted(FAST_PATH.rglob("*.py")))


def test_solution_does_not_use_torch_builtins_that_students_must_write():
    found = []
    for path in reference_files():
        found += violations(path.read_text(), str(path.relative_to(PACKAGE.parent)))
    assert not found, "cs336_basics/ uses torch built-ins the assignment asks students to write:\n" + "\n".join(found)
