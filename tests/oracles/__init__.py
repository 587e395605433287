"""Staff-only independent oracles that produce tests/fixtures/ (never shipped in the student starter)."""
