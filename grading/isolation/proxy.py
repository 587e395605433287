"""The trusted side: `tests.adapters` and `tests.scenarios` as proxy modules whose functions run in a worker.

    connection = install(tree, zygote, shared)   # before pytest imports any test module

- Each module's public names come from the pristine file's AST (the trusted tree's tests/adapters.py and
  tests/scenarios.py): importing a test module never needs the worker.
- A call sends its arguments as plain data (a tensor, array, number, string, bytes, path, or a list /
  tuple / dict of these; an iterator is materialised into a list) and returns the worker's answer
  decoded the same way. A non-plain result is a RemoteObject: calling one of its methods calls the
  worker's object. A student exception comes back as a grading.isolation.RemoteError named after it.
- Paths under `shared` (pytest's tmp_path) are opened up to the worker before the call.
- If a call is interrupted (the per-test timeout) or the worker dies, the worker and everything it
  started are killed; the next call gets a fresh worker (objects of the old one are gone).
- `cs336_basics` cannot be imported in this process at all: a test reaches student code only here.
"""

from __future__ import annotations

import ast
import importlib.abc
import os
import signal
import sys
import types
from collections.abc import Iterator
from pathlib import Path

from grading.isolation import RemoteError, remote_error, wire

PROXIED = {
    "tests.adapters": "tests/adapters.py",
    "tests.scenarios": "tests/scenarios.py",
    "grading.heldout.scenarios": "grading/heldout/scenarios.py",  # the held-out tests' stateful calls
}
MAX_WORKERS = 30  # fresh workers one trusted process may start (each crash or timeout costs one)


def public_names(path: Path) -> set[str]:
    """Top-level functions and classes of a module (by AST: the file is not run)."""
    if not path.exists():
        return set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def describe_exit(code: int) -> str:
    if code == -9 or code == 128 + signal.SIGKILL:
        return "SIGKILL (killed: out of memory, or too many processes?)"
    if code > 128:
        sig = code - 128
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        hint = {"SIGSEGV": "segmentation fault", "SIGXFSZ": "a file over the size limit", "SIGABRT": "aborted"}.get(name)
        return f"{name} ({hint})" if hint else name
    return f"exit status {code}"


class Connection:
    """The trusted process's link to its current worker (started on first use)."""

    def __init__(self, zygote, shared: Path):
        self.zygote, self.shared = zygote, Path(shared)
        self.pid: int | None = None
        self.sock = None
        self.generation = 0
        self.started = 0
        self.import_error: RemoteError | None = None
        self.adapter_names: set[str] = set()
        """What the submission's tests/adapters.py defines (a hook it lacks cannot be imported, as in-process)."""

    def ensure(self) -> None:
        if self.sock is not None:
            return
        if self.started >= MAX_WORKERS:
            raise RemoteError(f"gave up: {MAX_WORKERS} worker processes crashed or timed out in this problem")
        self.pid, self.sock = self.zygote.start_worker()
        self.started += 1
        self.generation += 1
        self.import_error = None
        try:
            self.adapter_names = set(self.request({"op": "import", "module": "tests.adapters"}, [], "import tests.adapters"))
        except RemoteError as e:
            self.import_error = e
            self.adapter_names = set()

    def stop(self, died: bool = False) -> int | None:
        if self.sock is None:
            return None
        self.sock.close()
        self.sock = None
        pid, self.pid = self.pid, None
        return self.zygote.stop_worker(pid, died)

    def request(self, header: dict, blobs: list[bytes], what: str):
        self.ensure()
        try:
            wire.send(self.sock, header, blobs)
            reply, reply_blobs = wire.recv(self.sock)
        except (EOFError, ConnectionError) as e:
            code = self.stop(died=True)
            how = describe_exit(code) if code is not None else str(e)
            raise remote_error("WorkerDied", f"the process running your code died with {how} during {what}") from None
        except wire.WireError as e:
            self.stop()
            raise remote_error("WireError", f"{what} answered with data the grader cannot read: {e}") from None
        except BaseException:  # interrupted (the test's timeout): the worker's state is unknown
            self.stop()
            raise
        if "error" in reply:
            err = reply["error"]
            raise remote_error(str(err.get("type")), str(err.get("message")), str(err.get("traceback", "")))
        try:
            value = wire.decode(reply.get("ok"), reply_blobs)
        except (wire.WireError, ValueError, KeyError, IndexError, TypeError) as e:
            raise remote_error("WireError", f"{what} answered with data the grader cannot read: {e}") from None
        return self.wrap(value)

    def wrap(self, value):
        if isinstance(value, wire.Handle):
            return RemoteObject(self, value.id, value.type_name, self.generation)
        if isinstance(value, list):
            return [self.wrap(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.wrap(v) for v in value)
        if isinstance(value, dict):
            return {k: self.wrap(v) for k, v in value.items()}
        return value

    def outgoing(self, value):
        """Arguments as plain data: remote objects by handle, iterators as lists, shared paths opened up."""
        if isinstance(value, RemoteObject):
            if value._generation != self.generation:
                raise RemoteError(f"this {value._type} belonged to a worker process that has since been stopped")
            return wire.Handle(value._id, value._type)
        if isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes):
            self.open_up(value)
            return value
        if isinstance(value, list):
            return [self.outgoing(v) for v in value]
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            return tuple(self.outgoing(v) for v in value)
        if isinstance(value, dict):
            return {k: self.outgoing(v) for k, v in value.items()}
        if isinstance(value, (Iterator, types.GeneratorType)) or hasattr(value, "readline"):
            return [self.outgoing(v) for v in value]
        return value

    def open_up(self, value) -> None:
        """Let the worker reach a path under the shared folder: its folders 0777, the path itself too."""
        try:
            path = Path(os.fspath(value))
        except TypeError:
            return
        if not path.is_absolute() or len(str(path)) > 4096:
            return
        try:
            rel = path.resolve().relative_to(self.shared.resolve())
        except (ValueError, OSError):
            return
        current = self.shared.resolve()
        for part in rel.parts:
            if current.is_dir():
                os.chmod(current, 0o777)
            current = current / part
        if current.is_dir():
            for root, dirs, files in os.walk(current):
                os.chmod(root, 0o777)
                for f in files:
                    os.chmod(os.path.join(root, f), 0o666)
        elif current.is_file():
            os.chmod(current, 0o666)

    def call(self, header: dict, args: tuple, kwargs: dict, what: str):
        self.ensure()
        blobs: list[bytes] = []
        try:
            header = dict(header, args=wire.encode(self.outgoing(list(args)), blobs),
                          kwargs=wire.encode(self.outgoing(dict(kwargs)), blobs))  # fmt: skip
        except wire.WireError as e:
            raise TypeError(f"{what}: the isolated grader passes only plain data to your code: {e}") from None
        return self.request(header, blobs, what)


class RemoteFunction:
    def __init__(self, connection: Connection, module: str, name: str):
        self.connection, self.module, self.__name__ = connection, module, name
        self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        c = self.connection
        c.ensure()
        if c.import_error is not None and self.module == "tests.adapters":
            raise c.import_error
        return c.call({"op": "call", "module": self.module, "name": self.__name__}, args, kwargs, f"{self.__name__}()")

    def __repr__(self) -> str:
        return f"<remote {self.module}.{self.__name__}>"


class RemoteObject:
    """A student object living in the worker; `obj.method(...)` and `obj(...)` run there."""

    def __init__(self, connection: Connection, id: int, type_name: str, generation: int):
        self._connection, self._id, self._type, self._generation = connection, id, type_name, generation

    def _invoke(self, name: str, args: tuple, kwargs: dict):
        c = self._connection
        if c.generation != self._generation or c.sock is None:
            raise RemoteError(f"this {self._type} belonged to a worker process that has since been stopped")
        return c.call({"op": "method", "handle": self._id, "name": name}, args, kwargs, f"{self._type}.{name}()")

    def __getattr__(self, name: str):
        # Only public methods are forwarded: tests call those, while "_" names are probes of this process's
        # tools (the pretty printer behind pytest and Hypothesis reports asks for `_repr_pretty_`), which
        # must get the local repr, not a call into the worker with their own objects as arguments.
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._invoke(name, args, kwargs)

    def __call__(self, *args, **kwargs):
        return self._invoke("__call__", args, kwargs)

    def __repr__(self) -> str:
        return f"<remote {self._type} #{self._id}>"


class ProxyModule(types.ModuleType):
    def __init__(self, name: str, connection: Connection, names: set[str]):
        super().__init__(name, f"{name} (runs in the sandboxed worker)")
        self.__dict__["_connection"] = connection
        self.__dict__["_names"] = names

    def __getattr__(self, name: str):
        if self.__name__ == "tests.adapters" and name not in self._connection.adapter_names:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        if name in self._names or self.__name__ == "tests.adapters":
            fn = RemoteFunction(self._connection, self.__name__, name)
            self.__dict__[name] = fn
            return fn
        if name == "__all__":
            return sorted(self._names)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")


class _NoSubmission(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] == "cs336_basics":
            raise ImportError(
                "the grader's test process never imports cs336_basics: tests reach your code only through "
                "the tests/adapters.py hooks (and tests/scenarios.py), which run in a separate process"
            )
        return None


def install(tree: Path, zygote, shared: Path) -> Connection:
    """Put the proxy modules in place of tests.adapters / tests.scenarios; forbid importing cs336_basics."""
    connection = Connection(zygote, shared)
    sys.meta_path.insert(0, _NoSubmission())
    import importlib

    for name, rel in PROXIED.items():
        if not (Path(tree) / rel).exists():
            continue
        package, _, attr = name.rpartition(".")
        module = ProxyModule(name, connection, public_names(Path(tree) / rel))
        sys.modules[name] = module
        setattr(importlib.import_module(package), attr, module)
    connection.ensure()  # starts the worker and imports the submission's adapters there once
    if connection.import_error is not None:
        # The submission's adapters do not import: importing them (or tests/scenarios.py, which imports
        # them) fails with their error, so each test module fails to import as it does in-process.
        for name in PROXIED:
            if sys.modules.pop(name, None) is not None:
                package, _, attr = name.rpartition(".")
                delattr(sys.modules[package], attr)
        sys.meta_path.insert(0, _FailingImport(connection.import_error))
    return connection


class _FailingImport(importlib.abc.MetaPathFinder):
    def __init__(self, error: RemoteError):
        self.error = error

    def find_spec(self, fullname, path=None, target=None):
        if fullname in PROXIED:
            raise self.error
        return None
