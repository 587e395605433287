"""Provided and complete: the training infrastructure around the modules you write. You need not edit it.

    config.py      ModelConfig, TrainConfig and the named presets; `build_config` (used by `cs336 train`
                   and `cs336 accounting` alike)
    loop.py        `train(config)`: data -> TransformerLM -> cross-entropy -> AdamW -> checkpoint
    prepare.py     the run's tokenizer and token arrays, cached in its run directory
    corpus.py      the built-in Shakespeare corpus
    evaluation.py  validation loss in nats/token and nats/byte; the unigram baseline
    metrics.py     metrics.jsonl and the loss plot
    distributed.py torchrun set-up (DistributedDataParallel) and the device choice
    system.py      the CPU cores available, huge pages for large CPU tensors
    atomic.py      atomic file writes
    options.py     command-line options derived from the config dataclasses
    cli.py         the `cs336` command line; commands/ holds one module per subcommand

It calls only the public functions and classes of your modules (tokenizer/, nn/, optim/, data.py,
checkpoint.py, decoding.py), so it works as soon as they do.
"""
