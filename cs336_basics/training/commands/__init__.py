"""Subcommands of the `cs336` command line, one module each (see cs336_basics/training/cli.py)."""
