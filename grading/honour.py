"""The honour-rules report: which torch built-ins that students must write themselves a submission uses.

    scan_submission(submission, pristine) -> [Finding]   (static: the code is parsed, never run)
    attach_notes(result, submission, pristine)           (one visible note per flagged problem)

The handout's Honour rules list the layers and functions students write (nn.Linear, F.softmax,
torch.optim.AdamW, ...): they are the tests' oracles, so a submission that calls them tests the oracle
against itself and still passes. The grader cannot tell a legitimate use from a shortcut, so nothing
is deducted: each use becomes a note on the problem the built-in belongs to, and staff decide.

The scan walks the syntax tree of every graded Python file (cs336_basics/** and tests/adapters.py) and
resolves each name through the file's imports, so aliases are caught (`import torch.nn.functional as F;
F.softmax`, `from torch.nn import Linear as L`, `from torch.nn.functional import *`), while comments,
strings and the submission's own functions of the same name are not flagged. Files byte-identical to
the pristine starter's (the provided training code) are the staff's, not the student's, and are skipped.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

# Fully qualified built-in -> the problem (grading/problems.toml id) that asks students to write it.
FORBIDDEN: dict[str, str] = {
    **dict.fromkeys(["torch.nn.Linear", "torch.nn.Bilinear", "torch.nn.functional.linear",
                     "torch.nn.functional.bilinear"], "linear"),
    **dict.fromkeys(["torch.nn.Embedding", "torch.nn.functional.embedding"], "embedding"),
    **dict.fromkeys(["torch.nn.RMSNorm", "torch.nn.functional.rms_norm", "torch.nn.LayerNorm",
                     "torch.nn.functional.layer_norm"], "rmsnorm"),
    **dict.fromkeys(["torch.nn.SiLU", "torch.nn.functional.silu"], "positionwise_feedforward"),
    **dict.fromkeys(["torch.nn.Softmax", "torch.nn.functional.softmax", "torch.softmax", "torch.special.softmax"],
                    "softmax"),
    **dict.fromkeys(["torch.nn.functional.scaled_dot_product_attention"], "scaled_dot_product_attention"),
    **dict.fromkeys(["torch.nn.MultiheadAttention", "torch.nn.functional.multi_head_attention_forward"],
                    "multihead_self_attention"),
    **dict.fromkeys(["torch.nn.Transformer", "torch.nn.TransformerEncoderLayer", "torch.nn.TransformerDecoderLayer",
                     "torch.nn.TransformerEncoder", "torch.nn.TransformerDecoder"], "transformer_block"),
    **dict.fromkeys(["torch.nn.functional.cross_entropy", "torch.nn.CrossEntropyLoss", "torch.nn.functional.nll_loss",
                     "torch.nn.NLLLoss", "torch.nn.LogSoftmax", "torch.nn.functional.log_softmax", "torch.log_softmax",
                     "torch.special.log_softmax"], "cross_entropy"),
    **dict.fromkeys(["torch.optim.AdamW", "torch.optim.Adam", "torch.optim.adamw.AdamW", "torch.optim.adam.Adam"],
                    "adamw"),
    **dict.fromkeys(["torch.optim.lr_scheduler.CosineAnnealingLR", "torch.optim.lr_scheduler.CosineAnnealingWarmRestarts",
                     "torch.optim.lr_scheduler.LambdaLR"], "learning_rate_schedule"),
    **dict.fromkeys(["torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad.clip_grad_norm_",
                     "torch.nn.utils.get_total_norm"], "gradient_clipping"),
}
# Method names forbidden whatever they are called on (tensor methods such as x.softmax(-1)) -> problem.
FORBIDDEN_ATTRIBUTES: dict[str, str] = {
    "softmax": "softmax", "log_softmax": "cross_entropy", "scaled_dot_product_attention": "scaled_dot_product_attention",
    "rms_norm": "rmsnorm", "clip_grad_norm_": "gradient_clipping",
}  # fmt: skip
# Tokenizer libraries (any use of the module) -> problem: the handout allows them only for comparison.
FORBIDDEN_MODULES: dict[str, str] = {"tiktoken": "tokenizer", "tokenizers": "tokenizer", "sentencepiece": "tokenizer"}
OWN_PACKAGE = "cs336_basics"
SCANNED = ("cs336_basics/", "tests/adapters.py")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    where: str
    """The enclosing function or class (`Module.method`), or "module level"."""
    name: str
    """What is used: a fully qualified name (torch.nn.functional.softmax) or a method (.softmax)."""
    problem: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} ({self.where}) uses {self.name}"


def canonical(qualified: str) -> str:
    """torch.nn.modules.linear.Linear -> torch.nn.Linear (the class by its defining module); others unchanged."""
    if qualified.startswith("torch.nn.modules."):
        parts = qualified.split(".")
        return "torch.nn." + parts[-1] if len(parts) >= 5 else qualified
    return qualified


def _problem_of(qualified: str) -> str | None:
    qualified = canonical(qualified)
    if qualified in FORBIDDEN:
        return FORBIDDEN[qualified]
    root = qualified.split(".")[0]
    if root in FORBIDDEN_MODULES:
        return FORBIDDEN_MODULES[root]
    if qualified.startswith("torch.optim.") and qualified.split(".")[-1] not in ("Optimizer", "optimizer"):
        # anything in torch.optim but the Optimizer base class
        return "learning_rate_schedule" if ".lr_scheduler" in qualified else "adamw"
    return None


def _dotted(node: ast.AST) -> list[str] | None:
    """a.b.c -> ["a", "b", "c"]; None when the chain does not start at a plain name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


class _Scanner(ast.NodeVisitor):
    """One pass over a module; imports are collected first so a use above its import still resolves."""

    def __init__(self, tree: ast.Module, path: str):
        self.path, self.found, self.scope = path, [], []
        self.aliases: dict[str, str] = {}  # local name -> fully qualified module or object
        self.star_modules: list[str] = []
        self.local_defs: set[str] = set()  # functions and classes defined in this file
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.aliases[a.asname] = a.name
                    else:
                        self.aliases[a.name.split(".")[0]] = a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                module = self._absolute(node)
                for a in node.names:
                    if a.name == "*":
                        self.star_modules.append(module)
                    else:
                        self.aliases[a.asname or a.name] = f"{module}.{a.name}"
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.local_defs.add(node.name)

    @staticmethod
    def _absolute(node: ast.ImportFrom) -> str:
        """The module an ImportFrom names; a relative one (`from . import functional`) is the submission's own."""
        if node.level == 0:
            return node.module or ""
        return f"{OWN_PACKAGE}.{node.module}" if node.module else OWN_PACKAGE

    def _flag(self, node: ast.AST, name: str, problem: str) -> None:
        where = ".".join(self.scope) or "module level"
        self.found.append(Finding(self.path, node.lineno, where, name, problem))

    def _scoped(self, node):
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if (problem := _problem_of(a.name)) is not None:
                self._flag(node, a.name, problem)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = self._absolute(node)
        for a in node.names:
            qualified = module if a.name == "*" else f"{module}.{a.name}"
            if (problem := _problem_of(qualified)) is not None:
                self._flag(node, qualified, problem)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        parts = _dotted(node)
        if parts and parts[0] in self.aliases:
            qualified = ".".join([self.aliases[parts[0]], *parts[1:]])
            if (problem := _problem_of(qualified)) is not None:
                self._flag(node, canonical(qualified), problem)
                return  # torch.nn.functional.softmax is one finding, not also ".softmax"
            if qualified.startswith(OWN_PACKAGE + ".") or qualified.split(".")[0] not in ("torch",):
                self.generic_visit(node)  # the submission's own module (functional.softmax) or another library
                return
        if node.attr in FORBIDDEN_ATTRIBUTES and not self._own_method(node):
            self._flag(node, "." + node.attr, FORBIDDEN_ATTRIBUTES[node.attr])
        self.generic_visit(node)

    def _own_method(self, node: ast.Attribute) -> bool:
        """self.softmax(...) / cls.softmax(...): the submission's own method, not a tensor's."""
        return isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.aliases:
            qualified = self.aliases[node.id]
        elif node.id in self.local_defs:
            return
        else:
            qualified = next((f"{m}.{node.id}" for m in self.star_modules if _problem_of(f"{m}.{node.id}")), None)
        if qualified is not None and (problem := _problem_of(qualified)) is not None:
            self._flag(node, f"{canonical(qualified)} (as {node.id})", problem)

    def visit_Call(self, node: ast.Call) -> None:
        # getattr(F, "softmax"): the name in a string, reached by reflection
        if (isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant) and node.args[1].value in FORBIDDEN_ATTRIBUTES):  # fmt: skip
            self._flag(node, f"getattr(..., {node.args[1].value!r})", FORBIDDEN_ATTRIBUTES[node.args[1].value])
        self.generic_visit(node)


def scan_source(source: str, path: str) -> list[Finding]:
    """Every use of a forbidden built-in in one file, in line order.

    Example: scan_source("import torch.nn.functional as F\\ny = F.softmax(x, -1)\\n", "a.py")
    -> [Finding("a.py", 2, "module level", "torch.nn.functional.softmax", "softmax")].
    A file that does not parse gives no finding (the tests report the SyntaxError).
    """
    try:
        tree = ast.parse(source, path)
    except (SyntaxError, ValueError):
        return []
    scanner = _Scanner(tree, path)
    scanner.visit(tree)
    return sorted(set(scanner.found), key=lambda f: (f.line, f.name))


def scan_files(files: dict[str, bytes], pristine: Path | None = None) -> list[Finding]:
    """Scan the graded Python files of a submission (relative path -> bytes), skipping the starter's own."""
    found = []
    for rel in sorted(files):
        if not rel.endswith(".py") or not rel.startswith(SCANNED):
            continue
        if pristine is not None and (Path(pristine) / rel).is_file() and (Path(pristine) / rel).read_bytes() == files[rel]:
            continue  # provided code, unchanged
        found += scan_source(files[rel].decode("utf-8", errors="replace"), rel)
    return found


def notes_by_problem(findings: list[Finding]) -> dict[str, str]:
    """problem id -> the note shown on that problem."""
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        grouped[f.problem].append(f)
    return {
        problem: "Honour rules: this submission uses built-ins that this problem asks you to write yourself "
        "(not deducted automatically; staff decide):\n" + "\n".join(f"  {f}" for f in items)
        for problem, items in grouped.items()
    }


def attach_notes(result, submission, pristine: Path | None) -> None:
    """Add the honour notes to a GradeResult: on the flagged problem, or overall if it is not graded."""
    if submission is None:
        return
    notes = notes_by_problem(scan_files(submission.files, pristine))
    graded = {s.problem.id: s for s in result.scores}
    for problem, note in notes.items():
        if problem in graded:
            graded[problem].notes.append(note)
        else:
            result.notes.append(f"[{problem}] {note}")
