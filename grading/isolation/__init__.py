"""Isolated grading (issue #16): verdicts never come from a process that ran student code.

The trusted test process (grading.sandbox.run_child with `isolated`) runs the pristine test functions;
it never imports the submission. `tests.adapters` and `tests.scenarios` are proxy modules there
(grading.isolation.proxy): each call goes, as plain data (grading.isolation.wire), to a worker process
(grading.isolation.worker) that imports the student's code in a sandbox (grading.isolation.jail) and
answers with values. Whatever the submission patches there (pytest, assert helpers, torch.testing, the
results file), it only changes the values it returns.
"""

from __future__ import annotations

import builtins


class RemoteError(Exception):
    """An exception raised by student code in the worker: its type name, message and traceback text.

    `remote_error("ValueError", msg)` gives an instance of a subclass named after the remote type (and,
    for a built-in exception type, also derived from it), so a failure reads "ValueError: ..." and
    `pytest.raises(ValueError)` holds as in-process; every one of them is a RemoteError.
    """

    type_name = "RemoteError"

    def __init__(self, message: str = "", remote_traceback: str = ""):
        Exception.__init__(self, message)
        self.remote_traceback = remote_traceback

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_CLASSES: dict[str, type[RemoteError]] = {}


def remote_error(type_name: str, message: str, remote_traceback: str = "") -> RemoteError:
    name = type_name if type_name.isidentifier() else "RemoteError"
    cls = _CLASSES.get(name)
    if cls is None:
        builtin = getattr(builtins, name, None)
        bases: tuple[type, ...] = (RemoteError,)
        # (not SyntaxError's family: its str() and pytest's display read fields a remote copy lacks)
        if isinstance(builtin, type) and issubclass(builtin, Exception) and not issubclass(builtin, SyntaxError) and builtin is not Exception:
            bases = (RemoteError, builtin)  # `pytest.raises(ValueError)` holds as it does in-process
        attrs = {"type_name": name, "__module__": "builtins" if builtin is not None else "student", "__qualname__": name}
        try:
            cls = type(name, bases, attrs)
        except TypeError:  # a builtin whose layout cannot be combined (OSError's family)
            cls = type(name, (RemoteError,), attrs)
        _CLASSES[name] = cls
    return cls(message, remote_traceback)
