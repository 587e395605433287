"""Staff script: regenerate every reference fixture in tests/fixtures/ from the independent oracles.

    uv run python -m tests.make_fixtures            # rewrite all fixtures
    uv run python -m tests.make_fixtures --check    # exit 1 if a committed fixture differs

Each module in tests/oracles/ exposes `FIXTURES: dict[str, Callable[[], dict[str, np.ndarray]]]`, a map
from fixture name to a function that builds its arrays from seeded generators and oracles that never
call the code under test (torch built-ins, float64 recomputation, naive reference algorithms).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import pkgutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tests import oracles
from tests.fixture_io import FIXTURES, save_npz

Builder = Callable[[], dict[str, np.ndarray]]


def all_builders() -> dict[str, Builder]:
    builders: dict[str, Builder] = {}
    for info in sorted(pkgutil.iter_modules(oracles.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{oracles.__name__}.{info.name}")
        for name, build in getattr(module, "FIXTURES", {}).items():
            if name in builders:
                raise ValueError(f"fixture {name!r} is defined by two oracle modules")
            builders[name] = build
    return builders


def write_all(out_dir: Path, only: set[str] | None = None) -> list[Path]:
    written = []
    for name, build in all_builders().items():
        if only is None or name in only:
            path = out_dir / f"{name}.npz"
            save_npz(path, build())
            written.append(path)
    return written


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stale_fixtures(only: set[str] | None = None) -> list[str]:
    """Names of fixtures whose committed bytes differ from a fresh regeneration."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = write_all(Path(tmp), only)
        return [p.stem for p in fresh if not (FIXTURES / p.name).exists() or digest(p) != digest(FIXTURES / p.name)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed fixtures instead of writing")
    parser.add_argument("names", nargs="*", help="only these fixtures (default: all)")
    args = parser.parse_args(argv)
    only = set(args.names) or None
    if args.check:
        stale = stale_fixtures(only)
        for name in stale:
            print(f"stale fixture: {name}", file=sys.stderr)
        return 1 if stale else 0
    for path in write_all(FIXTURES, only):
        print(f"wrote {path.relative_to(FIXTURES.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
