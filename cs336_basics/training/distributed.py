"""Device choice and the multi-process plumbing of the training loop.

Under `torchrun --nproc-per-node N` each process reads RANK, LOCAL_RANK and WORLD_SIZE from its
environment and joins a process group (NCCL on GPUs, gloo on CPUs); run plainly, the same code is a
single process with rank 0 and no process group.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from cs336_basics.training.system import available_cores


@dataclass(frozen=True)
class Dist:
    rank: int
    local_rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """Element-wise mean of `values` over the processes (gloo has no AVG, so SUM / world_size)."""
        if self.world_size > 1:
            values = values.clone()
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
            values /= self.world_size
        return values


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """"auto" -> cuda, then mps, then cpu; a named device that is not available is an error."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("TrainConfig.device: cuda was requested but torch.cuda.is_available() is False")
        return torch.device("cuda", local_rank)
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("TrainConfig.device: mps was requested but torch.backends.mps.is_available() is False")
    return torch.device(name)


def init_distributed(device_name: str) -> Dist:
    """Join the torchrun process group if there is one, pick this process's device and CPU threads."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local_rank)
    if world_size > 1 and not dist.is_initialized():
        if device.type == "mps":
            raise ValueError("TrainConfig.device: multi-process training supports cuda (NCCL) and cpu (gloo), not mps")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if device.type == "cpu" and not os.environ.get("OMP_NUM_THREADS"):
        # share the cores among the processes on this machine; an explicit OMP_NUM_THREADS wins
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size)))
        torch.set_num_threads(max(1, available_cores() // local_world))
    return Dist(rank, local_rank, world_size, device)


def shutdown_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def parameter_digest(model: nn.Module) -> str:
    """SHA-256 of every parameter's bytes, in name order: equal digests mean bit-identical weights."""
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
