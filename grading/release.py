"""Build the student starter from the staff repository: strip solutions, leave out staff-only files.

Solution code sits between `# BEGIN SOLUTION` / `# END SOLUTION` lines in the SOLUTION_FILES. Each
region becomes, in the starter:
- inside a function body: `raise NotImplementedError` at the region's indentation (the signature,
  docstring and any code outside the region stay);
- at module level, or a region made only of `def`/`class` statements (a solution-only helper or
  method): nothing, since a `raise` there would break the module's import.
Unbalanced, nested or misindented markers, and a result that no longer parses, raise ReleaseError.

Then the starter is made to read as if written for students (grading/starter_text.py): each stub
becomes `raise NotImplementedError("implement Linear.forward (handout problem: linear)")` and loses the
dead code after it, imports the remaining code does not use are removed (ruff), a module left empty is
left out, Markdown between `<!-- BEGIN STAFF -->` / `<!-- END STAFF -->` lines (staff results, staff
commands, pointers to unshipped files) is cut, pyproject.toml loses its `# staff-only` lines and uv.lock
the staff-only dependency groups with them (grading/starter_deps.py).

STAFF_ONLY is the one list of what the starter leaves out, with the reason for each entry.
The verification (grading/release_verify.py) checks the result.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import shutil
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from grading.registry import load_problems
from grading.starter_deps import starter_lock, starter_pyproject
from grading.starter_text import (
    ReleaseError,
    is_empty_module,
    name_stubs,
    plain_noqa,
    remove_unused_imports,
    strip_staff_sections,
)

# Path prefixes ("dir/") or globs left out of the starter, and why. Nothing else is left out.
STAFF_ONLY: dict[str, str] = {
    "tests/oracles/": "the independent oracles that generate the fixtures: reference algorithms (answers)",
    "tests/make_fixtures.py": "regenerates fixtures from tests/oracles/ (absent from the starter)",
    "tests/staff/": "staff integration tests (grader, release, training runs) that need the solution",
    "grading/*": "grader, release and autograder internals; the starter keeps only STARTER_KEEPS",
    "docs/": "staff material: the answer key (docs/staff/), the experiment script and its results and figures, the figure script",
    "cs336_basics/fast/": "the staff's fast path (switched on by the train config's `fast` field); students write the reference",
    "benchmarks/": "staff speed/memory checks of the reference solution against peers",
    ".ci/": "staff CI entry point (runs the staff tests)",
    "README.md": "the staff README; the starter gets its own, rendered from grading/starter_README.md (GENERATED)",
}
# Exceptions to STAFF_ONLY: the test suite's conftest reads the problem registry.
STARTER_KEEPS: dict[str, str] = {
    "grading/__init__.py": "makes grading.registry importable",
    "grading/registry.py": "tests/conftest.py checks every problem marker against the registry",
    "grading/problems.toml": "the registry itself: problem ids, titles and points (not secret)",
}
# Files the build writes itself (after leaving out the staff copy, if any).
GENERATED: dict[str, str] = {"README.md": "the student README: set-up, running one problem's tests, what to edit, submitting"}
SOLUTION_FILES = ("cs336_basics/*.py", "cs336_basics/**/*.py", "tests/adapters.py")
README_TEMPLATE = Path(__file__).resolve().parent / "starter_README.md"
# Folders never copied from a working tree that is not a git checkout (build outputs, caches).
NEVER_COPIED = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", ".mypy_cache", "runs", "dist"}

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
_MARKER = re.compile(r"^(?P<indent>[ \t]*)(?P<marker># (?:BEGIN|END) SOLUTION)[ \t]*$")


def is_staff_only(rel: str) -> bool:
    if rel in STARTER_KEEPS:
        return False
    for pattern in STAFF_ONLY:
        if pattern.endswith("/") and rel.startswith(pattern):
            return True
        if fnmatch.fnmatchcase(rel, pattern):
            return True
    return False


def is_solution_file(rel: str) -> bool:
    return any(fnmatch.fnmatchcase(rel, pattern) for pattern in SOLUTION_FILES)


def _region_is_definitions(lines: list[str], where: str) -> bool:
    """True when the region's statements are all def/class (a helper to remove, not a body to stub)."""
    code = textwrap.dedent("".join(lines))
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        raise ReleaseError(f"{where}: the solution region is not whole statements ({e.msg}, region line {e.lineno})") from e
    return bool(tree.body) and all(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for n in tree.body)


def strip_solutions(text: str, name: str = "<file>") -> tuple[str, int]:
    """Replace every solution region of a Python source; return (starter source, number of regions).

    Example: a function body "    # BEGIN SOLUTION\\n    return x + 1\\n    # END SOLUTION\\n" becomes
    "    raise NotImplementedError\\n".
    """
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    regions, i = 0, 0
    while i < len(lines):
        line = lines[i]
        m = _MARKER.match(line.rstrip("\r\n"))
        if m is None:
            if "BEGIN SOLUTION" in line or "END SOLUTION" in line:
                raise ReleaseError(f"{name}:{i + 1}: malformed solution marker (expected a line '{BEGIN}' or '{END}')")
            out.append(line)
            i += 1
            continue
        if m["marker"] == END:
            raise ReleaseError(f"{name}:{i + 1}: '{END}' without a matching '{BEGIN}'")
        indent, start = m["indent"], i
        i += 1
        body: list[str] = []
        while True:
            if i == len(lines):
                raise ReleaseError(f"{name}:{start + 1}: '{BEGIN}' is never closed by '{END}'")
            inner = _MARKER.match(lines[i].rstrip("\r\n"))
            if inner is not None:
                if inner["marker"] == BEGIN:
                    raise ReleaseError(f"{name}:{i + 1}: nested '{BEGIN}' (the region opened at line {start + 1} is still open)")
                if inner["indent"] != indent:
                    raise ReleaseError(f"{name}:{i + 1}: '{END}' is not at the indentation of its '{BEGIN}' (line {start + 1})")
                break
            if "BEGIN SOLUTION" in lines[i] or "END SOLUTION" in lines[i]:
                raise ReleaseError(f"{name}:{i + 1}: malformed solution marker inside the region opened at line {start + 1}")
            body.append(lines[i])
            i += 1
        i += 1  # the END line
        regions += 1
        where = f"{name}:{start + 1}"
        if indent and not _region_is_definitions(body, where):
            out.append(f"{indent}raise NotImplementedError\n")
        else:
            # Removed: keep the blank-line layout (at most two blank lines where the region was).
            blank_before = 0
            while out and not out[-1].strip():
                out.pop()
                blank_before += 1
            blank_after = 0
            while i < len(lines) and not lines[i].strip():
                i += 1
                blank_after += 1
            if out and i < len(lines):
                out.extend(["\n"] * min(2, max(blank_before, blank_after)))
    result = "".join(out)
    if result and not result.endswith("\n"):
        result += "\n"
    try:
        ast.parse(result)
    except SyntaxError as e:
        raise ReleaseError(
            f"{name}:{e.lineno}: the starter no longer parses after removing solutions ({e.msg}); "
            "a region that empties a block must leave a statement outside it (e.g. a docstring)"
        ) from e
    return result, regions


def list_source_files(root: Path) -> list[str]:
    """Files of the working tree (POSIX paths relative to `root`): git's view when it is a checkout.

    Tracked and untracked-but-not-ignored files, so uncommitted work is released as it is on disk;
    outside git, every file except NEVER_COPIED folders and compiled files.
    """
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True, check=True,
        )  # fmt: skip
        top = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"], capture_output=True, check=True)
        if Path(top.stdout.decode().strip()).resolve() == root.resolve():
            names = sorted({n for n in proc.stdout.decode().split("\0") if n})
            return [n for n in names if (root / n).is_file() and not (root / n).is_symlink()]
    except (OSError, subprocess.CalledProcessError):
        pass
    names = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if NEVER_COPIED & set(rel.parts) or any(p.endswith(".egg-info") for p in rel.parts):
            continue
        if path.is_file() and not path.is_symlink() and path.suffix not in (".pyc", ".pyo"):
            names.append(rel.as_posix())
    return names


@dataclass
class BuildReport:
    out: Path
    copied: list[str] = field(default_factory=list)
    stripped: dict[str, int] = field(default_factory=dict)
    """Solution file -> number of regions replaced."""
    left_out: list[str] = field(default_factory=list)


def render_readme(template: Path = README_TEMPLATE, registry: Path | None = None) -> str:
    problems = load_problems(registry) if registry else load_problems()
    rows = ["| Problem | Points | Graded by |", "|---|---:|---|"]
    for p in problems:
        how = f"`uv run pytest -k test_{p.id}`" if p.autograded else "your write-up"
        rows.append(f"| `{p.id}`: {p.title} | {p.points} | {how} |")
    auto = sum(p.points for p in problems if p.autograded)
    written = sum(p.points for p in problems if not p.autograded)
    return Template(template.read_text(encoding="utf-8")).substitute(
        problems_table="\n".join(rows), autograded_points=auto, written_points=written, total_points=auto + written
    )


def build_starter(source: Path, out: Path) -> BuildReport:
    """Write the starter built from the staff tree `source` into `out` (which must not exist or be empty)."""
    source, out = Path(source).resolve(), Path(out).resolve()
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"{out} already exists and is not empty; give a new folder")
    if out.is_relative_to(source) and (out == source or out.relative_to(source).parts[0] not in NEVER_COPIED):
        raise ReleaseError(f"{out} is inside the repository; build the starter outside it (or under dist/)")
    report = BuildReport(out)
    problem_ids = {p.id for p in load_problems(source / "grading" / "problems.toml")}
    for rel in list_source_files(source):
        if is_staff_only(rel):
            report.left_out.append(rel)
            continue
        src, dest = source / rel, out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if is_solution_file(rel):
            text, n = strip_solutions(src.read_text(encoding="utf-8"), rel)
            if n:
                text = plain_noqa(name_stubs(text, rel, problem_ids))
                if rel.endswith(".py") and not rel.endswith("__init__.py") and is_empty_module(text):
                    report.left_out.append(rel)
                    continue
                report.stripped[rel] = n
            dest.write_text(text, encoding="utf-8")
        elif rel.endswith(".md"):
            dest.write_text(strip_staff_sections(src.read_text(encoding="utf-8"), rel), encoding="utf-8")
        elif rel == "pyproject.toml":
            dest.write_text(starter_pyproject(src.read_text(encoding="utf-8")), encoding="utf-8")
        elif rel == "uv.lock":
            staff_pyproject = (source / "pyproject.toml").read_text(encoding="utf-8")
            lock = starter_lock(src.read_text(encoding="utf-8"), staff_pyproject, starter_pyproject(staff_pyproject))
            dest.write_text(lock, encoding="utf-8")
        else:
            shutil.copy2(src, dest)
        report.copied.append(rel)
    remove_unused_imports(out, sorted(report.stripped))
    registry = source / "grading" / "problems.toml"
    (out / "README.md").write_text(render_readme(registry=registry), encoding="utf-8")
    report.copied.append("README.md")
    return report
