"""The starter's pyproject.toml and uv.lock: the staff's, without the staff-only lines and dependency groups.

pyproject.toml loses every line marked STAFF_ONLY_LINE (the `cs336-staff` entry point, the `staff`
dependency group, the `default-groups` setting that installs it). uv.lock is then edited the way
`uv lock` itself rewrites it for that pyproject, so that the starter's lock is up to date
(`uv sync --locked` accepts it; release_verify.py installs with it) without resolving anything again:
- the root package loses the dependency groups that the starter's pyproject no longer has (both its
  `[package.dev-dependencies]` entry and its `[package.metadata.requires-dev]` entry);
- its `default-groups` line goes when the starter's pyproject leaves uv's default (["dev"]);
- packages that nothing kept depends on any more are dropped (e.g. submitit and its cloudpickle).
Any other difference between the two pyprojects is refused: it would need a real `uv lock`.
"""

from __future__ import annotations

import re
import tomllib

from grading.starter_text import STAFF_ONLY_LINE, ReleaseError

_PACKAGE_HEADER = "[[package]]\n"


def starter_pyproject(text: str) -> str:
    """pyproject.toml without its staff-only lines."""
    return "".join(line for line in text.splitlines(keepends=True) if STAFF_ONLY_LINE not in line)


def starter_lock(lock_text: str, staff_pyproject: str, starter_pyproject_text: str) -> str:
    """uv.lock for the starter's pyproject (see the module docstring)."""
    staff, starter = tomllib.loads(staff_pyproject), tomllib.loads(starter_pyproject_text)
    dropped = set(staff.get("dependency-groups", {})) - set(starter.get("dependency-groups", {}))
    if _comparable(staff, dropped) != _comparable(starter, set()):
        raise ReleaseError("the starter's pyproject.toml differs from the staff's in more than staff-only dependency "
                           "groups, scripts and [tool.uv]: its uv.lock would need a real `uv lock`")  # fmt: skip
    if starter.get("tool", {}).get("uv", {}).get("default-groups") is not None:
        raise ReleaseError("the starter's pyproject.toml sets default-groups: leave it to uv's default ([\"dev\"])")

    head, *blocks = lock_text.split("\n" + _PACKAGE_HEADER)
    name = staff["project"]["name"]
    lock = tomllib.loads(lock_text)
    root_index = next((i for i, p in enumerate(lock["package"]) if p["name"] == name), None)
    if root_index is None or len(blocks) != len(lock["package"]):
        raise ReleaseError(f"uv.lock: cannot find the package {name!r} among its [[package]] blocks")
    blocks[root_index] = _drop_groups(blocks[root_index], dropped)

    kept = tomllib.loads(_PACKAGE_HEADER + blocks[root_index])["package"][0]
    reachable = _reachable(lock["package"], kept)
    out = [head]
    for package, block in zip(lock["package"], blocks):
        if (package["name"], package.get("version")) in reachable:
            out.append(block)
    return ("\n" + _PACKAGE_HEADER).join(out)


def _comparable(pyproject: dict, dropped_groups: set[str]) -> dict:
    """What the lock depends on: everything but the scripts, [tool.uv] and the dropped groups."""
    project = {k: v for k, v in pyproject.get("project", {}).items() if k != "scripts"}
    tool = {k: v for k, v in pyproject.get("tool", {}).items() if k != "uv"}
    groups = {k: v for k, v in pyproject.get("dependency-groups", {}).items() if k not in dropped_groups}
    return {**pyproject, "project": project, "tool": tool, "dependency-groups": groups}


def _drop_groups(block: str, groups: set[str]) -> str:
    """The root package's block without `default-groups` and without the entries of `groups`."""
    block = re.sub(r"(?m)^default-groups = \[.*\]\n", "", block)
    for group in sorted(groups):
        # `group = [ ... ]` on one line, or over several lines closed by a "]" of its own
        block, n = re.subn(rf"(?ms)^{re.escape(group)} = \[(?:[^\n]*\]\n|\n.*?^\]\n)", "", block)
        if n != 2:
            raise ReleaseError(f"uv.lock: expected the group {group!r} in dev-dependencies and requires-dev, found it {n} times")
    return block


def _reachable(packages: list[dict], root: dict) -> set[tuple[str, str | None]]:
    """(name, version) of the root and of every package it needs: dependencies, the kept groups and all
    extras of the root; dependencies and the requested extras of every other package."""
    versions: dict[str, list[str | None]] = {}
    for p in packages:
        versions.setdefault(p["name"], []).append(p.get("version"))
    by_key = {(p["name"], p.get("version")): p for p in packages}
    root_key = (root["name"], root.get("version"))
    seen: set[tuple[str, str | None, str | None]] = set()  # (name, version, extra or None)
    todo = [(*root_key, None)]
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.add(item)
        name, version, extra = item
        package = root if (name, version) == root_key else by_key[(name, version)]
        if extra is not None:
            needs = package.get("optional-dependencies", {}).get(extra, [])
        elif package is root:
            groups = (*package.get("optional-dependencies", {}).values(), *package.get("dev-dependencies", {}).values())
            needs = [*package.get("dependencies", []), *(dep for group in groups for dep in group)]
        else:
            needs = package.get("dependencies", [])
        for dep in needs:  # an entry without a version means the only locked version of that name
            for v in [dep["version"]] if "version" in dep else versions[dep["name"]]:
                todo.extend((dep["name"], v, e) for e in (None, *dep.get("extra", [])))
    return {(name, version) for name, version, _ in seen}
