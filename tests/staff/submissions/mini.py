"""A tiny synthetic starter tree and submission for the runner's failure modes, independent of the real suite.

Each problem of MINI_PROBLEMS exercises one way a test process can go wrong; EXPECTED gives the score
and the message text of every test. The tests do not import torch, so only the runner's preload costs time.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

MINI_PROBLEMS = """
[[problem]]
id = "restart"
title = "A crash in the middle of a problem"
points = 3
kind = "autograded"

[[problem]]
id = "exits"
title = "Code that exits the interpreter"
points = 3
kind = "autograded"

[[problem]]
id = "hang"
title = "A loop the per-test timeout cannot stop"
points = 2
kind = "autograded"

[[problem]]
id = "skips"
title = "Static and run-time skips"
points = 2
kind = "autograded"

[[problem]]
id = "collect"
title = "A test module that cannot import the submission's adapters"
points = 1
kind = "autograded"

[[problem]]
id = "import_hang"
title = "A loop at import time, outside any test"
points = 1
kind = "autograded"

[[problem]]
id = "essay"
title = "A written problem"
points = 5
kind = "written"
"""

PYPROJECT = """
[project]
name = "mini"
version = "0"

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-ra --strict-markers --strict-config"
timeout = 120
markers = ["problem(id): problem", "staff: staff"]
"""

STARTER_ADAPTERS = """
def ok():
    raise NotImplementedError


def crash():
    raise NotImplementedError


def os_exit():
    raise NotImplementedError


def sys_exit():
    raise NotImplementedError


def hang():
    raise NotImplementedError


def skip_now():
    raise NotImplementedError


def needed_by_collect():
    raise NotImplementedError
"""

# The submission: `needed_by_collect` is missing, so tests/test_collect.py cannot import.
SUBMISSION_ADAPTERS = """
import ctypes
import os
import signal
import sys


def ok():
    return 42


def crash():
    ctypes.string_at(0)


def os_exit():
    os._exit(0)


def sys_exit():
    sys.exit(3)


def hang():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # pytest-timeout's signal never arrives
    while True:
        pass


def skip_now():
    import pytest

    pytest.skip("the code under test asked to be skipped")
"""

TESTS = {
    "test_restart.py": """
        import pytest
        from tests import adapters

        pytestmark = pytest.mark.problem("restart")

        def test_first():
            assert adapters.ok() == 42

        def test_segfaults():
            adapters.crash()

        def test_after_the_crash():
            assert adapters.ok() == 42
    """,
    "test_exits.py": """
        import pytest
        from tests import adapters

        pytestmark = pytest.mark.problem("exits")

        def test_sys_exit():
            adapters.sys_exit()

        def test_os_exit():
            adapters.os_exit()

        def test_fine():
            assert adapters.ok() == 42
    """,
    "test_hang.py": """
        import pytest
        from tests import adapters

        pytestmark = pytest.mark.problem("hang")

        def test_hangs():
            adapters.hang()

        def test_never_reached():
            assert adapters.ok() == 42
    """,
    "test_skips.py": """
        import pytest
        from tests import adapters

        pytestmark = pytest.mark.problem("skips")

        @pytest.mark.skipif(True, reason="needs hardware the grader lacks")
        def test_static_skip():
            assert False

        def test_runtime_skip():
            adapters.skip_now()

        @pytest.mark.parametrize("case", [1, 2])
        def test_passes(case):
            assert adapters.ok() == 42
    """,
    "test_import_hang.py": """
        import pytest

        import cs336_basics.slow_import  # the submission's version never finishes importing

        pytestmark = pytest.mark.problem("import_hang")

        def test_needs_the_module():
            assert cs336_basics.slow_import.VALUE == 1
    """,
    "test_collect.py": """
        import pytest
        from tests.adapters import needed_by_collect

        pytestmark = pytest.mark.problem("collect")

        def test_uses_the_missing_hook():
            needed_by_collect()
    """,
}

# problem -> (expected score, {test function name: text its failure message contains, or None if it passes})
EXPECTED: dict[str, tuple[float, dict[str, str | None]]] = {
    "restart": (2, {"test_first": None, "test_segfaults": "SIGSEGV", "test_after_the_crash": None}),
    "exits": (1, {"test_sys_exit": "SystemExit", "test_os_exit": "exit status 0", "test_fine": None}),
    "hang": (0, {"test_hangs": "time limit", "test_never_reached": "time limit"}),
    # test_static_skip is left out of the split: 2 points over test_runtime_skip and test_passes[1,2]
    "skips": (1, {"test_runtime_skip": "skipped while running", "test_passes[1]": None, "test_passes[2]": None}),
    "import_hang": (0, {"test_needs_the_module": "importing the test modules took longer than"}),
    "collect": (0, {"test_uses_the_missing_hook": "could not be imported: ImportError: cannot import name 'needed_by_collect'"}),
}


def make_tree(root: Path, registry_module: Path, conftest: Path) -> tuple[Path, Path]:
    """Write the pristine mini starter under root/pristine and the submission under root/submission."""
    pristine, submission = root / "pristine", root / "submission"
    (pristine / "grading").mkdir(parents=True)
    (pristine / "grading" / "__init__.py").write_text("")
    shutil.copy2(registry_module, pristine / "grading" / "registry.py")
    (pristine / "grading" / "problems.toml").write_text(MINI_PROBLEMS)
    (pristine / "pyproject.toml").write_text(PYPROJECT)
    (pristine / "tests").mkdir()
    (pristine / "tests" / "__init__.py").write_text("")
    shutil.copy2(conftest, pristine / "tests" / "conftest.py")
    (pristine / "tests" / "adapters.py").write_text(STARTER_ADAPTERS)
    for name, text in TESTS.items():
        (pristine / "tests" / name).write_text(textwrap.dedent(text))
    (pristine / "cs336_basics").mkdir()
    (pristine / "cs336_basics" / "__init__.py").write_text("")
    (pristine / "cs336_basics" / "slow_import.py").write_text("VALUE = None\n")
    (submission / "tests").mkdir(parents=True)
    (submission / "tests" / "adapters.py").write_text(SUBMISSION_ADAPTERS)
    (submission / "cs336_basics").mkdir()
    (submission / "cs336_basics" / "__init__.py").write_text('"""The mini submission."""\n')
    (submission / "cs336_basics" / "slow_import.py").write_text("while True:  # never finishes importing\n    pass\n")
    return pristine, submission
