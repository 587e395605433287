"""Derive command-line options from typed config dataclasses.

Every field of a dataclass becomes an option named after its path (`--steps`, `--model.d_model`,
`--optim.lr`) whose help text is the field's docstring, so the `--help` of a command is always the
documentation of its config. Options default to "not given": only the fields a user sets override the
preset and the config file.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import textwrap
import types
import typing
from typing import Any, Literal

SECTION_SEP = "."


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """The string literal written under each field of a dataclass (the field's docstring)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body
        for node, after in zip(body, body[1:]):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
                    docs[node.target.id] = " ".join(str(after.value.value).split())
    return docs


def _parser_for(hint: Any) -> tuple[Any, list | None, str]:
    """(converter, choices, metavar) of an annotation like int, float | None, Literal["a", "b"]."""
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        (hint,) = args
    if typing.get_origin(hint) is Literal:
        choices = list(typing.get_args(hint))
        return str, choices, "{" + ",".join(map(str, choices)) + "}"
    base = {int: int, float: float, str: str}[hint]

    def convert(text: str):
        if optional and text.lower() == "none":
            return None
        try:
            return base(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {base.__name__}{' or none' if optional else ''}, got {text!r}")

    convert.__name__ = base.__name__
    return convert, None, base.__name__.upper() + ("|none" if optional else "")


def add_dataclass_options(parser: argparse.ArgumentParser, cls: type, prefix: str = "") -> None:
    """Add one option per (nested) field of `cls`; the parsed value lands at dest "prefix.name"."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    group = parser.add_argument_group(f"{prefix.rstrip(SECTION_SEP) or cls.__name__} options", inspect.getdoc(cls))
    nested = []
    for f in dataclasses.fields(cls):
        hint, name = hints[f.name], prefix + f.name
        if dataclasses.is_dataclass(hint):
            nested.append((hint, name + SECTION_SEP))
            continue
        help_text = docs.get(f.name, "").replace("%", "%%")
        if hint is bool:
            group.add_argument(
                f"--{name}", dest=name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=help_text
            )
            continue
        convert, choices, metavar = _parser_for(hint)
        group.add_argument(
            f"--{name}", dest=name, type=convert, choices=choices, metavar=metavar, default=argparse.SUPPRESS, help=help_text
        )
    for hint, sub_prefix in nested:
        add_dataclass_options(parser, hint, sub_prefix)


def given_options(args: argparse.Namespace, cls: type) -> dict:
    """The options of `cls` the user gave, as a nested dict ({"model": {"d_model": 256}, "steps": 10})."""
    out: dict = {}
    paths = _field_paths(cls)
    for dest, value in vars(args).items():
        if dest in paths:
            node = out
            *sections, leaf = dest.split(SECTION_SEP)
            for section in sections:
                node = node.setdefault(section, {})
            node[leaf] = value
    return out


def _field_paths(cls: type, prefix: str = "") -> set[str]:
    hints = typing.get_type_hints(cls)
    paths = set()
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            paths |= _field_paths(hints[f.name], prefix + f.name + SECTION_SEP)
        else:
            paths.add(prefix + f.name)
    return paths
