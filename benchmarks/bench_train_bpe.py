"""Training time of our BPE trainers vs Hugging Face `tokenizers` (Rust), same corpus, vocab and threads.

    uv run --group bench python benchmarks/bench_train_bpe.py [--processes 2] [--repeats 2] [--reference all|small|none]

Two trainers of ours, with identical merges (tests/staff/test_fast_path.py): the reference
(cs336_basics.tokenizer.train_bpe: max() over the incrementally kept pair counts) and the staff fast path
(cs336_basics.fast.train_bpe: a heap over integer token ids). The reference runs once per case (its
large case takes minutes); --reference small times it on the small case only, none leaves it out.

Cases: the built-in Shakespeare training text (about 4.8 MB) at vocab 10,000, and a CS336-sized small case
(its first 130 KB) at vocab 500. HF: BpeTrainer with the ByteLevel pre-tokenizer (GPT-2's pattern and byte
alphabet), `<|endoftext|>` as special token, RAYON_NUM_THREADS = our process count. Goal for the fast
path: ratio <= 1.0 (our time / HF's time) on the large case with 2 processes. HF breaks ties between equally frequent pairs
its own way, so the merges are not compared here (the tests compare ours with a naive trainer).
Timings are wall-clock on whatever machine runs this; run it a couple of times.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import EOT, WORK_DIR, best_time, shakespeare_train_file  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--reference", choices=("all", "small", "none"), default="all", help="cases that time the reference too")
    args = parser.parse_args()
    os.environ["RAYON_NUM_THREADS"] = str(args.processes)  # read when tokenizers starts its thread pool
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from cs336_basics.fast import train_bpe as fast_train_bpe
    from cs336_basics.tokenizer.train_bpe import train_bpe

    big = shakespeare_train_file()
    small = WORK_DIR / "shakespeare_130k.txt"
    data = big.read_bytes()[:130_000]
    small.write_bytes(data[: data.rfind(b"\n") + 1])

    def hf_train(path: Path, vocab_size: int) -> None:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=[EOT],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train([str(path)], trainer)

    print(f"processes/threads: {args.processes}; best of {args.repeats}; cpu cores here: {os.cpu_count()}")
    for label, path, vocab_size in [("shakespeare 4.8 MB", big, 10_000), ("small 130 KB", small, 500)]:
        hf = best_time(lambda: hf_train(path, vocab_size), args.repeats)
        fast = best_time(lambda: fast_train_bpe(path, vocab_size, [EOT], num_processes=args.processes), args.repeats)
        line = f"{label:>20} vocab {vocab_size:>6}: HF tokenizers {hf:6.2f} s   fast {fast:6.2f} s (ratio fast/HF {fast / hf:5.2f})"
        if args.reference == "all" or (args.reference == "small" and path == small):
            reference = best_time(lambda: train_bpe(path, vocab_size, [EOT], num_processes=args.processes), 1)
            line += f"   reference {reference:7.2f} s (ratio reference/HF {reference / hf:6.2f})"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
