"""One submission with a different failure in each of several problems (and a correct adamw).

`EXPECTED` maps each problem to the text every one of its failing tests' messages must contain.
The submission also rewrites test files and conftest.py, which the grader must ignore.
"""

from __future__ import annotations

from pathlib import Path

# problem -> (graded file, code appended to it, text each failing test's message contains)
FAILURES: dict[str, tuple[str, str, str]] = {
    "learning_rate_schedule": (
        "cs336_basics/optim/schedule.py",
        "\ndef broken(:  # a syntax error\n",
        "SyntaxError",
    ),
    "gradient_clipping": (
        "cs336_basics/optim/clipping.py",
        "\nimport cs336_module_that_does_not_exist  # noqa: E402,F401\n",
        "ModuleNotFoundError",
    ),
    "cross_entropy": (
        "tests/adapters.py",
        "\n\ndef run_cross_entropy(inputs, targets):\n    while True:  # an infinite loop\n        pass\n",
        "timed out",
    ),
    "data_loading": (
        "tests/adapters.py",
        "\n\ndef run_get_batch(dataset, batch_size, context_length, device):\n"
        "    hog = []\n"
        # a memory bomb, 256 MiB at a time (zero pages: fast even on a loaded machine; the limit counts
        # allocated memory whether or not it is written)
        "    while True:\n"
        "        hog.append(bytearray(1 << 28))\n",
        "out of memory",
    ),
    "checkpointing": (
        "tests/adapters.py",
        "\n\ndef run_save_checkpoint(model, optimizer, iteration, out):\n"
        "    import ctypes\n\n"
        "    ctypes.string_at(0)  # a segmentation fault\n",
        "SIGSEGV",
    ),
}
CORRECT = "adamw"  # untouched: must keep full marks whatever happens to the others

# Files the grader must ignore: rewritten tests, a conftest that passes everything, an extra test.
IGNORED: dict[str, str] = {
    "tests/test_cross_entropy.py": (
        "import pytest\n\npytestmark = pytest.mark.problem('cross_entropy')\n\n\ndef test_cross_entropy():\n    assert True\n"
    ),
    "tests/conftest.py": (
        "import pytest\n\n\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n    outcome.get_result().outcome = 'passed'\n"
    ),
    "tests/test_extra.py": (
        "import pytest\n\n\n@pytest.mark.problem('learning_rate_schedule')\ndef test_free_points():\n    assert True\n"
    ),
}


def make(reference: Path, dest: Path) -> Path:
    """Write the broken submission (reference code + FAILURES + IGNORED) into `dest`."""
    import shutil

    shutil.copytree(reference / "cs336_basics", dest / "cs336_basics", ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "tests").mkdir(parents=True)
    shutil.copy2(reference / "tests" / "adapters.py", dest / "tests" / "adapters.py")
    for rel, code, _ in FAILURES.values():
        with (dest / rel).open("a", encoding="utf-8") as f:
            f.write(code)
    for rel, text in IGNORED.items():
        (dest / rel).write_text(text, encoding="utf-8")
    return dest
