"""Training tokens/s of our from-scratch TransformerLM vs the same architecture from torch built-ins.

Both models hold identical weights (one state_dict) and see identical batches; each training step is
forward, our cross-entropy, backward and our AdamW step, so only the model code differs. The two run
alternately in one process (the machine may be shared), each for an untimed step and then `--steps`
timed ones per round, and the median of the per-round ratios is reported. Goal: ours / built-ins >= 0.95.

    uv run python benchmarks/bench_train_throughput.py [--preset shakespeare] [--rounds 7] [--steps 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from cs336_basics.training.system import request_huge_pages

# The process settings `cs336` runs with (cpu_memory.py), set before torch allocates anything; both
# contenders run under them. THP_MEM_ALLOC_ENABLE=0 in the environment turns huge pages off.
HUGE_PAGES = request_huge_pages()

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_device_options, setup_device  # noqa: E402
from torch_twin import TorchTransformerLM  # noqa: E402

from cs336_basics.training.config import MODEL_PRESETS  # noqa: E402
from cs336_basics.nn.loss import cross_entropy  # noqa: E402
from cs336_basics.nn.transformer import TransformerLM  # noqa: E402
from cs336_basics.optim.adamw import AdamW  # noqa: E402


def train_steps(model, optimizer, batches, device) -> float:
    """Seconds for one optimiser step per batch (synchronised on a GPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for x, y in batches:
        loss = cross_entropy(model(x).flatten(0, 1), y.flatten())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="shakespeare", choices=sorted(MODEL_PRESETS))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=5, help="training steps per contender per round")
    add_device_options(parser)
    args = parser.parse_args()

    device = setup_device(args)
    config = MODEL_PRESETS[args.preset]
    torch.manual_seed(0)
    ours = TransformerLM(config, device=device, dtype=torch.float32)
    builtin = TorchTransformerLM(config).to(device)
    missing, unexpected = builtin.load_state_dict(ours.state_dict(), strict=False)
    assert not missing and not [k for k in unexpected if "rope" not in k], (missing, unexpected)

    rng = np.random.default_rng(0)
    shape = (args.batch_size, config.context_length + 1)
    batches = [torch.from_numpy(rng.integers(0, config.vocab_size, shape)).to(device) for _ in range(args.steps)]
    batches = [(b[:, :-1], b[:, 1:]) for b in batches]
    with torch.no_grad():
        x = batches[0][0]
        gap = (ours(x) - builtin(x)).abs().max().item()
    print(f"{args.preset}: {sum(p.numel() for p in ours.parameters()) / 1e6:.2f}M parameters, batch {args.batch_size} x "
          f"{config.context_length}, device {device}, {torch.get_num_threads()} threads, huge pages {'on' if HUGE_PAGES else 'off'}; "
          f"max |logit gap| {gap:.1e}")  # fmt: skip

    opt_ours = AdamW(ours.parameters(), lr=1e-4)
    opt_builtin = AdamW(builtin.parameters(), lr=1e-4)
    train_steps(ours, opt_ours, batches[:1], device)  # warm-up: allocator, kernels
    train_steps(builtin, opt_builtin, batches[:1], device)
    tokens = args.steps * args.batch_size * config.context_length
    ratios = []
    for r in range(args.rounds):
        first_ours = r % 2 == 0  # alternate who goes first, so drifting load hits both alike
        times = {}
        for name in (["ours", "builtin"] if first_ours else ["builtin", "ours"]):
            model, opt = (ours, opt_ours) if name == "ours" else (builtin, opt_builtin)
            # One untimed step first: the first step after the other model ran pays to re-map the memory
            # the other freed (measured up to 20% slower), which a real run, one model throughout, never does.
            train_steps(model, opt, batches[:1], device)
            times[name] = train_steps(model, opt, batches, device)
        ratios.append(times["builtin"] / times["ours"])
        print(f"round {r + 1}: ours {tokens / times['ours']:,.0f} tok/s, built-ins {tokens / times['builtin']:,.0f} tok/s, "
              f"ratio {ratios[-1]:.3f}")  # fmt: skip
    median = statistics.median(ratios)
    print(f"median throughput ratio ours / built-ins: {median:.3f} (goal >= 0.95) -> {'PASS' if median >= 0.95 else 'FAIL'}")


if __name__ == "__main__":
    main()
