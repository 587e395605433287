"""Staff: the starter's pyproject.toml and uv.lock leave out the staff-only dependency groups, and uv
accepts the edited lock as up to date (`uv lock --check`, offline: no resolution needed)."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from grading.starter_deps import starter_lock, starter_pyproject
from grading.starter_text import ReleaseError

pytestmark = pytest.mark.staff

ROOT = Path(__file__).resolve().parents[2]
STAFF_PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
STAFF_LOCK = (ROOT / "uv.lock").read_text(encoding="utf-8")


def lock_check(tmp_path: Path, pyproject: str, lock: str) -> subprocess.CompletedProcess:
    """`uv lock --check --offline` on a project made of `pyproject` and `lock`."""
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (tmp_path / "uv.lock").write_text(lock, encoding="utf-8")
    (tmp_path / "README.md").write_text("starter\n", encoding="utf-8")
    (tmp_path / "cs336_basics").mkdir(exist_ok=True)
    (tmp_path / "cs336_basics" / "__init__.py").write_text("", encoding="utf-8")
    return subprocess.run([shutil.which("uv"), "lock", "--check", "--offline", "--directory", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def test_starter_pyproject_has_no_staff_group_script_or_default_groups():
    starter = tomllib.loads(starter_pyproject(STAFF_PYPROJECT))
    assert "staff" in tomllib.loads(STAFF_PYPROJECT)["dependency-groups"], "the staff repository lost its staff group"
    assert set(starter["dependency-groups"]) == {"dev", "bench"}
    assert "cs336-staff" not in starter["project"]["scripts"] and "cs336" in starter["project"]["scripts"]
    assert "default-groups" not in starter.get("tool", {}).get("uv", {})


@pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv on PATH")
def test_starter_lock_is_up_to_date_for_the_starter_pyproject(tmp_path):
    pyproject = starter_pyproject(STAFF_PYPROJECT)
    lock = starter_lock(STAFF_LOCK, STAFF_PYPROJECT, pyproject)
    names = {p["name"] for p in tomllib.loads(lock)["package"]}
    assert "submitit" not in names and "cloudpickle" not in names, "packages only the staff group needs are still locked"
    assert {"torch", "numpy", "pytest", "tiktoken", "tokenizers"} <= names
    done = lock_check(tmp_path, pyproject, lock)
    assert done.returncode == 0, f"uv does not accept the starter's lock:\n{done.stderr[-2000:]}"


@pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv on PATH")
def test_the_staff_lock_unedited_is_stale_for_the_starter(tmp_path):
    """The check above can fail: uv refuses the staff's lock with the starter's pyproject."""
    done = lock_check(tmp_path, starter_pyproject(STAFF_PYPROJECT), STAFF_LOCK)
    assert done.returncode != 0


def test_a_starter_pyproject_that_changes_more_than_staff_lines_is_refused():
    changed = starter_pyproject(STAFF_PYPROJECT).replace('"einops>=0.8"', '"einops>=0.7"')
    with pytest.raises(ReleaseError, match="real `uv lock`"):
        starter_lock(STAFF_LOCK, STAFF_PYPROJECT, changed)
