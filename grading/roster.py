"""Find the submissions of a class: a folder of folders and zips, or a Gradescope export.

    discover(root) -> [Entry]            each submission's folder or zip, with the students' names
    unpack_export(zip, dest) -> dest     Gradescope's "Download submissions" zip, unpacked safely

Gradescope's export is a folder `assignment_<id>_export/` holding `submission_metadata.yml` and one
folder per submission (`submission_<id>/`, the uploaded files, a zip upload left as a zip). The metadata
maps each folder to its submitters (a group submission has several). Any other folder is a class
folder: each subfolder and each .zip is one submission, named by its folder or file name.
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

GRADESCOPE_METADATA = "submission_metadata.yml"


class BatchError(ValueError):
    """The class folder cannot be read (no submissions, clashing names, a bad Gradescope metadata file)."""


@dataclass(frozen=True)
class Entry:
    """One submission of the class."""

    key: str
    """Its output folder under OUT/ (the submission's folder or zip name, made safe for a path)."""
    path: Path
    student: str
    """Names of the submitters (a Gradescope group: all of them, joined by '; ')."""
    email: str = ""


def safe_key(name: str) -> str:
    """A folder name for OUT/: 'Ada Lovelace.zip' -> 'Ada_Lovelace.zip'."""
    key = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "submission"
    return key


def read_gradescope_metadata(path: Path) -> dict[str, tuple[str, str]]:
    """Gradescope's export `submission_metadata.yml` -> {folder: (names, emails)}.

    The file maps each submission folder to its record, with Ruby-style symbol keys:
        submission_123:
          :submitters:
          - :name: Ada Lovelace
            :sid: '1815'
            :email: ada@example.edu
          :created_at: 2025-04-01 12:00:00 -07:00
    """
    import yaml  # staff dependency group

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise BatchError(f"{path} is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise BatchError(f"{path}: expected a mapping of submission folder -> record, got {type(data).__name__}")
    people = {}
    for folder, record in data.items():
        submitters = (record or {}).get(":submitters") or (record or {}).get("submitters") or []
        names = [str(s.get(":name") or s.get("name") or "") for s in submitters if isinstance(s, dict)]
        emails = [str(s.get(":email") or s.get("email") or "") for s in submitters if isinstance(s, dict)]
        people[str(folder)] = ("; ".join(n for n in names if n), "; ".join(e for e in emails if e))
    return people


def _export_root(root: Path) -> Path | None:
    """The folder holding Gradescope's metadata: root itself or its only subfolder that has it."""
    if (root / GRADESCOPE_METADATA).is_file():
        return root
    inner = [d for d in root.iterdir() if d.is_dir() and (d / GRADESCOPE_METADATA).is_file()]
    return inner[0] if len(inner) == 1 else None


def unpack_export(archive: Path, dest: Path, max_bytes: int = 20 * 2**30) -> Path:
    """Unpack a class zip (Gradescope's "Download submissions" export) into `dest`; return `dest`.

    Entries with absolute paths, `..` or symbolic links are skipped, and the total is capped, as for
    one submission's zip (grading/submission.py). An unpacked `dest` from an earlier run is reused.
    """
    done = dest / ".unpacked"
    if done.exists():
        return dest
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as e:
        raise BatchError(f"{archive} is not a valid zip file: {e}") from e
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if sum(i.file_size for i in infos) > max_bytes:
            raise BatchError(f"{archive} unpacks to more than {max_bytes >> 30} GiB")
        for info in infos:
            name = PurePosixPath(info.filename)
            if name.is_absolute() or ".." in name.parts or "\\" in info.filename or stat.S_ISLNK(info.external_attr >> 16):
                continue
            target = dest.joinpath(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out)
    done.touch()
    return dest


def discover(root: Path) -> list[Entry]:
    """Every submission under `root`: each subfolder and each .zip, or the folders of a Gradescope export."""
    root = Path(root)
    if not root.is_dir():
        raise BatchError(f"{root} is not a folder of submissions")
    entries = []
    export = _export_root(root)
    if export is not None:
        people = read_gradescope_metadata(export / GRADESCOPE_METADATA)
        for child in sorted(export.iterdir()):
            if child.name.startswith(".") or child.name == GRADESCOPE_METADATA:
                continue
            names, emails = people.get(child.name, ("", ""))
            entries.append(Entry(safe_key(child.name), child, names or child.name, emails))
    else:
        for child in sorted(root.iterdir()):
            if child.name.startswith((".", "_")) or not (child.is_dir() or child.suffix == ".zip"):
                continue
            name = child.stem if child.suffix == ".zip" else child.name
            entries.append(Entry(safe_key(name), child, name))
    keys = [e.key for e in entries]
    clashes = sorted({k for k in keys if keys.count(k) > 1})
    if clashes:
        raise BatchError(f"several submissions map to the same output folder: {clashes} (rename one)")
    if not entries:
        raise BatchError(f"no submission found under {root} (expected folders or .zip files)")
    return entries
