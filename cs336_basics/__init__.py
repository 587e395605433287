"""A Transformer language model built from scratch.

The assignment's problems: tokenizer/, nn/, optim/, data.py, checkpoint.py, decoding.py, accounting.py.
The training infrastructure that runs them, provided and complete: training/.
"""
