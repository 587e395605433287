"""Generation speed with the key/value cache vs recomputing the whole prefix at every step.

Greedy decoding of 256 new tokens from a 16-token prompt (so both produce the same tokens, which is
checked), alternating the two in one process and reporting the median ratio. The model is the
`shakespeare` preset widened to a 512-token context so that 272 positions fit without truncation.
Goal: cached >= 5x faster.

    uv run python benchmarks/bench_generate_kv_cache.py [--rounds 5] [--new-tokens 256]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

from cs336_basics.training.system import request_huge_pages

# The process settings `cs336` runs with (cpu_memory.py), set before torch allocates anything; both
# contenders run under them. THP_MEM_ALLOC_ENABLE=0 in the environment turns huge pages off.
HUGE_PAGES = request_huge_pages()

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_device_options, setup_device  # noqa: E402

from cs336_basics.training.config import MODEL_PRESETS  # noqa: E402
from cs336_basics.decoding import generate  # noqa: E402
from cs336_basics.nn.transformer import TransformerLM  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="shakespeare", choices=sorted(MODEL_PRESETS))
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--prompt-tokens", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    add_device_options(parser)
    args = parser.parse_args()

    device = setup_device(args)
    base = MODEL_PRESETS[args.preset]
    config = dataclasses.replace(base, context_length=max(base.context_length, 512))
    torch.manual_seed(0)
    model = TransformerLM(config, device=device, dtype=torch.float32).eval()
    prompt = torch.randint(0, config.vocab_size, (args.prompt_tokens,), generator=torch.Generator().manual_seed(0)).tolist()
    print(f"{args.preset} (context {config.context_length}): {args.prompt_tokens}-token prompt, {args.new_tokens} new tokens, "
          f"greedy, device {device}, {torch.get_num_threads()} threads, huge pages {'on' if HUGE_PAGES else 'off'}")  # fmt: skip

    def timed(use_cache: bool) -> tuple[float, list[int]]:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = generate(model, prompt, args.new_tokens, temperature=0.0, use_cache=use_cache)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start, out

    timed(True), timed(False)  # warm-up
    ratios = []
    for r in range(args.rounds):
        order = (True, False) if r % 2 == 0 else (False, True)
        results = {use_cache: timed(use_cache) for use_cache in order}
        (t_cache, out_cache), (t_full, out_full) = results[True], results[False]
        assert out_cache == out_full, "cached and recomputed greedy decoding gave different tokens"
        ratios.append(t_full / t_cache)
        print(f"round {r + 1}: cache {args.new_tokens / t_cache:,.0f} tok/s, recompute {args.new_tokens / t_full:,.0f} tok/s, "
              f"speed-up {ratios[-1]:.2f}x")  # fmt: skip
    median = statistics.median(ratios)
    print(f"median speed-up of the KV cache: {median:.2f}x (goal >= 5x) -> {'PASS' if median >= 5 else 'FAIL'}")


if __name__ == "__main__":
    main()
