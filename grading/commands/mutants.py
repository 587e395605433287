"""`cs336-staff mutants`: grade each mutant of the mutation catalogue; every one must fail some test.

The same command as `python -m grading.mutants` (grading/mutants/__main__.py has the options and
the exit status).
"""

from grading.mutants.__main__ import add_arguments, run

__all__ = ["add_arguments", "run"]
