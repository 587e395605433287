"""Training tokens/s of our TransformerLM (reference and staff fast path) vs the same architecture from
torch built-ins (benchmarks/torch_twin.py).

Three contenders hold identical weights (one state_dict) and see identical batches: the reference
model with the reference cross-entropy; the same model after cs336_basics.fast.accelerate with
fast.cross_entropy (what `cs336 train` runs when TrainConfig.fast is set); and the torch twin with
fast.cross_entropy (torch's fused kernel). Each step is forward, loss, backward and our AdamW step. The
contenders run in turn in one process (the machine may be shared), each for an untimed step and then
`--steps` timed ones per round, and the median of the per-round ratios is reported.
Goal for the fast path: fast / built-ins >= 0.95.

    uv run python benchmarks/bench_train_throughput.py [--preset shakespeare] [--rounds 7] [--steps 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from cs336_basics.training.system import request_huge_pages

# The process settings `cs336` runs with (training/system.py), set before torch allocates anything; both
# contenders run under them. THP_MEM_ALLOC_ENABLE=0 in the environment turns huge pages off.
HUGE_PAGES = request_huge_pages()

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_device_options, setup_device  # noqa: E402
from torch_twin import TorchTransformerLM  # noqa: E402

from cs336_basics import fast  # noqa: E402
from cs336_basics.training.config import MODEL_PRESETS  # noqa: E402
from cs336_basics.nn.loss import cross_entropy  # noqa: E402
from cs336_basics.nn.transformer import TransformerLM  # noqa: E402
from cs336_basics.optim.adamw import AdamW  # noqa: E402


def train_steps(model, loss_fn, optimizer, batches, device) -> float:
    """Seconds for one optimiser step per batch (synchronised on a GPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for x, y in batches:
        loss = loss_fn(model(x).flatten(0, 1), y.flatten())
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
    reference = TransformerLM(config, device=device, dtype=torch.float32)
    accelerated = fast.accelerate(TransformerLM(config, device=device, dtype=torch.float32))
    accelerated.load_state_dict(reference.state_dict())
    builtin = TorchTransformerLM(config).to(device)
    missing, unexpected = builtin.load_state_dict(reference.state_dict(), strict=False)
    assert not missing and not [k for k in unexpected if "rope" not in k], (missing, unexpected)

    rng = np.random.default_rng(0)
    shape = (args.batch_size, config.context_length + 1)
    batches = [torch.from_numpy(rng.integers(0, config.vocab_size, shape)).to(device) for _ in range(args.steps)]
    batches = [(b[:, :-1], b[:, 1:]) for b in batches]
    with torch.no_grad():
        x = batches[0][0]
        gaps = {name: (m(x) - builtin(x)).abs().max().item() for name, m in (("reference", reference), ("fast", accelerated))}
    print(f"{args.preset}: {sum(p.numel() for p in reference.parameters()) / 1e6:.2f}M parameters, batch {args.batch_size} x "
          f"{config.context_length}, device {device}, {torch.get_num_threads()} threads, huge pages {'on' if HUGE_PAGES else 'off'}; "
          f"max |logit gap| to the twin: reference {gaps['reference']:.1e}, fast {gaps['fast']:.1e}")  # fmt: skip

    contenders = {
        "reference": (reference, cross_entropy),
        "fast": (accelerated, fast.cross_entropy),
        "builtin": (builtin, fast.cross_entropy),
    }
    optimizers = {name: AdamW(model.parameters(), lr=1e-4) for name, (model, _) in contenders.items()}
    for name, (model, loss_fn) in contenders.items():
        train_steps(model, loss_fn, optimizers[name], batches[:1], device)  # warm-up: allocator, kernels
    tokens = args.steps * args.batch_size * config.context_length
    ratios: dict[str, list[float]] = {"reference": [], "fast": []}
    names = list(contenders)
    for r in range(args.rounds):
        order = names[r % 3 :] + names[: r % 3]  # rotate who goes first, so drifting load hits all alike
        times = {}
        for name in order:
            model, loss_fn = contenders[name]
            # One untimed step first: the first step after another model ran pays to re-map the memory the
            # other freed, which a real run, one model throughout, never does.
            train_steps(model, loss_fn, optimizers[name], batches[:1], device)
            times[name] = train_steps(model, loss_fn, optimizers[name], batches, device)
        for name in ratios:
            ratios[name].append(times["builtin"] / times[name])
        print(f"round {r + 1}: " + ", ".join(f"{n} {tokens / times[n]:,.0f} tok/s" for n in names)
              + f"; ratios fast {ratios['fast'][-1]:.3f}, reference {ratios['reference'][-1]:.3f}", flush=True)  # fmt: skip
    fast_median, reference_median = statistics.median(ratios["fast"]), statistics.median(ratios["reference"])
    print(f"median throughput ratio fast / built-ins: {fast_median:.3f} (goal >= 0.95) -> {'PASS' if fast_median >= 0.95 else 'FAIL'}")
    print(f"median throughput ratio reference / built-ins: {reference_median:.3f}")


if __name__ == "__main__":
    main()
