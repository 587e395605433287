"""A key/value cache for incremental decoding.

During generation each new token only needs its own query, but attends to the keys and values of every
earlier token. Keeping those keys and values turns the cost of step t from a forward over t tokens into
a forward over one. The buffers are preallocated at the model's context length (no torch.cat growth),
one slab per layer, and `length` counts the tokens already committed.

    cache = KVCache.for_model(model, batch_size=1)
    logits = model(prompt, kv_cache=cache)          # fills positions 0 .. len(prompt) - 1
    logits = model(next_token, kv_cache=cache)      # position len(prompt) attends to all of them

Use it under torch.no_grad() / torch.inference_mode(): it is for decoding, not training.
"""

from __future__ import annotations

import torch
from jaxtyping import Float
from torch import Tensor


class LayerKVCache:
    """The view of a KVCache that one attention layer reads and writes during one forward call."""

    def __init__(self, keys: Tensor, values: Tensor, start: int):
        self.keys = keys  # (batch, heads, max_seq_len, head_dim), a view into the KVCache buffer
        self.values = values
        self.start = start  # tokens cached before this call: the position of the first new token

    def update(
        self, new_keys: Float[Tensor, " batch heads new head_dim"], new_values: Float[Tensor, " batch heads new head_dim"]
    ) -> tuple[Float[Tensor, " batch heads total head_dim"], Float[Tensor, " batch heads total head_dim"]]:
        """Store the new keys/values after the cached ones and return all of them (cached + new)."""
        # BEGIN SOLUTION
        expected = (*self.keys.shape[:2], new_keys.shape[-2], self.keys.shape[-1])
        if new_keys.shape != expected or new_values.shape != expected:
            raise ValueError(
                f"KV cache expects new keys/values of shape (batch, heads, new, head_dim) = {expected}; "
                f"received {tuple(new_keys.shape)} and {tuple(new_values.shape)}"
            )
        end = self.start + new_keys.shape[-2]
        if end > self.keys.shape[-2]:
            raise ValueError(f"KV cache overflow: {end} tokens do not fit its capacity of {self.keys.shape[-2]}")
        self.keys[:, :, self.start : end] = new_keys
        self.values[:, :, self.start : end] = new_values
        return self.keys[:, :, :end], self.values[:, :, :end]
        # END SOLUTION


class KVCache:
    """Keys and values of every layer for the first `length` tokens of a batch of sequences."""

    def __init__(
        self,
        num_layers: int,
        batch_size: int,
        num_heads: int,
        head_dim: int,
        max_seq_len: int,
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
    ):
        self.max_seq_len = max_seq_len
        self.length = 0
        # BEGIN SOLUTION
        shape = (num_layers, batch_size, num_heads, max_seq_len, head_dim)
        self.keys = torch.zeros(shape, device=device, dtype=dtype)
        self.values = torch.zeros(shape, device=device, dtype=dtype)
        # END SOLUTION

    @classmethod
    def for_model(cls, model: torch.nn.Module, batch_size: int) -> KVCache:
        """An empty cache sized for `model` (a TransformerLM): its layers, heads and context length."""
        config = model.config
        parameter = next(model.parameters())
        return cls(
            config.num_layers,
            batch_size,
            config.num_heads,
            config.head_dim,
            config.context_length,
            device=parameter.device,
            dtype=parameter.dtype,
        )

    @property
    def batch_size(self) -> int:
        return self.keys.shape[1]

    def layer(self, index: int) -> LayerKVCache:
        """The slab of layer `index`, positioned to append after the `length` cached tokens."""
        # BEGIN SOLUTION
        return LayerKVCache(self.keys[index], self.values[index], self.length)
        # END SOLUTION

    def advance(self, num_tokens: int) -> None:
        """Commit `num_tokens` new tokens once every layer has stored them."""
        # BEGIN SOLUTION
        if self.length + num_tokens > self.max_seq_len:
            raise ValueError(f"KV cache overflow: {self.length + num_tokens} tokens exceed max_seq_len={self.max_seq_len}")
        self.length += num_tokens
        # END SOLUTION

    def reset(self) -> None:
        """Forget every cached token (the buffers are reused)."""
        self.length = 0
