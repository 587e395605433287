"""The mutant catalogue (catalogue.toml): load it, check it, and apply a mutant to a copy of the source.

A mutant is a realistic student bug written as exact text patches to the reference solution:

    [[mutant]]
    id = "cross_entropy.no_max_subtraction"      # unique; "<problem>.<what is wrong>"
    problem = "cross_entropy"                     # an autograded id of grading/problems.toml
    description = "log-sum-exp without subtracting the row max: exp overflows for large logits"
    file = "cs336_basics/nn/loss.py"
    find = '''
        shifted = logits - logits.amax(dim=-1, keepdim=True)
    '''
    replace = '''
        shifted = logits
    '''
    ci = true                                     # optional: part of the fast sample the staff CI runs
    control = true                                # optional: a LEGITIMATE variant that must survive

    [[mutant.also]]                               # optional: more hunks of the same file, same rules
    find = '''...'''
    replace = '''...'''

Every `find` must occur EXACTLY once in its file (checked against the file as it is now), so a patch
that no longer applies fails loudly instead of silently testing nothing: when the solution changes,
the catalogue is updated with it. The hunks of a mutant apply in order, each to the result of the last.

A control (`control = true`) is not a bug: it is a choice the handout leaves open (torch's AdamW order,
bytes-first vocabulary ids, IndexError for a bad id). Its problem's tests must all PASS on it; a test
that fails a control demands more than the specification and is what must change.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CATALOGUE_PATH = Path(__file__).resolve().parent / "catalogue.toml"
ENTRY_KEYS = {"id", "problem", "description", "file", "find", "replace", "ci", "control", "also"}
REQUIRED_KEYS = {"id", "problem", "description", "file", "find", "replace"}


class CatalogueError(ValueError):
    """The catalogue is malformed, or a mutant no longer applies; the message names the mutant and why."""


@dataclass(frozen=True)
class Hunk:
    find: str
    replace: str


@dataclass(frozen=True)
class Mutant:
    id: str
    problem: str
    description: str
    file: str
    """POSIX path relative to the repository root (a file of cs336_basics/)."""
    hunks: tuple[Hunk, ...]
    ci: bool = False
    control: bool = False
    """A legitimate variant: it must survive (every test of its problem passes)."""


@dataclass
class Catalogue:
    mutants: list[Mutant] = field(default_factory=list)

    def by_id(self) -> dict[str, Mutant]:
        return {m.id: m for m in self.mutants}

    def select(self, ids: list[str] | None = None, sample: bool = False) -> list[Mutant]:
        """The mutants named in `ids` (all when None), keeping only the CI sample when `sample`."""
        chosen = self.mutants
        if ids:
            known = self.by_id()
            unknown = [i for i in ids if i not in known]
            if unknown:
                raise CatalogueError(f"unknown mutant id(s) {unknown}; see {CATALOGUE_PATH.name} for the ids")
            chosen = [known[i] for i in dict.fromkeys(ids)]
        if sample:
            chosen = [m for m in chosen if m.ci]
        return chosen


def _string(entry: dict, key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise CatalogueError(f"{where}: `{key}` must be a non-empty string, found {value!r}")
    return value


def parse_catalogue(text: str, source: str = "catalogue.toml") -> Catalogue:
    """Parse and check the shape of the catalogue (ids unique, required keys present, paths relative)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CatalogueError(f"{source}: not valid TOML: {e}") from e
    entries = data.get("mutant")
    if set(data) != {"mutant"} or not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{source}: expected only a non-empty array of [[mutant]] tables, found keys {sorted(data)}")
    catalogue, seen = Catalogue(), set()
    for i, entry in enumerate(entries):
        where = f"{source}: mutant #{i + 1} ({entry.get('id', '?')!r})"
        if not REQUIRED_KEYS <= set(entry) <= ENTRY_KEYS:
            raise CatalogueError(
                f"{where}: expected the keys {sorted(REQUIRED_KEYS)} (optional: ci, control, also), found {sorted(entry)}"
            )
        mid = _string(entry, "id", where)
        if mid in seen:
            raise CatalogueError(f"{where}: duplicate id {mid!r}")
        seen.add(mid)
        path = _string(entry, "file", where)
        if path.startswith("/") or ".." in path.split("/") or "\\" in path:
            raise CatalogueError(f"{where}: `file` must be a relative POSIX path inside the repository, found {path!r}")
        hunks = [Hunk(_string(entry, "find", where), entry["replace"])]
        for j, extra in enumerate(entry.get("also", [])):
            if not isinstance(extra, dict) or set(extra) != {"find", "replace"}:
                raise CatalogueError(f"{where}: [[mutant.also]] #{j + 1} must have exactly the keys find, replace")
            hunks.append(Hunk(_string(extra, "find", f"{where} also #{j + 1}"), extra["replace"]))
        for hunk in hunks:
            if not isinstance(hunk.replace, str) or hunk.replace == hunk.find:
                raise CatalogueError(f"{where}: `replace` must be a string that differs from `find`")
        ci, control = entry.get("ci", False), entry.get("control", False)
        for key, value in (("ci", ci), ("control", control)):
            if not isinstance(value, bool):
                raise CatalogueError(f"{where}: `{key}` must be true or false, found {value!r}")
        catalogue.mutants.append(
            Mutant(mid, _string(entry, "problem", where), _string(entry, "description", where), path, tuple(hunks), ci, control)
        )
    return catalogue


def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    return parse_catalogue(Path(path).read_text(encoding="utf-8"), source=str(path))


def apply_mutant(mutant: Mutant, source: str) -> str:
    """`source` (the text of mutant.file) with every hunk applied; CatalogueError if one does not match once.

    Example: a mutant with find "a + b" and replace "a - b" turns "return a + b\\n" into "return a - b\\n".
    """
    text = source
    for k, hunk in enumerate(mutant.hunks):
        count = text.count(hunk.find)
        if count != 1:
            which = "its find" if k == 0 else f"its also #{k}"
            found = "does not occur" if count == 0 else f"occurs {count} times"
            first = hunk.find.strip().splitlines()[0] if hunk.find.strip() else hunk.find
            raise CatalogueError(
                f"mutant {mutant.id!r}: {which} text {found} in {mutant.file} (it must occur exactly once); "
                f"the solution changed: update the catalogue entry (find begins {first!r})"
            )
        text = text.replace(hunk.find, hunk.replace, 1)
    return text


def mutated_file(mutant: Mutant, root: Path) -> bytes:
    """The bytes of mutant.file under `root` after applying the mutant (the file itself is not touched)."""
    path = Path(root) / mutant.file
    if not path.is_file():
        raise CatalogueError(f"mutant {mutant.id!r}: file {mutant.file} does not exist under {root}")
    return apply_mutant(mutant, path.read_text(encoding="utf-8")).encode("utf-8")


def check_catalogue(catalogue: Catalogue, root: Path, problem_ids: set[str]) -> list[str]:
    """Every problem with the catalogue: unregistered problems, files outside cs336_basics/, stale patches."""
    issues = []
    for m in catalogue.mutants:
        if m.problem not in problem_ids:
            issues.append(f"mutant {m.id!r}: problem {m.problem!r} is not an autograded problem of grading/problems.toml")
        if not m.file.startswith("cs336_basics/") or not m.file.endswith(".py"):
            issues.append(f"mutant {m.id!r}: file {m.file} is not a solution module under cs336_basics/")
        try:
            mutated_file(m, root)
        except CatalogueError as e:
            issues.append(str(e))
    return issues
