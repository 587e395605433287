"""One mutation-testing worker: grade each of its mutants as a student submission holding that one bug.

    python -m grading.mutants.worker SPEC.json

It is the grader's own machinery, run once per mutant: the tree is the pristine starter with the
submission overlaid (grading.grader.make_tree), and grading.runner.Runner runs the tests of the
mutant's problem in a forked child with the grader's time and memory limits. What differs from
`grade()` is only that the worker imports the libraries and collects the pristine test map ONCE for all
its mutants, instead of once per mutant (that saves several seconds a mutant).

Spec (JSON): pristine (starter tree), solution (a folder holding the reference cs336_basics/ and
tests/adapters.py), catalogue (path), mutants (ids), baseline (problem ids to run unmutated first, may be
empty), workdir, results (JSON-lines file, one line per run, appended and flushed as each ends), limits
(the fields of grading.grader.Limits), keep.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

from grading import runner
from grading.grader import make_tree
from grading.mutants.catalogue import load_catalogue, mutated_file
from grading.submission import Submission, read_submission


class CachedMapRunner(runner.Runner):
    """grading.runner.Runner with the pristine test map collected once, by the first run."""

    def __init__(self, spec: dict, test_map: dict | None):
        super().__init__(spec)
        self._test_map = test_map

    def collect(self) -> dict:
        if self._test_map is None:
            self._test_map = super().collect()
        return self._test_map


def run_one(spec: dict, tag: str, submission: Submission, problems: list[str], test_map: dict | None) -> tuple[dict, dict]:
    """Grade `submission` on `problems` in a fresh tree; return (the runner's outcome, the test map)."""
    work = Path(spec["workdir"]) / tag
    if work.exists():
        shutil.rmtree(work)
    tree = work / "tree"
    make_tree(Path(spec["pristine"]), submission, tree)
    run_spec = {
        "tree": str(tree),
        "pristine": spec["pristine"],
        "out_dir": str(work / "run"),
        "problems": problems,
        **spec["limits"],  # every field of grading.grader.Limits, as grade() passes them
        "jobs": 1,
    }
    r = CachedMapRunner(run_spec, test_map)
    try:
        outcome = r.run()
    except Exception as e:  # the grader itself failed: reported as such, never as a kill
        outcome = {"error": f"{type(e).__name__}: {e}"}
    if not spec.get("keep"):
        shutil.rmtree(work, ignore_errors=True)
    return outcome, r._test_map


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    runner.preload()
    catalogue = load_catalogue(Path(spec["catalogue"])).by_id()
    solution = Path(spec["solution"])
    reference = read_submission(solution)
    results = Path(spec["results"])
    test_map = None

    def emit(record: dict) -> None:
        with results.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    if spec["baseline"]:
        start = time.monotonic()
        outcome, test_map = run_one(spec, "baseline", reference, spec["baseline"], test_map)
        emit({"id": None, "outcome": outcome, "seconds": time.monotonic() - start})
    for mid in spec["mutants"]:
        mutant = catalogue[mid]
        start = time.monotonic()
        files = dict(reference.files)
        files[mutant.file] = mutated_file(mutant, solution)
        outcome, test_map = run_one(spec, mid, Submission(files), [mutant.problem], test_map)
        emit({"id": mid, "outcome": outcome, "seconds": time.monotonic() - start})
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # like grading.runner: skip tearing down the preloaded (frozen) heap
