"""Fixture submissions for the grader's tests, built from the reference solution plus a patch each.

Each patch appends code to one graded file, so it stays valid however the solution grows: an adapter
redefined at the end of tests/adapters.py replaces the reference hook the tests import, and a broken
line added to a cs336_basics module breaks only the problems whose hooks import it (the adapters
import lazily, inside each hook).
"""
