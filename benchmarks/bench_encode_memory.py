"""Peak memory growth of `encode_iterable` over a large file: it must not grow with the input.

    uv run --group bench python benchmarks/bench_encode_memory.py [--mb 100]

Generates a text file of --mb megabytes (the Shakespeare text, repeated with numbered lines so the
pre-token cache keeps seeing new words), then streams it through our GPT-2 tokenizer's `encode_iterable`
(line by line, ids counted and dropped) while a thread samples the process's resident memory (psutil).
Reports the peak growth over the resident memory just before, and that growth as a fraction of the file
size. Goal: growth <= 64 MB for a 100 MB file.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import EOT, WORK_DIR, gpt2_files, shakespeare_train_file  # noqa: E402


def write_big_file(path: Path, megabytes: int) -> None:
    lines = shakespeare_train_file().read_text(encoding="utf-8").splitlines(keepends=True)
    target, written, n = megabytes * 1_000_000, 0, 0
    with open(path, "w", encoding="utf-8") as f:
        while written < target:
            for line in lines:
                out = f"{n} {line}" if n % 7 == 0 else line
                f.write(out)
                written += len(out)
                n += 1
                if written >= target:
                    break


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=100)
    args = parser.parse_args()
    import psutil

    from cs336_basics.tokenizer.tokenizer import Tokenizer

    path = WORK_DIR / f"big_{args.mb}mb.txt"
    if not path.exists() or path.stat().st_size < args.mb * 1_000_000:
        write_big_file(path, args.mb)
    tok = Tokenizer.from_files(*gpt2_files(), special_tokens=[EOT])
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    count = 0
    with open(path, encoding="utf-8") as f:
        for _ in tok.encode_iterable(f):
            count += 1
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    size = path.stat().st_size
    growth = (peak - baseline) / 2**20
    print(f"file: {size / 1e6:.0f} MB -> {count:,} tokens in {elapsed:.1f} s ({size / 1e6 / elapsed:.2f} MB/s)")
    print(f"resident memory before: {baseline / 2**20:.0f} MiB; peak growth while encoding: {growth:.1f} MiB")
    print(f"ratio growth / file size: {growth * 2**20 / size:.3f}; goal: growth <= 64 MiB -> {'met' if growth <= 64 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
