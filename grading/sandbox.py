"""The process side of grading: preload libraries once, then fork a limited, isolated child per run.

A child (run_child) gets its own session (so the whole group can be killed), its output in a log file,
no core dumps, a cap on file sizes, and a memory limit: RLIMIT_DATA = the parent's data segment (the
preloaded libraries) + the allowance. RLIMIT_AS would count every mapped library and reservation
(importing torch alone maps ~3 GB of address space on the CPU build measured, and initialising CUDA
reserves far more), so its allowance would depend on the machine; RLIMIT_DATA counts only private
writable memory (heap, anonymous mappings: what a memory bomb grows). An over-allocation then fails
inside the test (MemoryError, or torch's "can't allocate memory") instead of bringing the machine down. The child then forgets every
module of the tree the parent imported, puts the grading tree first on sys.path, checks that
`cs336_basics` resolves inside it, and calls `pytest.main` with the grading plugin.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import os
import pkgutil
import resource
import signal
import sys
import traceback
from pathlib import Path

from grading import pytest_plugin

PRELOAD = ("numpy", "torch", "pytest", "pytest_timeout", "einops", "einx", "jaxtyping", "regex", "hypothesis", "tiktoken")
TREE_PACKAGES = ("cs336_basics", "tests", "grading")  # always imported afresh from the tree, in the child
FILE_SIZE_LIMIT = 1 << 30


def preload() -> None:
    """Import what every child needs, once: libraries, pytest's own modules and its plugins."""
    import _pytest
    from importlib.metadata import entry_points

    names = list(PRELOAD)
    names += [m.name for m in pkgutil.walk_packages(_pytest.__path__, "_pytest.")]
    names += [ep.module for ep in entry_points(group="pytest11")]  # plugins pytest loads at start-up
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # an optional library: the child imports it (or fails) itself
            pass
    # Objects alive now are never garbage: a child's gc.collect() (pytest runs several) then skips the
    # whole torch heap, and does not write to (copy) the pages it shares with the runner.
    gc.collect()
    gc.freeze()


def data_segment_bytes() -> int:
    """This process's VmData (private writable memory: what RLIMIT_DATA limits)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def run_child(tree: Path, args: list[str], log: Path, memory_bytes: int | None, isolation: dict | None = None) -> None:
    """Body of a forked child: never returns.

    With `isolation` (see grading.runner) the child is the trusted test process: it forks a worker zygote
    first (grading.isolation.jail), then replaces tests.adapters / tests.scenarios by proxies, so it never
    imports the submission.
    """
    code = 70
    connection = zygote = None
    try:
        os.setsid()  # its own process group: the runner kills the group (grandchildren included)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
        if isolation is not None:
            zygote, shared = start_zygote(tree, isolation, memory_bytes)
            args = [*args, f"--basetemp={shared / 'pytest'}"]
            if isolation.get("heldout_seed_file"):  # read after the zygote forked: no worker inherits it
                os.environ["CS336_HELDOUT_SEED"] = Path(isolation["heldout_seed_file"]).read_text().strip()
        if memory_bytes is not None:
            limit = data_segment_bytes() + memory_bytes
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        os.chdir(tree)
        keep = ("grading.pytest_plugin", "grading.isolation")
        for name in list(sys.modules):
            if name.split(".")[0] in TREE_PACKAGES and not name.startswith(keep):
                del sys.modules[name]  # the plugin object stays alive: pytest.main holds it
        sys.path[:] = [str(tree)] + [p for p in sys.path if p not in ("", ".")]
        importlib.invalidate_caches()
        if isolation is not None:
            from grading.isolation import proxy

            connection = proxy.install(tree, zygote, shared)
        else:
            spec = importlib.util.find_spec("cs336_basics")
            origin = Path(spec.origin).resolve() if spec is not None and spec.origin else None
            if origin is None or not origin.is_relative_to(tree.resolve()):
                print(f"grading runner: cs336_basics resolves to {origin}, outside the grading tree {tree}", flush=True)
                os._exit(71)
        import pytest

        sys.argv = ["pytest"]
        code = int(pytest.main(args, plugins=[pytest_plugin]))
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 70
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            if connection is not None:
                connection.stop()
            if zygote is not None:
                zygote.close()  # every worker and what it started is gone before this process exits
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def start_zygote(tree: Path, isolation: dict, memory_bytes: int | None):
    """A private tmpfs for pytest's tmp_path (shared with the workers) and the clean worker zygote."""
    from grading.isolation import jail, proxy, worker  # noqa: F401  (loaded before the fork: the workers need them)

    shared = Path(isolation["shared"])
    shared.mkdir(parents=True, exist_ok=True)
    disk = int(isolation["disk_mb"]) * 2**20
    if os.geteuid() == 0:
        # This process's own mount namespace: the tmpfs is seen by it and its workers only, and goes away
        # with them (a crash leaves no mount behind); its size caps what the tests and workers write there.
        jail.unshare(jail.CLONE_NEWNS)
        jail.mount(None, "/", None, jail.MS_REC | jail.MS_PRIVATE)
        jail.mount("tmpfs", str(shared), "tmpfs", jail.MS_NOSUID | jail.MS_NODEV, f"mode=0777,size={disk}")
    cage = jail.Jail(
        view_tree=tree,
        worker_tree=Path(isolation["worker_tree"]),
        shared=shared,
        log=Path(isolation["worker_log"]),
        uid_log=Path(isolation["uid_log"]),
        hide=[Path(p) for p in isolation["hide"]],
        memory_bytes=memory_bytes,
        disk_bytes=disk,
    )
    return jail.Zygote(cage), shared


def fork_child(tree: Path, args: list[str], log: Path, memory_bytes: int | None, isolation: dict | None = None) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        run_child(tree, args, log, memory_bytes, isolation)
    return pid


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else f"signal {sig}"
        hint = {
            "SIGSEGV": "segmentation fault",
            "SIGKILL": "killed: out of memory?",
            "SIGABRT": "aborted",
            "SIGXFSZ": f"wrote a file larger than {FILE_SIZE_LIMIT >> 20} MiB",
            "SIGBUS": "bus error",
            "SIGFPE": "floating-point exception",
        }.get(name, "")
        return f"{name} ({hint})" if hint else name
    return f"exit status {os.WEXITSTATUS(status)}"
