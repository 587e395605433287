"""Neural-network modules written from scratch: pure math in functional.py, modules elsewhere."""
