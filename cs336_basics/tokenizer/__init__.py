"""Byte-level BPE: pre-tokenisation, training and the tokenizer."""
