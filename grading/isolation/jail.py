"""Where the worker runs: a fresh uid, its own mount, network, IPC and PID namespaces, rlimits, no secrets.

A Jail is built by the trusted test process (root) before pytest starts, and forks a zygote at once: the
zygote holds only the preloaded libraries (no test module, no fixture, no expected value has been
loaded yet), so what a worker inherits by fork is nothing the tests know. On request the zygote forks a
worker:

    zygote --fork--> C1: unshare(mount, network, IPC, UTS, PID); hide and re-bind paths
                     C1 --fork--> C2: PID 1 of the new PID namespace; mounts its own /proc; reaps orphans
                                  C2 --fork--> C3: drops to the worker uid, rlimits, clean environment,
                                               and serves hook calls (grading.isolation.worker)

- Filesystem: every directory in `hide` (the staff checkout, the pristine tree, the grader's work
  folder with the trusted tree and its fixtures, /root, /home, /run, and whatever the caller adds such
  as other submissions or the results folder) is covered with an empty tmpfs; then only what the
  worker needs is bound back: the Python installation and the virtual environment (read-only), the
  worker tree at the trusted tree's path (read-only: it holds the submission, the public scenarios and
  the fixtures' input files, never their expected values), and the shared test temporary folder
  (read-write: pytest's tmp_path). /tmp, /var/tmp and /dev/shm are private tmpfs of `disk_bytes`
  each: they vanish with the worker.
- /proc is the PID namespace's own: the grader's processes (and their /proc/<pid>/environ) are not
  there. The network namespace has only a loopback that is down.
- The uid is 2_100_000_000 + C1's pid: no other process has it, so RLIMIT_NPROC counts only this
  worker's processes and `sweep(uid)` finds every one of them, even a double-forked daemon that left
  the session; killing C2 (PID 1) makes the kernel kill the whole namespace as well.
- Without root nothing of this can be set up: the worker then runs as the grader's user with the clean
  environment and rlimits only, and `Jail.degraded` says so (the results carry it as a note).
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from grading.isolation import worker  # imported before any fork: the worker's view hides this file

UID_BASE = 2_100_000_000
REAP_GRACE_S = 2.0
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
# Always covered: home folders (the grader's credentials and caches), runtime sockets, mount points.
ALWAYS_HIDDEN = ("/root", "/home", "/run", "/mnt", "/media", "/srv")
# Never covered, whatever a caller asks (a results file in / or /tmp must not hide the system).
NEVER_HIDDEN = {Path(p) for p in ("/", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys", "/dev", "/var", "/tmp")}
WORKER_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "USER": "cs336-worker",
    "LOGNAME": "cs336-worker",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "OMP_NUM_THREADS": "1",
}

_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


def processes_of(uid: int) -> list[int]:
    """Pids of every live process (in any PID namespace) whose real uid is `uid`.

    Zombies are left out: they run nothing and hold nothing, and one whose parent is a child subreaper
    above the grader (grade-all's grading process) stays until that ancestor reaps it.
    """
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as f:
                    for line in f:
                        if line.startswith("State:") and line.split()[1] in ("Z", "X"):
                            break
                        if line.startswith("Uid:"):
                            if int(line.split()[1]) == uid:
                                pids.append(int(entry))
                            break
            except OSError:
                pass
    return pids


def sweep(uid: int, timeout: float = 10.0) -> bool:
    """SIGKILL every process of `uid` until none is left; True when none is."""
    deadline = time.monotonic() + timeout
    while True:
        pids = processes_of(uid)
        if not pids:
            return True
        if time.monotonic() > deadline:
            return False
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


@dataclass
class Jail:
    """What every worker of one trusted test process gets (see the module docstring)."""

    view_tree: Path
    """The trusted tree's path: the worker sees its own tree (`worker_tree`) there."""
    worker_tree: Path
    shared: Path
    """Read-write for the worker (pytest's basetemp)."""
    log: Path
    """The workers' stdout and stderr: worker n writes to <stem>.n<suffix>."""
    uid_log: Path
    """One line per worker uid (the runner sweeps them all before it reports)."""
    hide: list[Path] = field(default_factory=list)
    memory_bytes: int | None = None
    disk_bytes: int = 512 * 2**20
    file_bytes: int = 64 * 2**20
    processes: int = 256

    @property
    def degraded(self) -> str | None:
        if os.geteuid() != 0:
            return ("the grader does not run as root: the worker runs as the grader's own user, without "
                    "namespaces (it can read what that user reads and use the network)")  # fmt: skip
        return None

    def keep(self) -> list[tuple[Path, Path, bool]]:
        """(source, target, writable) bind mounts restored after hiding."""
        binds = [(Path(p), Path(p), False) for p in sorted({sys.base_prefix, sys.prefix})]
        for entry in sys.path:
            p = Path(entry)
            if entry and p.is_dir() and ("site-packages" in p.parts or "dist-packages" in p.parts):
                if not any(p.is_relative_to(b[0]) for b in binds):
                    binds.append((p, p, False))
        binds += [(self.worker_tree, self.view_tree, False), (self.shared, self.shared, True)]
        return binds

    def enter(self) -> int:
        """In C1 (root): namespaces and the filesystem view. Returns the worker uid."""
        uid = UID_BASE + os.getpid()
        unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        # Opened in the new mount namespace (a bind's source must be one of its mounts), before hiding.
        fds = []
        for source, target, writable in self.keep():
            if source.exists():
                fds.append((os.open(source, os.O_PATH), target, writable, source.is_dir()))
        size = f"size={self.disk_bytes}"
        hidden: list[Path] = []
        for path in sorted({Path(p).resolve() for p in [*ALWAYS_HIDDEN, *self.hide]}, key=lambda p: len(p.parts)):
            if any(path.is_relative_to(h) for h in hidden) or not path.is_dir() or path in NEVER_HIDDEN:
                continue
            mount("tmpfs", str(path), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
            hidden.append(path)
        for scratch in ("/tmp", "/var/tmp", "/dev/shm"):
            if Path(scratch).is_dir():
                mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,{size}")
        for fd, target, writable, is_dir in fds:
            if is_dir:
                target.mkdir(parents=True, exist_ok=True)
            elif not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch()
            mount(f"/proc/self/fd/{fd}", str(target), None, MS_BIND | MS_REC)
            if not writable:
                mount(None, str(target), None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
            os.close(fd)
        return uid

    def limit(self, own_uid: bool) -> None:
        """rlimits of the worker (C3; inherited by everything it starts)."""
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_bytes, self.file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
        if own_uid:  # per uid: without a uid of its own it would count the grader's processes
            resource.setrlimit(resource.RLIMIT_NPROC, (self.processes, self.processes))
        if self.memory_bytes is not None:
            limit = data_segment_bytes() + self.memory_bytes
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def data_segment_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def _redirect(log_fd: int) -> None:
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)


def _worker_main(jail: Jail, sock: socket.socket, log_fd: int, uid: int | None) -> None:
    """C3: become the worker and serve until the trusted side closes the socket."""
    _redirect(log_fd)
    keep = sock.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    os.environ.clear()
    os.environ.update(WORKER_ENV)
    jail.limit(uid is not None)
    os.chdir(jail.view_tree)
    worker.serve(sock, jail.view_tree)


def spawn_worker(jail: Jail, sock: socket.socket, log_fd: int) -> None:
    """Body of C1 (forked by the zygote); never returns."""
    code = 70
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        uid = None
        if jail.degraded is None:
            with open(jail.uid_log, "a") as f:  # before enter(): the folder is hidden afterwards
                f.write(f"{UID_BASE + os.getpid()}\n")
            uid = jail.enter()
        pid = os.fork()
        if pid == 0:  # C2: PID 1 of the namespace (or a plain reaper without root)
            code = 70
            try:
                prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                if uid is not None:
                    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
                worker_pid = os.fork()
                if worker_pid == 0:
                    try:
                        _worker_main(jail, sock, log_fd, uid)
                        code = 0
                    except SystemExit as e:
                        code = e.code if isinstance(e.code, int) else 1
                    except BaseException:
                        import traceback

                        traceback.print_exc()
                        code = 1
                    finally:
                        os._exit(code)
                sock.close()
                if uid is not None:
                    os.setgroups([])
                    os.setgid(uid)
                    os.setuid(uid)
                while True:  # reap orphans until the worker itself is gone
                    done, status = os.wait()
                    if done == worker_pid:
                        code = os.waitstatus_to_exitcode(status)
                        code = 128 - code if code < 0 else code
                        break
            finally:
                os._exit(code)  # as PID 1: the kernel now kills everything left in the namespace
        sock.close()
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        code = 128 - code if code < 0 else code
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


class Zygote:
    """A clean forked copy of the trusted process (before any test) that forks workers on request.

    Protocol on a socket pair: b"S" -> the zygote forks a worker and sends back its pid (as text) and
    the trusted end of the worker's socket (SCM_RIGHTS); b"K<pid>" -> it kills that worker, sweeps its
    uid and answers its exit status (b"R<pid>": the same after up to REAP_GRACE_S for it to exit by itself); b"Q" -> it kills every worker and exits.
    """

    def __init__(self, jail: Jail):
        self.jail = jail
        ours, theirs = socket.socketpair()
        sys.stdout.flush()
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:
            ours.close()
            code = 0
            try:
                prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                self._serve(theirs)
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 70
            finally:
                os._exit(code)
        theirs.close()
        self.sock = ours

    def _serve(self, sock: socket.socket) -> None:
        workers: dict[int, int | None] = {}  # C1 pid -> exit code once reaped
        while True:
            request = sock.recv(64)
            if not request or request == b"Q":
                for pid in list(workers):
                    self._kill(pid, workers)
                return
            if request == b"S":
                # A log per worker: RLIMIT_FSIZE then caps each worker's output, and one that printed too
                # much does not make the next one's first print fail.
                log = self.jail.log.with_name(f"{self.jail.log.stem}.{len(workers) + 1}{self.jail.log.suffix}")
                log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                ours, theirs = socket.socketpair()
                pid = os.fork()
                if pid == 0:
                    ours.close()
                    sock.close()
                    spawn_worker(self.jail, theirs, log_fd)
                os.close(log_fd)
                theirs.close()
                workers[pid] = None
                socket.send_fds(sock, [str(pid).encode()], [ours.fileno()])
                ours.close()
            elif request[:1] in (b"K", b"R"):
                pid = int(request[1:])
                grace = REAP_GRACE_S if request[:1] == b"R" else 0.0
                sock.sendall(str(self._kill(pid, workers, grace)).encode())

    def _kill(self, pid: int, workers: dict, grace: float = 0.0) -> int:
        if workers.get(pid) is None:
            deadline = time.monotonic() + grace
            done, status = os.waitpid(pid, os.WNOHANG)
            while not done and time.monotonic() < deadline:
                time.sleep(0.005)
                done, status = os.waitpid(pid, os.WNOHANG)
            if not done:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                code = -9
            else:
                code = os.waitstatus_to_exitcode(status)
            workers[pid] = code
            if self.jail.degraded is None:
                sweep(UID_BASE + pid)
        return workers[pid]

    def start_worker(self) -> tuple[int, socket.socket]:
        self.sock.sendall(b"S")
        msg, fds, _, _ = socket.recv_fds(self.sock, 64, 1)
        if not fds:
            raise RuntimeError("the worker zygote did not answer")
        return int(msg), socket.socket(fileno=fds[0])

    def stop_worker(self, pid: int, died: bool = False) -> int:
        """Kill worker `pid` with everything it started; its exit code (C2's: 128+n for signal n, -9: killed).

        `died`: the worker closed its socket; give it REAP_GRACE_S to exit, so its own status is reported.
        """
        self.sock.sendall(b"%s%d" % (b"R" if died else b"K", pid))
        return int(self.sock.recv(64))

    def close(self) -> None:
        try:
            self.sock.sendall(b"Q")
        except OSError:
            pass
        os.waitpid(self.pid, 0)
