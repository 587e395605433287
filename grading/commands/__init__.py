"""Subcommands of the staff command line `cs336-staff` (one module each; see grading/cli.py)."""
