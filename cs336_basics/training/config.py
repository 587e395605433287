"""Typed configuration of a run, the named presets, and the one function that builds a config from them.

`ModelConfig` (the architecture) nests in a `TrainConfig` with a `DataConfig` and an `OptimConfig`;
each validates itself in `__post_init__` and names the bad field. `build_config` applies overrides to a
preset: `cs336 train` (options `--model.d_model 256`, `--optim.lr 3e-3`, `--steps 500`, and a --config
file) and `cs336 accounting` (`--set d_model=512`) both call it, so they derive d_ff and head_dim the
same way. A checkpoint stores `TrainConfig.to_dict()` so a run can be resumed or sampled without flags.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


def _check(condition: bool, name: str, message: str) -> None:
    """Raise ValueError("name: message") unless `condition`; `name` is the field's path, e.g. "OptimConfig.lr"."""
    if not condition:
        raise ValueError(f"{name}: {message}")


def from_dict(cls: type, data: dict, where: str | None = None):
    """`cls(**data)` for a config dataclass, naming any unknown key (a typo in a config file or a checkpoint).

    Example: from_dict(OptimConfig, {"lr": 1e-3}).lr -> 0.001; {"lrr": 1} raises "OptimConfig: unknown field(s) ['lrr']".
    """
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where or cls.__name__}: unknown field(s) {unknown}; known fields are {sorted(known)}")
    return cls(**data)


Position = Literal["rope", "sinusoidal", "learned", "none"]
Norm = Literal["pre", "post", "none"]
FFN = Literal["swiglu", "silu"]


def default_d_ff(d_model: int) -> int:
    """About 8/3 * d_model (keeps SwiGLU's parameter count equal to a 4*d_model SiLU FFN), rounded to a
    multiple of 64 for efficient matrix shapes. Example: default_d_ff(512) -> 1344."""
    return max(64, round(8 * d_model / 3 / 64) * 64)


@dataclass
class ModelConfig:
    """Architecture of a Transformer LM; the defaults are the CS336 pre-norm / RoPE / SwiGLU model."""

    vocab_size: int
    """Number of token ids the embedding and the LM head cover."""
    context_length: int
    """Longest input sequence the model accepts (and the size of the position tables)."""
    d_model: int
    """Width of the residual stream."""
    num_layers: int
    """Number of Transformer blocks."""
    num_heads: int
    """Number of attention heads."""
    d_ff: int | None = None
    """Hidden width of the feed-forward network; None means the parameter-matched default:
    `default_d_ff(d_model)` (≈ 8/3 d_model) for swiglu, 4 * d_model for silu."""
    rope_theta: float = 10000.0
    """RoPE base Θ (Su et al. 2021): angle of pair k at position i is i / Θ^(2k/head_dim)."""
    head_dim: int | None = None
    """Width of each head; None means d_model // num_heads. head_dim = d_model gives wide heads."""
    position: Position = "rope"
    """Position information: rope, sinusoidal (added to the embeddings), learned (added) or none (NoPE)."""
    norm: Norm = "pre"
    """Placement of RMSNorm in each block: pre (before each sub-layer), post (after the residual add) or none."""
    ffn: FFN = "swiglu"
    """Feed-forward network: swiglu (gated, three matrices) or silu (two matrices, for the ablation)."""
    eps: float = 1e-5
    """RMSNorm epsilon, added inside the square root."""

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context_length", "d_model", "num_layers", "num_heads"):
            value = getattr(self, name)
            _check(isinstance(value, int) and value > 0, f"ModelConfig.{name}", f"must be a positive integer, got {value!r}")
        for name, allowed in (("position", Position), ("norm", Norm), ("ffn", FFN)):
            choices = allowed.__args__
            _check(getattr(self, name) in choices, f"ModelConfig.{name}", f"must be one of {choices}, got {getattr(self, name)!r}")
        if self.d_ff is None:
            # Three d_model x d_ff matrices at 8/3 d_model hold as many weights as two at 4 d_model.
            self.d_ff = default_d_ff(self.d_model) if self.ffn == "swiglu" else 4 * self.d_model
        _check(isinstance(self.d_ff, int) and self.d_ff > 0, "ModelConfig.d_ff", f"must be a positive integer, got {self.d_ff!r}")
        if self.head_dim is None:
            _check(
                self.d_model % self.num_heads == 0,
                "ModelConfig.num_heads",
                f"d_model={self.d_model} is not divisible by num_heads={self.num_heads}; set head_dim explicitly",
            )
            self.head_dim = self.d_model // self.num_heads
        _check(isinstance(self.head_dim, int) and self.head_dim > 0, "ModelConfig.head_dim", f"must be positive, got {self.head_dim!r}")
        if self.position == "rope":
            _check(self.head_dim % 2 == 0, "ModelConfig.head_dim", f"RoPE rotates pairs, so head_dim must be even, got {self.head_dim}")
        _check(self.rope_theta > 0, "ModelConfig.rope_theta", f"must be positive, got {self.rope_theta!r}")
        _check(self.eps > 0, "ModelConfig.eps", f"must be positive, got {self.eps!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        return from_dict(cls, data)


# Named model sizes. The training presets (data, optimiser, steps) build on these.
MODEL_PRESETS: dict[str, ModelConfig] = {
    # tiny, for tests and CI
    "debug": ModelConfig(vocab_size=512, context_length=32, d_model=64, num_layers=2, num_heads=4, d_ff=128),
    # the default laptop-CPU run on the embedded Shakespeare corpus
    "shakespeare": ModelConfig(vocab_size=4096, context_length=128, d_model=256, num_layers=4, num_heads=8),
    # the 17M-parameter (non-embedding) model the CS336 2025 handout recommends for TinyStories
    "tinystories-17m": ModelConfig(
        vocab_size=10000, context_length=256, d_model=512, num_layers=4, num_heads=16, d_ff=1344, rope_theta=10000.0
    ),
}


Device = Literal["auto", "cpu", "cuda", "mps"]


@dataclass
class DataConfig:
    """Where the token streams come from."""

    train: str | None = None
    """Training text (.txt, encoded with the run's tokenizer) or token array (.npy); none: the built-in Shakespeare corpus."""
    val: str | None = None
    """Validation text (.txt) or token array (.npy); none: the held-out Shakespeare plays (built-in corpus) or no validation."""
    tokenizer: str | None = None
    """Directory of a trained tokenizer (`cs336 train-tokenizer`); none: train one of model.vocab_size on the training text."""
    special_token: str = "<|endoftext|>"
    """The document separator, kept whole by the tokenizer."""

    def __post_init__(self) -> None:
        for name in ("train", "val"):
            value = getattr(self, name)
            if value is not None:
                _check(
                    Path(value).suffix in (".txt", ".npy"),
                    f"DataConfig.{name}",
                    f"expected a .txt text file or a .npy token array, got {value!r}",
                )
        _check(self.val is None or self.train is not None, "DataConfig.val", "given without DataConfig.train")
        _check(bool(self.special_token), "DataConfig.special_token", "must be a non-empty string")


@dataclass
class OptimConfig:
    """AdamW (Loshchilov & Hutter 2019) with a cosine schedule and linear warm-up, and gradient clipping."""

    lr: float = 3e-3
    """Peak learning rate, reached at the end of the warm-up."""
    min_lr: float = 3e-4
    """Learning rate at the end of the cosine decay (the last step)."""
    warmup_steps: int = 50
    """Steps of linear warm-up from 0 to optim.lr."""
    weight_decay: float = 0.1
    """Decoupled weight decay λ (applied as θ -= lr·λ·θ)."""
    beta1: float = 0.9
    """AdamW first-moment decay."""
    beta2: float = 0.95
    """AdamW second-moment decay."""
    eps: float = 1e-8
    """AdamW denominator epsilon."""
    grad_clip: float = 1.0
    """Largest global L2 norm of the gradients; larger gradients are scaled down (0 disables clipping)."""

    def __post_init__(self) -> None:
        _check(self.lr > 0, "OptimConfig.lr", f"must be positive, got {self.lr!r}")
        _check(0 <= self.min_lr <= self.lr, "OptimConfig.min_lr", f"must be in [0, lr={self.lr}], got {self.min_lr!r}")
        _check(self.warmup_steps >= 0, "OptimConfig.warmup_steps", f"must be >= 0, got {self.warmup_steps!r}")
        _check(self.weight_decay >= 0, "OptimConfig.weight_decay", f"must be >= 0, got {self.weight_decay!r}")
        for name in ("beta1", "beta2"):
            _check(0 <= getattr(self, name) < 1, f"OptimConfig.{name}", f"must be in [0, 1), got {getattr(self, name)!r}")
        _check(self.eps > 0, "OptimConfig.eps", f"must be positive, got {self.eps!r}")
        _check(self.grad_clip >= 0, "OptimConfig.grad_clip", f"must be >= 0, got {self.grad_clip!r}")


@dataclass
class TrainConfig:
    """A whole training run: model, data, optimiser, loop lengths, device and the final samples."""

    model: ModelConfig
    """Architecture (see `cs336 accounting` for its size)."""
    data: DataConfig = field(default_factory=DataConfig)
    """Token streams."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    """Optimiser and learning-rate schedule."""
    out_dir: str = "runs/shakespeare"
    """Run directory: prepared data, tokenizer, checkpoint.pt, metrics.jsonl, loss.png, samples.txt."""
    steps: int = 1000
    """Number of optimiser steps."""
    batch_size: int = 32
    """Sequences per step on each process (the global batch is batch_size x number of processes)."""
    log_interval: int = 10
    """Write a metrics.jsonl record every this many steps."""
    eval_interval: int = 100
    """Evaluate the validation loss every this many steps (and after the last step)."""
    eval_tokens: int = 65536
    """Validation tokens per intermediate evaluation (evenly spaced windows); the final one uses the whole set."""
    checkpoint_interval: int = 100
    """Save checkpoint.pt every this many steps (and after the last step, and on Ctrl-C)."""
    seed: int = 0
    """Seed of the initial weights and of every batch (batch of step t on rank r depends on (seed, r, t) only)."""
    device: Device = "auto"
    """Device: auto picks cuda, then mps, then cpu."""
    bf16: bool = False
    """Run the forward pass under bfloat16 autocast (weights and optimiser state stay float32)."""
    compile: bool = False
    """Compile the model with torch.compile (worth it on a GPU; slow to start on a CPU)."""
    samples: int = 3
    """Number of texts to generate after training."""
    sample_tokens: int = 160
    """New tokens per sample."""
    sample_prompt: str = ""
    """Prompt of the samples (empty: start after the document separator)."""
    temperature: float = 0.8
    """Sampling temperature of the samples (0 means greedy)."""
    top_p: float = 0.95
    """Nucleus (top-p) mass of the samples."""

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):
            self.model = ModelConfig.from_dict(self.model)
        if isinstance(self.data, dict):
            self.data = from_dict(DataConfig, self.data, "TrainConfig.data")
        if isinstance(self.optim, dict):
            self.optim = from_dict(OptimConfig, self.optim, "TrainConfig.optim")
        for name in ("steps", "batch_size", "log_interval", "eval_interval", "eval_tokens", "checkpoint_interval"):
            value = getattr(self, name)
            _check(isinstance(value, int) and value > 0, f"TrainConfig.{name}", f"must be a positive integer, got {value!r}")
        _check(self.samples >= 0, "TrainConfig.samples", f"must be >= 0, got {self.samples!r}")
        _check(self.sample_tokens > 0, "TrainConfig.sample_tokens", f"must be positive, got {self.sample_tokens!r}")
        _check(self.temperature >= 0, "TrainConfig.temperature", f"must be >= 0, got {self.temperature!r}")
        _check(0 < self.top_p <= 1, "TrainConfig.top_p", f"must be in (0, 1], got {self.top_p!r}")
        _check(self.device in Device.__args__, "TrainConfig.device", f"must be one of {Device.__args__}, got {self.device!r}")
        _check(
            self.optim.warmup_steps <= self.steps,
            "TrainConfig.optim.warmup_steps",
            f"{self.optim.warmup_steps} is longer than the run (steps={self.steps})",
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        return from_dict(cls, data)


TRAIN_PRESETS: dict[str, TrainConfig] = {
    # The default laptop-CPU run: Shakespeare's plays, 340 steps x 32 x 128 = 1.39M tokens (0.9 of a pass
    # over the 1.55M training tokens) at 2,600-3,800 tokens/s on 2 cores (measured; the README has the run):
    # 400 steps took 8.8 minutes, too close to the 10-minute goal on a slower moment of a shared machine.
    "shakespeare": TrainConfig(
        model=MODEL_PRESETS["shakespeare"],
        out_dir="runs/shakespeare",
        steps=340,
        batch_size=32,
        log_interval=10,
        eval_interval=85,
        eval_tokens=32768,
        checkpoint_interval=100,
        optim=OptimConfig(lr=3e-3, min_lr=3e-4, warmup_steps=20),
    ),
    # The CS336 TinyStories model; expects the TinyStories text files (not bundled) under data/.
    "tinystories-17m": TrainConfig(
        model=MODEL_PRESETS["tinystories-17m"],
        data=DataConfig(train="data/TinyStoriesV2-GPT4-train.txt", val="data/TinyStoriesV2-GPT4-valid.txt"),
        out_dir="runs/tinystories-17m",
        steps=10000,
        batch_size=128,
        eval_interval=500,
        checkpoint_interval=1000,
        log_interval=20,
        optim=OptimConfig(lr=2e-3, min_lr=2e-4, warmup_steps=500),
        sample_prompt="Once upon a time",
        sample_tokens=256,
    ),
    # Tiny and quick, for tests and CI: give it a small text with --data.train / --data.val.
    "debug": TrainConfig(
        model=MODEL_PRESETS["debug"],
        out_dir="runs/debug",
        steps=20,
        batch_size=4,
        log_interval=1,
        eval_interval=10,
        eval_tokens=2048,
        checkpoint_interval=10,
        optim=OptimConfig(lr=1e-2, min_lr=1e-3, warmup_steps=2),
        samples=1,
        sample_tokens=16,
    ),
}


def _deep_update(base: dict, overrides: dict, where: str) -> None:
    for key, value in overrides.items():
        if key not in base:
            raise ValueError(f"{where}: unknown field {key!r}; known fields are {sorted(base)}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ValueError(f"{where}.{key}: expected a table of fields, got {value!r}")
            _deep_update(base[key], value, f"{where}.{key}")
        else:
            base[key] = value


def load_config_file(path: str | Path) -> dict:
    """Read a nested config from JSON or TOML (`{"model": {"d_model": 256}, "steps": 500}`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {str(path)!r} does not exist")
    if path.suffix == ".json":
        data = json.loads(path.read_text())
    elif path.suffix == ".toml":
        with path.open("rb") as f:
            data = tomllib.load(f)
    else:
        raise ValueError(f"config file {str(path)!r}: expected a .json or .toml file")
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(path)!r}: expected a table of fields at the top level")
    return data


def build_config(preset: str, *overrides: dict) -> TrainConfig:
    """The preset's config with each nested `overrides` dict applied in turn, validated.

    Derived model fields follow the fields they derive from, unless an override sets them too:
    d_ff is re-derived (`ModelConfig.d_ff`: 8/3 d_model rounded for swiglu, 4 d_model for silu) when
    d_model or ffn changes, and head_dim (d_model // num_heads) when d_model or num_heads changes.
    Example: build_config("shakespeare", {"model": {"ffn": "silu"}}).model.d_ff -> 1024 (4 * 256).
    """
    if preset not in TRAIN_PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(TRAIN_PRESETS)}")
    merged = TRAIN_PRESETS[preset].to_dict()
    for layer in overrides:
        _deep_update(merged, layer, "TrainConfig")
    model_set = set().union(*(layer.get("model", {}) for layer in overrides))
    if {"d_model", "ffn"} & model_set and "d_ff" not in model_set:
        merged["model"]["d_ff"] = None
    if {"d_model", "num_heads"} & model_set and "head_dim" not in model_set:
        merged["model"]["head_dim"] = None
    return TrainConfig.from_dict(merged)
