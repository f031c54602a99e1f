"""Progress on a terminal (rich), nothing but logs elsewhere (cron, systemd): rich's one home."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

ProgressFn = Callable[[str, int, int], None]


def is_terminal() -> bool:
    return sys.stderr.isatty()


def configure_logging(verbose: bool = False) -> None:
    """On a terminal: warnings only (the bar says the rest). Elsewhere: one structured line per
    event, `time level logger message` with key=value fields, for cron mail and the journal."""
    level = logging.INFO if verbose or not is_terminal() else logging.WARNING
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("tracker").setLevel(level)


def bar_counts(done: int, total: int) -> tuple[int, int]:
    """(done, total) as a bar shows them: a stage that does more than it first counted (retries,
    articles found while crawling: "144/89") grows its total instead of running past it."""
    done = max(0, done)
    return done, max(total, done)


@contextmanager
def progress_bar() -> Iterator[ProgressFn | None]:
    """A `progress(stage, done, total)` callback drawing bars on a terminal; None elsewhere."""
    if not is_terminal():
        yield None
        return
    columns = (TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as bars:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            done, total = bar_counts(done, total)
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield update
