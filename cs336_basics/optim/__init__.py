"""Optimisation: AdamW, the learning-rate schedule and gradient clipping."""
