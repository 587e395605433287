"""`cs336 train`: train a Transformer LM; with no options, the default Shakespeare run on the CPU.

The config is the preset (default `shakespeare`), then the `--config` file, then the options given on the
command line, in that order; `--resume RUN_DIR` continues a run with the config saved in its checkpoint.
Runs unchanged under `torchrun --nproc-per-node N` (DistributedDataParallel).
"""

from __future__ import annotations

import argparse

from cs336_basics.training.cli import UserError
from cs336_basics.training.config import (
    TRAIN_PRESETS,
    TrainConfig,
    build_config,
    load_config_file,
)
from cs336_basics.training.options import add_dataclass_options, given_options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "%(prog)s [--preset NAME] [--config FILE] [--resume RUN_DIR] [--FIELD VALUE ...]"
    parser.description = (
        "Train a Transformer LM. With no options: the complete works of Shakespeare (built in), a BPE tokenizer "
        "of 4096 tokens and a 5.3M-parameter model, under 10 minutes on a 2-core CPU; everything lands in runs/shakespeare/. "
        "Options override the preset, then the --config file. Works under torchrun --nproc-per-node N."
    )
    parser.add_argument(
        "--preset",
        choices=sorted(TRAIN_PRESETS),
        default=None,
        help="named starting config: shakespeare (default), tinystories-17m (needs the TinyStories text files) "
        "or debug (tiny, for tests)",
    )
    parser.add_argument("--config", metavar="FILE", help="JSON or TOML file of config fields (nested tables model, data, optim)")
    parser.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its checkpoint.pt with its saved config (no other config options)",
    )
    add_dataclass_options(parser, TrainConfig)


def run(args: argparse.Namespace) -> int:
    options = given_options(args, TrainConfig)
    if args.resume is not None and (options or args.preset or args.config):
        raise UserError("--resume continues a run with its saved config; drop --preset, --config and the other options")
    config = None
    if args.resume is None:
        try:
            layers = [load_config_file(args.config)] if args.config else []
            config = build_config(args.preset or "shakespeare", *layers, options)
        except ValueError as e:
            raise UserError(str(e)) from e

    from cs336_basics.checkpoint import CheckpointError
    from cs336_basics.training.loop import TrainingDiverged, resume_training, train

    try:
        if config is None:
            resume_training(args.resume)
        else:
            train(config)
    except (TrainingDiverged, CheckpointError) as e:
        raise UserError(str(e).splitlines()[0]) from e
    return 0
