"""What makes the starter read as if written for students: the release's text transformations.

- `name_stubs`: each stub raises NotImplementedError with a one-line message naming its function and
  handout problem (STUB_PROBLEMS), and loses the statements after it in its block (dead in the starter);
- `remove_unused_imports`: the imports the remaining code does not use go (ruff's F401 and I001 fixes);
- `plain_noqa`: the staff's reason after a noqa code goes;
- `is_empty_module`: a solution module left with only a docstring and imports is left out;
- `strip_staff_sections`: Markdown between `<!-- BEGIN STAFF -->` and `<!-- END STAFF -->` lines goes;
- STAFF_ONLY_LINE marks the pyproject.toml lines the starter leaves out (the `cs336-staff` entry point, the
  `staff` dependency group; grading/starter_deps.py edits uv.lock to match).

grading/release.py applies them; grading/release_verify.py checks that nothing they target is left.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path


class ReleaseError(Exception):
    """The starter cannot be built or does not verify; the message says which file/test and why."""


# The handout problem each stub belongs to, for its NotImplementedError message: file -> problem id, or
# file -> {qualified-name prefix: problem id} (the longest matching prefix wins). A stub without an
# entry is a ReleaseError, so a new solution region cannot ship without a message.
STUB_PROBLEMS: dict[str, str | dict[str, str]] = {
    "cs336_basics/accounting.py": "transformer_accounting",
    "cs336_basics/checkpoint.py": "checkpointing",
    "cs336_basics/data.py": "data_loading",
    "cs336_basics/decoding.py": "decoding",
    "cs336_basics/nn/attention.py": "multihead_self_attention",
    "cs336_basics/nn/functional.py": {
        "silu": "positionwise_feedforward", "softmax": "softmax", "scaled_dot_product_attention": "scaled_dot_product_attention",
        "rope_": "rope", "apply_rotary": "rope", "rotate": "rope", "sinusoidal": "sinusoidal_pe",
    },
    "cs336_basics/nn/kv_cache.py": "kv_cache",
    "cs336_basics/nn/layers.py": {
        "Linear": "linear", "Embedding": "embedding", "RMSNorm": "rmsnorm", "SwiGLU": "positionwise_feedforward",
        "SiLUFeedForward": "lm_ablations",
    },
    "cs336_basics/nn/loss.py": "cross_entropy",
    "cs336_basics/nn/positional.py": {
        "RotaryPositionalEmbedding": "rope", "SinusoidalPositionalEncoding": "sinusoidal_pe",
        "LearnedPositionalEmbedding": "learned_pe",
    },
    "cs336_basics/nn/transformer.py": {"TransformerBlock": "transformer_block", "TransformerLM": "transformer_lm"},
    "cs336_basics/optim/adamw.py": "adamw",
    "cs336_basics/optim/clipping.py": "gradient_clipping",
    "cs336_basics/optim/schedule.py": "learning_rate_schedule",
    "cs336_basics/tokenizer/": "tokenizer",
    "cs336_basics/tokenizer/pretokenize.py": "train_bpe",
    "cs336_basics/tokenizer/train_bpe.py": "train_bpe",
    # adapters: run_<id> / get_<id> name their problem; the others are listed
    "tests/adapters.py": {
        "run_swiglu": "positionwise_feedforward", "run_silu": "positionwise_feedforward",
        "run_scaled_dot_product_attention": "scaled_dot_product_attention",
        "run_multihead_self_attention": "multihead_self_attention", "run_get_batch": "data_loading",
        "run_gradient_clipping": "gradient_clipping", "get_adamw_cls": "adamw",
        "run_get_lr_cosine_schedule": "learning_rate_schedule", "run_save_checkpoint": "checkpointing",
        "run_load_checkpoint": "checkpointing", "get_tokenizer": "tokenizer",
        "run_transformer_lm_with_kv_cache": "kv_cache", "run_transformer_lm_ablation": "lm_ablations",
        "make_module": "module_init", "run_multihead_self_attention_with_head_dim": "attention_extras",
        "run_save_tokenizer": "tokenizer_files", "get_tokenizer_from_files": "tokenizer_files",
        "run_encode_file": "tokenizer_files", "run_train_bpe_parallel": "train_bpe_parallel",
    },
}  # fmt: skip
STAFF_MARKERS = ("<!-- BEGIN STAFF -->", "<!-- END STAFF -->")
STAFF_ONLY_LINE = "# staff-only"


def stub_problem(rel: str, qualname: str, problem_ids: set[str]) -> str:
    """The handout problem of the stub `qualname` in file `rel` (see STUB_PROBLEMS).

    Example: stub_problem("cs336_basics/nn/layers.py", "Linear.forward", ids) -> "linear"; an adapter hook
    run_<id> or get_<id> names its own problem: stub_problem("tests/adapters.py", "run_rope", ids) -> "rope".
    """
    entry = STUB_PROBLEMS.get(rel)
    if entry is None:  # a folder entry ("cs336_basics/tokenizer/") covers the files below it
        folders = [k for k in STUB_PROBLEMS if k.endswith("/") and rel.startswith(k)]
        entry = STUB_PROBLEMS[max(folders, key=len)] if folders else None
    if isinstance(entry, dict):
        prefixes = [k for k in entry if qualname.startswith(k)]
        if prefixes:
            return entry[max(prefixes, key=len)]
        for prefix in ("run_", "get_"):
            if qualname.startswith(prefix) and qualname[len(prefix) :] in problem_ids:
                return qualname[len(prefix) :]
        entry = None
    if entry is None:
        raise ReleaseError(f"{rel}: no handout problem for the stub {qualname}; add it to STUB_PROBLEMS in grading/release.py")
    return entry


def _stubs(tree: ast.Module) -> list[tuple[list[ast.stmt], int, str]]:
    """(enclosing body, index in it, qualified name of the function) of each bare `raise NotImplementedError`."""
    found = []

    def visit(node: ast.AST, names: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            inner = names + [child.name] if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else names
            for attr in ("body", "orelse", "finalbody"):
                body = getattr(child, attr, None)
                if isinstance(body, list):
                    for k, stmt in enumerate(body):
                        if isinstance(stmt, ast.Raise) and isinstance(stmt.exc, ast.Name) and stmt.exc.id == "NotImplementedError":
                            found.append((body, k, ".".join(inner)))
            visit(child, inner)

    visit(tree, [])
    return found


def name_stubs(text: str, rel: str, problem_ids: set[str]) -> str:
    """Give each bare `raise NotImplementedError` of a starter file a one-line message naming its function
    and handout problem, and drop the statements after it in its block (unreachable in the starter).

    Example: in Linear.forward of cs336_basics/nn/layers.py, `raise NotImplementedError` becomes
    `raise NotImplementedError("implement Linear.forward (handout problem: linear)")`.
    """
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, str | None]] = []  # (first line, last line) 0-based, replacement
    for body, k, qualname in _stubs(ast.parse(text)):
        stmt = body[k]
        problem = stub_problem(rel, qualname or "<module>", problem_ids)
        indent = lines[stmt.lineno - 1][: stmt.col_offset]
        message = f"implement {qualname} (handout problem: {problem})"
        edits.append((stmt.lineno - 1, stmt.end_lineno - 1, f'{indent}raise NotImplementedError("{message}")\n'))
        if k + 1 < len(body):
            edits.append((body[k + 1].lineno - 1, body[-1].end_lineno - 1, None))
    for first, last, replacement in sorted(edits, reverse=True):
        lines[first : last + 1] = [replacement] if replacement is not None else []
    return "".join(lines)


_NOQA_REASON = re.compile(r"(#\s*noqa(?::\s*[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)?)[ \t]*\(.*\)[ \t]*$", re.MULTILINE)


def plain_noqa(text: str) -> str:
    """Drop the reason written after a noqa comment (it explains the staff copy, not the student's).

    Example: "import einops  # noqa: F401 (kept for the heads)" -> "import einops  # noqa: F401".
    """
    return _NOQA_REASON.sub(r"\1", text)


def is_empty_module(text: str) -> bool:
    """True when a module holds only a docstring and imports (all its code was solution)."""
    body = ast.parse(text).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in body)


def strip_staff_sections(text: str, name: str = "<file>") -> str:
    """Remove the lines from each `<!-- BEGIN STAFF -->` line to its `<!-- END STAFF -->` line, inclusive.

    Example: "a\n<!-- BEGIN STAFF -->\nstaff table\n<!-- END STAFF -->\nb\n" -> "a\nb\n".
    """
    begin, end = STAFF_MARKERS
    out: list[str] = []
    opened = None
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        marker = line.strip()
        if marker == begin:
            if opened is not None:
                raise ReleaseError(f"{name}:{number}: nested '{begin}' (the section opened at line {opened} is still open)")
            opened = number
        elif marker == end:
            if opened is None:
                raise ReleaseError(f"{name}:{number}: '{end}' without a matching '{begin}'")
            opened = None
        elif (begin in line or end in line) and opened is None:
            raise ReleaseError(f"{name}:{number}: a staff marker must be alone on its line")
        elif opened is None:
            out.append(line)
    if opened is not None:
        raise ReleaseError(f"{name}:{opened}: '{begin}' is never closed by '{end}'")
    return "".join(out)


def remove_unused_imports(root: Path, files: list[str]) -> None:
    """Remove the imports that `files` (relative to `root`) no longer use: ruff's F401 fix, run in place,
    with its import-block fix (I001) so that no gap is left where the imports were."""
    if not files:
        return
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select", "F401,I001", "--fix",
         "--exit-zero", "--quiet", *files],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        raise ReleaseError(f"ruff could not remove the unused imports (is the dev group installed?): {proc.stderr.strip()[-1000:]}")
