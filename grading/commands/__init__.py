"""Staff subcommands of the `cs336` command line: grade, release, autograder (see cs336_basics/cli.py)."""
