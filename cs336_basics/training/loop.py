"""The training loop: data -> TransformerLM -> cross-entropy -> AdamW with schedule and clipping -> checkpoint.

One function, `train(config)`, serves the laptop run and `torchrun --nproc-per-node N` (DistributedDataParallel:
every rank samples its own batches, gradients are averaged, only rank 0 writes files). A run is exactly
resumable: the batch of step t on rank r is drawn from a generator seeded by (seed, r, t), and the
checkpoint holds weights, optimiser state, step, config and the torch RNG, so a run stopped at any
checkpoint and resumed logs the same losses, bit for bit on a CPU, as one that never stopped.
"""

from __future__ import annotations

import json
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from cs336_basics.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from cs336_basics.data import get_batch
from cs336_basics.nn.loss import cross_entropy
from cs336_basics.nn.transformer import TransformerLM
from cs336_basics.optim.adamw import AdamW
from cs336_basics.optim.clipping import clip_gradients
from cs336_basics.optim.schedule import get_lr_cosine_schedule
from cs336_basics.training.config import TrainConfig
from cs336_basics.training.distributed import (
    Dist,
    init_distributed,
    parameter_digest,
    shutdown_distributed,
)
from cs336_basics.training.evaluation import EvalResult, evaluate, unigram_baseline
from cs336_basics.training.metrics import MetricsLog, plot_losses
from cs336_basics.training.prepare import prepare_data

CHECKPOINT = "checkpoint.pt"


class TrainingDiverged(RuntimeError):
    """The loss or the gradient norm became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainResult:
    step: int
    val: EvalResult | None
    baseline: EvalResult | None
    samples: list[str]
    seconds: float


def batch_generator(seed: int, rank: int, step: int) -> np.random.Generator:
    """The generator of one step's batch: a pure function of (seed, rank, step), so resuming needs no state."""
    return np.random.default_rng([seed, rank, step])


class _StopRequest:
    """Turns Ctrl-C / SIGTERM into a flag the loop checks between steps (a second Ctrl-C interrupts at once)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict = {}

    def __enter__(self) -> _StopRequest:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def resume_training(run_dir: str | Path) -> TrainResult:
    """Continue the run in `run_dir` from its checkpoint, with the config stored in the checkpoint."""
    checkpoint = Path(run_dir) / CHECKPOINT
    if not checkpoint.is_file():
        raise FileNotFoundError(f"no {CHECKPOINT} in {str(run_dir)!r} to resume from")
    saved = read_checkpoint(checkpoint)["extra"]["config"]
    saved["out_dir"] = str(run_dir)
    return train(TrainConfig.from_dict(saved), resume=True)


def train(config: TrainConfig, resume: bool = False) -> TrainResult:
    """Train a TransformerLM as `config` says; see the module docstring."""
    started = time.perf_counter()
    env = init_distributed(config.device)
    try:
        return _train(config, env, resume, started)
    finally:
        shutdown_distributed()


def _train(config: TrainConfig, env: Dist, resume: bool, started: float) -> TrainResult:
    from tqdm.auto import tqdm

    log = print if env.is_main else (lambda *a, **k: None)
    run_dir = Path(config.out_dir)
    if env.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    # Rank 0 builds the cached data; the others wait for it, then read it.
    if not env.is_main:
        env.barrier()
    data = prepare_data(config, run_dir, write=env.is_main, log=log)
    if env.is_main:
        env.barrier()
    baseline = None
    if data.val is not None:
        baseline = unigram_baseline(data.train, data.val, config.model.vocab_size, data.token_bytes)
        log(f"unigram baseline on validation: {_describe(baseline)}")

    torch.manual_seed(config.seed)  # identical initial weights on every rank
    model = TransformerLM(config.model, device=env.device, dtype=torch.float32)
    o = config.optim
    optimizer = AdamW(model.parameters(), lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps, weight_decay=o.weight_decay)
    checkpoint = run_dir / CHECKPOINT
    start = 0
    if resume:
        start = load_checkpoint(checkpoint, model, optimizer, restore_rng=True)
        log(f"resuming {run_dir} from step {start}")
    elif env.is_main and checkpoint.exists():
        log(f"starting a new run in {run_dir}: its old checkpoint is replaced (use --resume {run_dir} to continue one)")
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params / 1e6:.2f}M parameters; device {env.device}, {env.world_size} process(es)")

    trained: torch.nn.Module = model
    if env.world_size > 1:
        trained = DistributedDataParallel(model, device_ids=[env.device.index] if env.device.type == "cuda" else None)
    if config.compile:
        trained = torch.compile(trained)
    autocast = torch.autocast(env.device.type, dtype=torch.bfloat16, enabled=config.bf16)
    metrics = MetricsLog(run_dir / "metrics.jsonl", resume_from_step=start if resume else None) if env.is_main else None

    def save(step: int) -> None:
        if env.is_main:
            save_checkpoint(model, optimizer, step, checkpoint, config=config.to_dict())

    def run_eval(final: bool) -> EvalResult:
        return evaluate(
            model, data.val, config.model.context_length, config.batch_size, env.device, data.token_bytes,
            max_tokens=None if final else config.eval_tokens, autocast=autocast,
        )  # fmt: skip

    ctx, steps = config.model.context_length, config.steps
    tokens_per_step = config.batch_size * ctx * env.world_size
    last_saved, val = start, None
    window_time, window_steps = 0.0, 0
    bar = tqdm(total=steps, initial=start, disable=not env.is_main, unit="step", dynamic_ncols=True)
    with _StopRequest() as stop:
        for step in range(start + 1, steps + 1):
            t0 = time.perf_counter()
            lr = get_lr_cosine_schedule(step, o.lr, o.min_lr, o.warmup_steps, steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = get_batch(data.train, config.batch_size, ctx, str(env.device), generator=batch_generator(config.seed, env.rank, step))
            with autocast:
                logits = trained(x)
            loss = cross_entropy(logits.float().flatten(0, 1), y.flatten())
            loss.backward()
            grad_norm = float(clip_gradients(model.parameters(), o.grad_clip if o.grad_clip > 0 else math.inf))
            # One all-reduce gives every rank the same mean loss and stop flag, so all ranks stop together.
            shared = env.mean(torch.tensor([loss.item(), float(stop.requested)], dtype=torch.float64))
            train_loss, stopping = float(shared[0]), bool(shared[1] > 0)
            if not (math.isfinite(train_loss) and math.isfinite(grad_norm)):
                bar.close()
                where = f"the last good checkpoint (step {last_saved}) is {checkpoint}" if last_saved else "no checkpoint was saved"
                raise TrainingDiverged(
                    f"training diverged at step {step}: loss {train_loss}, gradient norm {grad_norm}; stopped, and "
                    f"{where}. Try a smaller --optim.lr (now {o.lr:g}) or a longer --optim.warmup_steps."
                )
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            window_time += time.perf_counter() - t0
            window_steps += 1
            bar.update(1)
            bar.set_postfix(loss=f"{train_loss:.3f}", tok_s=f"{window_steps * tokens_per_step / window_time:,.0f}")

            record = None
            if step % config.log_interval == 0 or step == steps:
                record = {"step": step, "tokens": step * tokens_per_step, "train_loss": train_loss, "lr": lr,
                          "grad_norm": grad_norm, "tokens_per_s": window_steps * tokens_per_step / window_time}  # fmt: skip
                window_time, window_steps = 0.0, 0
            if data.val is not None and env.is_main and (step % config.eval_interval == 0 or step == steps):
                val = run_eval(final=step == steps)
                record = record or {"step": step, "tokens": step * tokens_per_step, "train_loss": train_loss, "lr": lr}
                record.update(val_loss=val.nats_per_token, val_perplexity=math.exp(val.nats_per_token))
                if val.nats_per_byte is not None:
                    record["val_nats_per_byte"] = val.nats_per_byte
                bar.write(f"step {step}: validation {_describe(val)}")
            if record is not None and metrics is not None:
                metrics.write(record)
                if "val_loss" in record:
                    plot_losses(metrics.path, run_dir / "loss.png", baseline.nats_per_token if baseline else None)
            if step % config.checkpoint_interval == 0 or step == steps:
                save(step)
                last_saved = step
            if stopping and step < steps:
                if last_saved != step:
                    save(step)
                bar.close()
                log(f"stopped at step {step}; checkpoint saved in {checkpoint}. Continue with: cs336 train --resume {run_dir}")
                raise KeyboardInterrupt
    bar.close()
    if env.world_size > 1:
        print(f"rank {env.rank}/{env.world_size}: parameter sha256 {parameter_digest(model)}", flush=True)
    samples = _write_samples(config, model, data.tokenizer_dir, run_dir) if env.is_main else []
    seconds = time.perf_counter() - started
    if val is not None:
        log(f"final validation: {_describe(val)}  (unigram baseline: {_describe(baseline)})")
    log(f"done in {seconds / 60:.1f} min; checkpoint {checkpoint}, metrics {run_dir / 'metrics.jsonl'}, plot {run_dir / 'loss.png'}")
    return TrainResult(steps, val, baseline, samples, seconds)


def _describe(result: EvalResult) -> str:
    text = f"{result.nats_per_token:.3f} nats/token (perplexity {math.exp(result.nats_per_token):.1f})"
    if result.nats_per_byte is not None:
        text += f", {result.nats_per_byte:.3f} nats/byte"
    return text


def _write_samples(config: TrainConfig, model: torch.nn.Module, tokenizer_dir: Path | None, run_dir: Path) -> list[str]:
    """Generate config.samples texts, print them and save them to samples.txt."""
    if config.samples == 0 or tokenizer_dir is None:
        return []
    from cs336_basics.decoding import generate_text
    from cs336_basics.training.prepare import load_tokenizer

    tokenizer = load_tokenizer(tokenizer_dir)
    samples = [
        generate_text(
            model, tokenizer, config.sample_prompt, config.sample_tokens,
            temperature=config.temperature, top_p=config.top_p, seed=config.seed + i,
            stop_token=config.data.special_token,
        )  # fmt: skip
        for i in range(config.samples)
    ]
    text = "".join(f"--- sample {i + 1} ---\n{s}\n" for i, s in enumerate(samples))
    print(text, end="")
    (run_dir / "samples.txt").write_text(text)
    return samples
