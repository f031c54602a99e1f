"""The terminal's progress bars: a stage never shows more done than its total."""

from __future__ import annotations

import pytest

from tracker import progress
from tracker.progress import bar_counts


def test_counts_past_the_first_total_grow_the_total() -> None:
    assert bar_counts(144, 89) == (144, 144)
    assert bar_counts(40, 89) == (40, 89) and bar_counts(-1, 5) == (0, 5)


def test_the_drawn_bar_never_reads_more_done_than_total(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(progress, "is_terminal", lambda: True)
    with progress.progress_bar() as update:
        assert update is not None
        for done in (10, 89, 120, 144):
            update("crawl", done, 89)
    drawn = capsys.readouterr().err
    assert "144/144" in drawn and "144/89" not in drawn
