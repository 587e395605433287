"""The machine a run uses: the CPU cores this process may run on, and transparent huge pages for large CPU tensors.

Why huge pages: a CPU training step allocates and frees hundreds of MB of activations (attention scores, logits, their
gradients). The C allocator hands blocks this large out as fresh memory mappings, so with 4 KiB pages
every new buffer takes one page fault per 4 KiB on first touch: measured on the shakespeare preset,
~70k faults and ~20% of a step's CPU time in the kernel. PyTorch's CPU allocator
(c10/core/impl/alloc_cpu.cpp) can align allocations of 2 MiB or more to 2 MiB and madvise them
MADV_HUGEPAGE when the environment variable THP_MEM_ALLOC_ENABLE=1 is set, which needs ~500x fewer
faults. PyTorch reads the variable once, at its first CPU allocation, so it must be set before that;
it does nothing where the kernel has no transparent huge pages (e.g. outside Linux).
"""

from __future__ import annotations

import os

HUGE_PAGES_ENV = "THP_MEM_ALLOC_ENABLE"


def request_huge_pages() -> bool:
    """Turn huge pages on for this process (and the processes it starts) unless the environment already
    says otherwise (THP_MEM_ALLOC_ENABLE=0 opts out). Returns whether they are requested. Call it before
    importing torch: it has no effect once torch has allocated a CPU tensor."""
    os.environ.setdefault(HUGE_PAGES_ENV, "1")
    return os.environ[HUGE_PAGES_ENV] == "1"


def available_cores() -> int:
    """CPU cores this process may run on: its affinity mask where the OS has one (a container or
    `taskset` may allow fewer than the machine has), else os.cpu_count(). The default process count of
    the tokenizer's parallel paths and the thread count of a CPU training run."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
