"""The sandboxed side: import the submission's `tests/adapters.py` (and the public `tests/scenarios.py`)
from the worker tree and answer hook calls with plain data (grading.isolation.wire).

Requests (JSON headers):
    {"op": "import", "module": M}                                  -> {"ok": [public callables]} or {"error": ...}
    {"op": "call", "module": M, "name": N, "args": [..], "kwargs": {..}}
    {"op": "method", "handle": H, "name": N, "args": [..], "kwargs": {..}}   (N "__call__": call it)
    {"op": "release", "handle": H}
A reply is {"ok": value} or {"error": {"type", "message", "traceback"}}. A value that is not plain data
(a tokenizer, an optimizer class) stays here in a table and crosses as a handle; a returned iterator or
generator is materialised into a list. Nothing here is trusted: whatever student code does to this
process only changes what it answers.
"""

from __future__ import annotations

import importlib
import sys
import traceback
import types
from collections.abc import Iterator
from pathlib import Path

from grading.isolation import wire

MODULES = ("tests.adapters", "tests.scenarios", "grading.heldout.scenarios")
TREE_PACKAGES = ("cs336_basics", "tests", "grading")
TRACEBACK_CHARS = 4000


def prepare(tree: Path) -> None:
    """Forget the grader's modules and paths: only the worker tree and the libraries stay importable."""
    for name in list(sys.modules):
        if name.split(".")[0] in TREE_PACKAGES and not name.startswith("grading.isolation"):
            del sys.modules[name]
    # A fresh __main__ without a file or spec: multiprocessing's spawn and forkserver children then have
    # nothing to re-import as __main__ (they would look for grading.runner, which the worker tree lacks).
    sys.modules["__main__"] = types.ModuleType("__main__")
    # The worker is forked: a resource tracker or forkserver the parent had started is not this process's
    # (its pipe is closed in the jail, and spawn would fail with EBADF). Start them afresh when needed.
    if "multiprocessing" in sys.modules:  # its temp folder (pymp-*) was the parent's /tmp, not the jail's
        import multiprocessing.process

        multiprocessing.process.current_process()._config.pop("tempdir", None)
    if "multiprocessing.resource_tracker" in sys.modules:
        from multiprocessing import resource_tracker

        resource_tracker._resource_tracker = resource_tracker.ResourceTracker()
        for name in ("ensure_running", "register", "unregister", "getfd"):
            setattr(resource_tracker, name, getattr(resource_tracker._resource_tracker, name))
    if "multiprocessing.forkserver" in sys.modules:
        from multiprocessing import forkserver

        forkserver._forkserver = forkserver.ForkServer()
        for name in ("ensure_running", "get_inherited_fds", "connect_to_new_process", "set_forkserver_preload"):
            setattr(forkserver, name, getattr(forkserver._forkserver, name))
    libraries = [p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p or p.startswith(sys.base_prefix))]
    sys.path[:] = [str(tree)] + [p for p in libraries if not Path(p).resolve().is_relative_to(tree)]
    importlib.invalidate_caches()


class Server:
    def __init__(self):
        self.handles: dict[int, object] = {}
        self.next_id = 1

    def handle_of(self, obj: object) -> wire.Handle:
        hid, self.next_id = self.next_id, self.next_id + 1
        self.handles[hid] = obj
        return wire.Handle(hid, type(obj).__name__)

    def resolve(self, value):
        """Decoded arguments: handles back to the objects they stand for."""
        if isinstance(value, wire.Handle):
            return self.handles[value.id]
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.resolve(v) for v in value)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def answer(self, request: dict, blobs: list[bytes]):
        op = request.get("op")
        if op == "import":  # answers the module's public callables (a test module may import only those)
            module = importlib.import_module(self.module_name(request))
            return sorted(n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n, None)))
        if op == "release":
            self.handles.pop(int(request["handle"]), None)
            return None
        args = self.resolve(wire.decode(request.get("args", []), blobs))
        kwargs = self.resolve(wire.decode(request.get("kwargs", {}), blobs))
        if op == "call":
            target = getattr(importlib.import_module(self.module_name(request)), str(request["name"]))
        elif op == "method":
            obj = self.handles[int(request["handle"])]
            name = str(request["name"])
            target = obj if name == "__call__" else getattr(obj, name)
        else:
            raise ValueError(f"unknown request {op!r}")
        result = target(*args, **kwargs)
        if isinstance(result, (Iterator, types.GeneratorType)) and not isinstance(result, (str, bytes)):
            result = list(result)
        return result

    @staticmethod
    def module_name(request: dict) -> str:
        name = str(request.get("module"))
        if name not in MODULES:
            raise ValueError(f"the worker serves only {MODULES}; asked for {name!r}")
        return name


def serve(sock, tree: Path) -> None:
    prepare(Path(tree))
    server = Server()
    while True:
        try:
            request, blobs = wire.recv(sock)
        except EOFError:
            return
        try:
            result = server.answer(request, blobs)
            out: list[bytes] = []
            header = {"ok": wire.encode(result, out, server.handle_of)}
        except BaseException as e:  # SystemExit / KeyboardInterrupt from student code are answers too
            out = []
            text = "".join(traceback.format_exception(e))
            header = {"error": {"type": type(e).__name__, "message": _message(e), "traceback": text[-TRACEBACK_CHARS:]}}
        wire.send(sock, header, out)


def _message(e: BaseException) -> str:
    try:
        return str(e)
    except Exception:
        return f"<{type(e).__name__} whose message cannot be shown>"
