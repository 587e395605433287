"""The problem registry (grading/problems.toml): load and validate it; parse the handout's problem headings.

The registry is the one source of truth for the assignment's problems. The grader takes points from it,
the test suite's `@pytest.mark.problem("<id>")` markers are checked against it (tests/conftest.py), and
handout.md must carry one heading per problem, in registry order, of the form

    ### Problem (<id>): <title> (<N> point[s])            an official CS336 problem
    ### Problem (<id>): <title> (<N> point[s], extra)     one of our extras (`extra = true`)

This module is shipped in the student starter (tests/conftest.py imports it): it holds no solution.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

REGISTRY_PATH = Path(__file__).resolve().parent / "problems.toml"
KINDS = ("autograded", "written")
_ID = re.compile(r"[a-z][a-z0-9_]*")
# The handout heading contract; `point` or `points` so "(1 point)" reads naturally.
HANDOUT_HEADING = re.compile(
    r"^### Problem \((?P<id>[^)]*)\): (?P<title>.+) \((?P<points>\d+) points?(?P<extra>, extra)?\)\s*$"
)


class RegistryError(ValueError):
    """problems.toml (or the handout) does not follow the registry's rules; the message says where."""


@dataclass(frozen=True)
class Problem:
    """One handout problem."""

    id: str
    """Short identifier: the argument of `@pytest.mark.problem(...)` and of the handout heading."""
    title: str
    """Human title, as in the handout heading."""
    points: int
    """Points the problem is worth (positive)."""
    kind: Literal["autograded", "written"]
    """`autograded`: graded by the tests marked with its id; `written`: graded by staff from the write-up."""
    extra: bool = False
    """True for our additions beyond the official CS336 assignment (autograded only): each is graded by
    its own tests and hooks, so a submission written for the official interface loses only that extra."""

    @property
    def autograded(self) -> bool:
        return self.kind == "autograded"


def parse_problems(text: str, source: str = "problems.toml") -> list[Problem]:
    """Parse and validate the registry's TOML text; raise RegistryError naming the offending entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RegistryError(f"{source}: not valid TOML: {e}") from e
    entries = data.get("problem")
    if not isinstance(entries, list) or not entries:
        raise RegistryError(f"{source}: expected a non-empty array of [[problem]] tables")
    problems, seen = [], set()
    for i, entry in enumerate(entries):
        where = f"{source}: problem #{i + 1} ({entry.get('id', '?')!r})"
        if not {"id", "title", "points", "kind"} <= set(entry) <= {"id", "title", "points", "kind", "extra"}:
            raise RegistryError(
                f"{where}: expected the keys id, title, points, kind (optional: extra); found {sorted(entry)}"
            )
        pid, title, points, kind = entry["id"], entry["title"], entry["points"], entry["kind"]
        if not isinstance(pid, str) or not _ID.fullmatch(pid):
            raise RegistryError(f"{where}: id must match {_ID.pattern} (lower case, digits, _)")
        if pid in seen:
            raise RegistryError(f"{where}: duplicate id {pid!r}")
        if not isinstance(title, str) or not title.strip() or "\n" in title:
            raise RegistryError(f"{where}: title must be a non-empty single line")
        if type(points) is not int or points <= 0:
            raise RegistryError(f"{where}: points must be a positive integer; found {points!r}")
        if kind not in KINDS:
            raise RegistryError(f"{where}: kind must be one of {KINDS}; found {kind!r}")
        extra = entry.get("extra", False)
        if not isinstance(extra, bool):
            raise RegistryError(f"{where}: extra must be true or false; found {extra!r}")
        if extra and kind != "autograded":
            raise RegistryError(f"{where}: only an autograded problem can be an extra; found kind {kind!r}")
        seen.add(pid)
        problems.append(Problem(pid, title, points, kind, extra))
    return problems


def load_problems(path: Path = REGISTRY_PATH) -> list[Problem]:
    """The registered problems, in handout order."""
    return parse_problems(Path(path).read_text(encoding="utf-8"), source=str(path))


def autograded_problems(path: Path = REGISTRY_PATH) -> list[Problem]:
    return [p for p in load_problems(path) if p.autograded]


@dataclass(frozen=True)
class HandoutHeading:
    """A `### Problem (...)` heading of the handout."""

    id: str
    title: str
    points: int
    line: int
    """1-based line number in the handout."""
    extra: bool = False
    """The heading ends in ", extra)": the problem is one of our extras."""


def parse_handout_headings(text: str) -> list[HandoutHeading]:
    """Every problem heading of the handout, in order.

    A line starting with `### Problem` that does not follow the heading contract raises RegistryError
    (so a typo cannot silently drop a problem). Headings inside fenced code blocks are ignored.

    Example: "### Problem (linear): Implementing the linear module (1 point)" ->
    HandoutHeading(id="linear", title="Implementing the linear module", points=1, line=...).
    """
    headings, in_fence = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence or not line.startswith("### Problem"):
            continue
        m = HANDOUT_HEADING.match(line)
        if m is None:
            raise RegistryError(
                f"handout line {number}: {line.strip()!r} does not follow the heading form "
                "'### Problem (<id>): <title> (<N> point[s])' or '... (<N> point[s], extra)'"
            )
        headings.append(HandoutHeading(m["id"], m["title"].strip(), int(m["points"]), number, m["extra"] is not None))
    return headings


def handout_mismatches(problems: list[Problem], headings: list[HandoutHeading]) -> list[str]:
    """Differences between the registry and the handout headings (ids in order, titles, points); [] if none."""
    issues = []
    reg_ids, hand_ids = [p.id for p in problems], [h.id for h in headings]
    for pid in sorted(set(reg_ids) - set(hand_ids)):
        issues.append(f"problem {pid!r} is registered but has no handout heading")
    for h in headings:
        if h.id not in reg_ids:
            issues.append(f"handout line {h.line}: problem {h.id!r} is not registered in problems.toml")
    dupes = sorted({i for i in hand_ids if hand_ids.count(i) > 1})
    if dupes:
        issues.append(f"handout has more than one heading for {dupes}")
    common = [i for i in hand_ids if i in reg_ids]
    if not dupes and common != [i for i in reg_ids if i in hand_ids]:
        issues.append(f"handout order {common} differs from registry order {[i for i in reg_ids if i in hand_ids]}")
    by_id = {p.id: p for p in problems}
    for h in headings:
        p = by_id.get(h.id)
        if p is None:
            continue
        if h.points != p.points:
            issues.append(f"handout line {h.line}: {h.id} is worth {h.points} point(s); the registry says {p.points}")
        if h.title != p.title:
            issues.append(f"handout line {h.line}: {h.id} title {h.title!r}; the registry says {p.title!r}")
        if h.extra != p.extra:
            says = "an extra" if p.extra else "an official problem"
            issues.append(f"handout line {h.line}: {h.id} heading {'is' if h.extra else 'is not'} marked extra; the registry says {says}")
    return issues
