"""`cs336 accounting`: parameters, matmul FLOPs and training memory of a model preset, as a table.

    uv run cs336 accounting --preset tinystories-17m
    uv run cs336 accounting --preset shakespeare --set head_dim=256 --batch-size 64 --dtype bfloat16

The numbers come from `cs336_basics.accounting` (the same functions handout.md quotes); the model
config comes from `cs336_basics.training.config.build_config`, as in `cs336 train`.
"""

from __future__ import annotations

import argparse
import dataclasses

from cs336_basics import accounting
from cs336_basics.training.cli import UserError
from cs336_basics.training.config import TRAIN_PRESETS, ModelConfig, build_config

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="shakespeare", choices=sorted(TRAIN_PRESETS), help="model preset (default: shakespeare)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a ModelConfig field, e.g. --set d_model=1600 (repeatable); d_ff and head_dim are "
        "re-derived from d_model/ffn/num_heads unless set explicitly",
    )
    parser.add_argument("--batch-size", type=int, default=32, help="sequences per step, for activation memory (default: 32)")
    parser.add_argument("--seq-len", type=int, default=None, help="tokens per sequence (default: the context length)")
    parser.add_argument("--dtype", default="float32", choices=sorted(DTYPE_BYTES), help="storage dtype (default: float32)")


def model_config(preset: str, overrides: list[str]) -> ModelConfig:
    """The preset's model with `FIELD=VALUE` overrides applied by `build_config`, the function `cs336 train`
    uses, so both derive d_ff and head_dim alike: `--set ffn=silu` on shakespeare gives d_ff = 4 * 256 = 1024,
    `--set d_model=1600` re-derives d_ff and head_dim unless they are set too."""
    fields = {f.name: f for f in dataclasses.fields(ModelConfig)}
    current = TRAIN_PRESETS[preset].model.to_dict()
    parsed: dict[str, object] = {}
    for text in overrides:
        name, sep, value = text.partition("=")
        if not sep or name not in fields:
            raise UserError(f"--set expects FIELD=VALUE with FIELD one of {sorted(fields)}, got {text!r}")
        kind = type(current[name])
        try:
            parsed[name] = kind(value) if kind in (int, float) else value
        except ValueError:
            raise UserError(f"--set {name}: expected a {kind.__name__}, got {value!r}") from None
    try:
        return build_config(preset, {"model": parsed}).model
    except ValueError as e:
        raise UserError(str(e)) from None


def _fmt(n: float, unit: str = "") -> str:
    """Human-readable count: 17_039_360 -> '17.04M'."""
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{suffix}" + (f" {unit}" if unit else "")
    return f"{n:.0f}" + (f" {unit}" if unit else "")


def _bytes(n: int) -> str:
    for scale, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= scale:
            return f"{n / scale:.2f} {suffix}"
    return f"{n} B"


def _table(title: str, items: list[accounting.Item], fmt, grand_total: int) -> list[str]:
    lines = [title, f"  {'component':<36}{'each':>12}{'copies':>8}{'total':>12}{'share':>8}"]
    for item in items:
        share = 100 * item.total / grand_total if grand_total else 0.0
        lines.append(f"  {item.name:<36}{fmt(item.count):>12}{item.copies:>8}{fmt(item.total):>12}{share:>7.1f}%")
    lines.append(f"  {'total':<56}{fmt(grand_total):>12}  ({grand_total:,})")
    return lines


def report(config: ModelConfig, batch_size: int, seq_len: int | None, dtype: str) -> str:
    """The full accounting table as text."""
    T = config.context_length if seq_len is None else seq_len
    params = accounting.parameter_breakdown(config)
    n_params = accounting.total(params)
    n_matmul = accounting.count_matmul_parameters(config)
    flops = accounting.forward_flops_breakdown(config, T)
    fwd = accounting.total(flops)
    memory = accounting.training_memory_bytes(config, batch_size, DTYPE_BYTES[dtype], T)
    cfg = ", ".join(f"{k}={v}" for k, v in config.to_dict().items())
    lines = [f"config: {cfg}", ""]
    lines += _table("Parameters", params, _fmt, n_params)
    lines += [f"  matmul parameters N (all but embedding tables and norm gains): {_fmt(n_matmul)}", ""]
    lines += _table(f"Forward matmul FLOPs, one sequence of {T} tokens", flops, lambda n: _fmt(n), fwd)
    lines += [
        f"  forward per token:             {_fmt(fwd / T, 'FLOP')}",
        f"  training (fwd + 2x bwd) / tok: {_fmt(3 * fwd / T, 'FLOP')}",
        f"  6N rule of thumb / tok:        {_fmt(6 * n_matmul, 'FLOP')} (Kaplan et al. 2020; leaves out attention scores)",
        "",
    ]
    lines += _table(f"Training memory, batch {batch_size} x {T} tokens, {dtype}", memory, _bytes, accounting.total(memory))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    config = model_config(args.preset, args.overrides)
    if args.batch_size <= 0:
        raise UserError(f"--batch-size must be positive, got {args.batch_size}")
    if args.seq_len is not None and not 0 < args.seq_len <= config.context_length:
        raise UserError(f"--seq-len must be in [1, {config.context_length}] (the context length), got {args.seq_len}")
    try:
        text = report(config, args.batch_size, args.seq_len, args.dtype)
    except NotImplementedError:
        raise UserError(
            "cs336_basics/accounting.py is not implemented yet (problem transformer_accounting)"
        ) from None
    print(text)
    return 0
