"""Build the Gradescope autograder bundle (a zip) from the staff repository.

Layout of the zip (Gradescope unpacks it into /autograder/source):

    setup.sh          install uv and the locked dependencies into pristine/.venv (image build time)
    run_autograder    grade /autograder/submission, write /autograder/results/results.json
    pristine/         the student starter (release build: no solution) plus the grader's modules

The bundle holds no solution. Submission code runs in sandboxed workers that see none of /autograder
(grading/isolation/); the held-out tests and the oracles they use (STAFF_TRUSTED) are in the bundle
for the trusted test process only. The
pristine tree is what every submission is graded against (see grading/grader.py).
"""

from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

from grading.release import ReleaseError, build_starter

FILES_DIR = Path(__file__).resolve().parent / "autograder_files"
SCRIPTS = ("setup.sh", "run_autograder")
# The grader's own modules, added to the starter's grading/ (which holds only the registry).
GRADER_MODULES = (
    "__init__.py", "registry.py", "problems.toml", "grader.py", "runner.py", "sandbox.py", "pytest_plugin.py",
    "scoring.py", "submission.py",
    "isolation/__init__.py", "isolation/wire.py", "isolation/worker.py", "isolation/jail.py", "isolation/proxy.py",
    "honour.py", "cli.py", "commands/__init__.py", "commands/grade.py",
)  # fmt: skip
# Staff-only folders the bundle carries for the trusted side (the sandboxed worker never sees the bundle).
STAFF_TRUSTED = ("grading/heldout", "tests/oracles")
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entries carry this date: the same sources give the same bytes


def build_tree(source: Path, dest: Path) -> None:
    """The bundle's contents, unzipped: scripts at the top, the pristine tree under pristine/."""
    pristine = dest / "pristine"
    build_starter(source, pristine)
    grading_src = Path(source) / "grading"
    for rel in GRADER_MODULES:
        target = pristine / "grading" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(grading_src / rel, target)
    for rel in STAFF_TRUSTED:  # held-out tests and their oracles: read by the trusted test process only
        if (Path(source) / rel).is_dir():
            shutil.copytree(Path(source) / rel, pristine / rel, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
    for name in SCRIPTS:
        shutil.copy2(FILES_DIR / name, dest / name)


def write_zip(tree: Path, out: Path) -> None:
    """Deterministic zip of `tree`: sorted entries, fixed dates, scripts executable."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            rel = path.relative_to(tree).as_posix()
            info = zipfile.ZipInfo(rel, date_time=FIXED_TIME)
            mode = 0o755 if rel in SCRIPTS else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    tmp.replace(out)


def build_autograder(source: Path, out: Path) -> list[str]:
    """Write the bundle to `out`; return its entries."""
    out = Path(out)
    if out.suffix != ".zip":
        raise ReleaseError(f"the autograder bundle must be a .zip file; received {out}")
    with tempfile.TemporaryDirectory(prefix="cs336-autograder-") as tmp:
        build_tree(Path(source), Path(tmp))
        write_zip(Path(tmp), out)
    with zipfile.ZipFile(out) as zf:
        return zf.namelist()


def unpack(bundle: Path, source_dir: Path) -> None:
    """Unpack like Gradescope (into /autograder/source), keeping the scripts' executable bits."""
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(source_dir)
        for info in zf.infolist():
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                (source_dir / info.filename).chmod(mode)
