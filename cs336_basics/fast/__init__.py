"""Staff-only fast path: the same functions as the reference, computed with library kernels and tuned code.

The reference in cs336_basics/{nn,optim,tokenizer}/ is the answer key, written as a student would; the
starter leaves this package out. Nothing here is used unless asked for: `TrainConfig.fast` (set by the
default `shakespeare` preset) makes the training loop, data preparation and `cs336 generate` call it, and
`cs336 encode --fast` selects the fast tokenizer. tests/staff/test_fast_path.py checks every piece
against the reference (outputs and gradients; token ids and merges identical).

    model = accelerate(TransformerLM(config))        # fused attention, RMSNorm, SiLU; complex RoPE
    loss = cross_entropy(model(x), y)                # torch's fused cross-entropy
    tokenizer = FastTokenizer.from_tokenizer(tok)    # batched NumPy BPE for encode / encode_file
    vocab, merges = train_bpe(path, 4096, ["<|endoftext|>"])   # heap-driven merge loop
"""

from cs336_basics.fast.tokenizer import FastTokenizer
from cs336_basics.fast.train_bpe import train_bpe

__all__ = ["FastTokenizer", "accelerate", "cross_entropy", "train_bpe"]


def __getattr__(name: str):
    # The model pieces load torch, which the tokenizer pieces do not need: `cs336 encode --fast` on a
    # small file would otherwise spend most of its time importing torch.
    if name in ("accelerate", "cross_entropy"):
        from cs336_basics.fast import nn

        return getattr(nn, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
