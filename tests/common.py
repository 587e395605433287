"""Helpers that the official CS336 starter's tests/common.py gives students, so that adapters written for
it import here: `FIXTURES_PATH` and `gpt2_bytes_to_unicode`.

(Written for this repository from the documented GPT-2 byte alphabet; tests/conftest.py and the tests
never import the student package from here.)
"""

from __future__ import annotations

from pathlib import Path

FIXTURES_PATH = Path(__file__).resolve().parent / "fixtures"


def gpt2_bytes_to_unicode() -> dict[int, str]:
    """GPT-2's printable alphabet for bytes (Radford et al. 2019, `bytes_to_unicode` of encoder.py).

    The 188 printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68
    bytes (controls, space, DEL, NBSP, soft hyphen, ...) map in increasing order to chr(256), chr(257), ...
    Example: gpt2_bytes_to_unicode()[ord("a")] == "a", and [32] (space) == "Ġ" (chr(288)).
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in set(printable)]
    table = {b: chr(b) for b in printable}
    table.update({b: chr(256 + k) for k, b in enumerate(others)})
    return dict(sorted(table.items()))
