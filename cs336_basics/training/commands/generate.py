"""`cs336 generate`: continue a prompt with a trained checkpoint (its config rebuilds the model)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cs336_basics.training.cli import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", required=True, metavar="PATH", help="checkpoint.pt of a `cs336 train` run, or its run directory"
    )
    parser.add_argument("--prompt", default="", help="text to continue (default: start a new document)")
    parser.add_argument("--max-new-tokens", type=int, default=200, metavar="N", help="most tokens to generate (default 200)")
    parser.add_argument(
        "--temperature", type=float, default=0.8, metavar="T", help="softmax temperature; 0 means greedy decoding (default 0.8)"
    )
    parser.add_argument(
        "--top-p", type=float, default=0.95, metavar="P", help="nucleus sampling: keep the most likely tokens up to mass P (default 0.95)"
    )
    parser.add_argument("--seed", type=int, default=None, metavar="S", help="random seed, for reproducible samples")
    parser.add_argument("--num-samples", type=int, default=1, metavar="N", help="independent samples to print (default 1)")
    parser.add_argument(
        "--tokenizer", default=None, metavar="DIR", help="tokenizer directory (default: the run's, next to the checkpoint)"
    )
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"], help="device (default auto)")
    parser.add_argument("--no-cache", action="store_true", help="recompute the whole prefix at every step (slow; for comparison)")


def run(args: argparse.Namespace) -> int:
    import torch

    from cs336_basics.checkpoint import read_checkpoint
    from cs336_basics.decoding import generate_text
    from cs336_basics.nn.transformer import TransformerLM
    from cs336_basics.training.config import TrainConfig
    from cs336_basics.training.distributed import resolve_device
    from cs336_basics.training.prepare import TOKENIZER_DIR, load_tokenizer

    path = Path(args.checkpoint)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    if args.temperature < 0:
        raise UserError(f"--temperature must be >= 0 (0 is greedy), got {args.temperature}")
    if not 0 < args.top_p <= 1:
        raise UserError(f"--top-p must be in (0, 1], got {args.top_p}")
    if args.num_samples < 1:
        raise UserError(f"--num-samples must be positive, got {args.num_samples}")
    if args.max_new_tokens < 1:
        raise UserError(f"--max-new-tokens must be positive, got {args.max_new_tokens}")
    tokenizer_dir = Path(args.tokenizer) if args.tokenizer else path.parent / TOKENIZER_DIR
    if not tokenizer_dir.is_dir():
        raise FileNotFoundError(f"tokenizer directory {str(tokenizer_dir)!r} does not exist; pass --tokenizer DIR")
    try:
        state = read_checkpoint(path)
        config = TrainConfig.from_dict(state["extra"]["config"])
        device = resolve_device(args.device)
    except KeyError as e:
        raise UserError(f"{path}: not a `cs336 train` checkpoint (no saved config: missing {e})") from e
    except ValueError as e:  # CheckpointError included; its first line names the file and the problem
        raise UserError(str(e).splitlines()[0]) from e
    model = TransformerLM(config.model, device=device, dtype=torch.float32)
    model.load_state_dict(state["model"])
    tokenizer = load_tokenizer(tokenizer_dir)
    for i in range(args.num_samples):
        if args.num_samples > 1:
            print(f"--- sample {i + 1} ---")
        text = generate_text(
            model, tokenizer, args.prompt, args.max_new_tokens, args.temperature, args.top_p,
            seed=None if args.seed is None else args.seed + i, stop_token=config.data.special_token,
            use_cache=not args.no_cache,
        )  # fmt: skip
        print(text)
    return 0
