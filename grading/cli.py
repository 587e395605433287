"""The `cs336-staff` command line: the staff's commands, kept out of the student's `cs336`.

    cs336-staff grade [SUBMISSION]   grade a submission and write a Gradescope results.json
    cs336-staff grade-all DIR --out OUT   grade a class: results per student, gradebook.csv, grades.png
    cs336-staff release --out DIR    build and verify the student starter
    cs336-staff autograder           build the Gradescope autograder bundle
    cs336-staff mutants              check that the tests catch each mutant of the reference

The dispatcher is the student command line's (`cs336_basics.training.cli.dispatch`); grading imports
cs336_basics, never the other way round. `python -m grading.cli` is the same command.
"""

from __future__ import annotations

import sys

from cs336_basics.training.cli import build_parser, dispatch

STAFF_COMMANDS: dict[str, tuple[str, str]] = {
    "grade": ("grading.commands.grade", "grade a submission and write a Gradescope results.json"),
    "grade-all": ("grading.commands.grade_all", "grade a class of submissions: gradebook CSV and plot"),
    "release": ("grading.commands.release", "build and verify the student starter release"),
    "autograder": ("grading.commands.autograder", "build the Gradescope autograder bundle"),
    "mutants": ("grading.commands.mutants", "run the mutation catalogue: every mutant must fail some test"),
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser("cs336-staff", STAFF_COMMANDS, "Staff commands: grade, grade-all, release, autograder, mutants.")
    return dispatch(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
