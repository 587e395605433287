"""Staff-only held-out tests: fresh inputs drawn per grading run, expected values from the oracles (issue #16)."""
