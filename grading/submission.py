"""Find a submission's graded files (a directory or a zip) and overlay them onto a pristine grading tree.

Only `cs336_basics/**` and `tests/adapters.py` are taken from a submission (SUBMITTED); every other
file of the grading tree (tests, fixtures, conftest, pyproject) stays pristine, so a submission that
edits or adds tests cannot change what is graded. The files may sit under a top folder (a student who
zips their repository folder): the shallowest folder holding them is used. Symbolic links, caches and
compiled files are ignored; sizes are capped so a zip bomb cannot fill the disk.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

PACKAGE = "cs336_basics"
ADAPTERS = "tests/adapters.py"
SUBMITTED = (PACKAGE + "/", ADAPTERS)  # what a submission may provide; documented in the starter README
MAX_BYTES = 200 * 2**20
MAX_FILES = 5000
SKIPPED_PARTS = {"__pycache__", "__MACOSX", ".git", ".venv"}


class SubmissionError(ValueError):
    """The submission cannot be read (not a directory or a zip, unsafe or too large archive)."""


@dataclass
class Submission:
    """The graded files of a submission: relative POSIX path -> bytes, and what was noticed on the way."""

    files: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _graded_path(rel: PurePosixPath, prefix: PurePosixPath) -> str | None:
    """`rel` relative to `prefix` when it is a graded file (under cs336_basics/ or tests/adapters.py)."""
    try:
        inner = rel.relative_to(prefix)
    except ValueError:
        return None
    parts = inner.parts
    if not parts or SKIPPED_PARTS & set(parts) or inner.suffix in (".pyc", ".pyo", ".so"):
        return None
    if parts[0] == PACKAGE and len(parts) > 1 or inner.as_posix() == ADAPTERS:
        return inner.as_posix()
    return None


def _find_prefix(paths: list[PurePosixPath]) -> PurePosixPath | None:
    """The shallowest folder holding cs336_basics/... or tests/adapters.py; None if there is none."""
    candidates = set()
    for p in paths:
        parts = p.parts
        for i, part in enumerate(parts[:-1]):
            if SKIPPED_PARTS & set(parts[:i]):
                break
            if part == PACKAGE or (part == "tests" and parts[i + 1 :] == ("adapters.py",)):
                candidates.add(PurePosixPath(*parts[:i]))
                break
    return min(candidates, key=lambda c: (len(c.parts), str(c))) if candidates else None


def read_zip(path: Path) -> Submission:
    sub = Submission()
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise SubmissionError(f"{path} is not a valid zip file: {e}") from e
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        safe = []
        for info in infos:
            name = PurePosixPath(info.filename)
            if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
                sub.notes.append(f"ignored unsafe path in the zip: {info.filename!r}")
            elif stat.S_ISLNK(info.external_attr >> 16):
                sub.notes.append(f"ignored a symbolic link in the zip: {info.filename}")
            else:
                safe.append((name, info))
        prefix = _find_prefix([n for n, _ in safe])
        if prefix is None:
            return sub
        total = 0
        for name, info in safe:
            rel = _graded_path(name, prefix)
            if rel is None:
                continue
            total += info.file_size
            if total > MAX_BYTES or len(sub.files) >= MAX_FILES:
                raise SubmissionError(f"the submission's graded files exceed {MAX_BYTES >> 20} MiB or {MAX_FILES} files")
            sub.files[rel] = archive.read(info)
    return sub


def read_dir(root: Path) -> Submission:
    sub = Submission()
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_PARTS)
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = PurePosixPath(full.relative_to(root).as_posix())
            if full.is_symlink():
                if _graded_path(rel, PurePosixPath()) or PACKAGE in rel.parts:
                    sub.notes.append(f"ignored a symbolic link: {rel}")
                continue
            paths.append(rel)
    prefix = _find_prefix(paths)
    if prefix is None:
        zips = [p for p in paths if p.suffix == ".zip" and len(p.parts) == 1]
        if len(zips) == 1:  # an uploaded zip that was not unpacked
            return read_zip(root / zips[0])
        return sub
    total = 0
    for rel in paths:
        graded = _graded_path(rel, prefix)
        if graded is None:
            continue
        data = (root / rel).read_bytes()
        total += len(data)
        if total > MAX_BYTES or len(sub.files) >= MAX_FILES:
            raise SubmissionError(f"the submission's graded files exceed {MAX_BYTES >> 20} MiB or {MAX_FILES} files")
        sub.files[graded] = data
    return sub


def read_submission(path: Path) -> Submission:
    """Read the graded files of a submission directory or zip; notes say what is missing or was ignored."""
    path = Path(path)
    if path.is_dir():
        sub = read_dir(path)
    elif path.is_file():
        sub = read_zip(path)
    else:
        raise FileNotFoundError(f"submission not found: {path}")
    if not any(f.startswith(PACKAGE + "/") for f in sub.files):
        sub.notes.append(f"the submission has no {PACKAGE}/ folder: the starter's (unimplemented) code is graded")
    if ADAPTERS not in sub.files:
        sub.notes.append(f"the submission has no {ADAPTERS}: the starter's (unimplemented) adapters are graded")
    return sub


def overlay(sub: Submission, tree: Path) -> None:
    """Write the submission's graded files over the grading tree (files it lacks keep the starter's).

    A submitted module replaces the starter's module of the same import name whatever its form: the
    submission's cs336_basics/tokenizer.py removes the starter's cs336_basics/tokenizer/ package, and its
    cs336_basics/tokenizer/__init__.py removes the starter's cs336_basics/tokenizer.py (else Python
    would import the package and ignore the student's file).
    """
    submitted = set(sub.files)
    for rel in sorted(submitted):
        path = PurePosixPath(rel)
        if path.suffix == ".py" and path.name != "__init__.py":
            rival = tree / path.with_suffix("")
            if rival.is_dir() and not any(f.startswith(str(path.with_suffix("")) + "/") for f in submitted):
                shutil.rmtree(rival)
        if path.name == "__init__.py":
            rival = tree / path.parent.with_suffix(".py")
            if rival.is_file() and str(path.parent.with_suffix(".py")) not in submitted:
                rival.unlink()
    for rel, data in sub.files.items():
        dest = tree / rel
        if dest.is_dir():  # a file where the starter has a folder: drop the folder
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
