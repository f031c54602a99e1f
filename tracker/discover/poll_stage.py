"""The discovery stage of `tracker run`, before the crawl: sync the sources files into the
database, poll the due sources in the crawl process (spiders/discovery.py), and summarise what
the polls found. The new articles are then due like any other: crawled, tagged and clustered in
the same run. A bad source is one recorded error; nothing here stops the run."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

from tracker import store
from tracker.dates import format_iso
from tracker.discover.sources import SourceCheck, load_sources
from tracker.errors import SourceError
from tracker.store import sources as stored

logger = logging.getLogger(__name__)


@dataclass
class DiscoverySummary:
    """What a discovery stage did: sources synced and polled, items found, new articles, and one
    line per problem (a bad sources file entry, or a source whose poll failed or was damaged)."""

    sources: int = 0
    due: int = 0
    polled: int = 0
    failed: int = 0
    found: int = 0
    new_articles: int = 0
    errors: list[str] = field(default_factory=list)
    exit_code: int = 0

    @property
    def note(self) -> str:
        return (f"discovery: {self.polled} of {self.due} due sources polled ({self.failed} failed), "
                f"{self.found} items, {self.new_articles} new articles")


def sync_sources(db: store.Database, paths: Iterable[str | os.PathLike[str]]) -> SourceCheck:
    """Load the sources files and save their sources; sources no file names stop being polled
    (only when some file was read: a missing folder must not switch every source off)."""
    check = load_sources(paths)
    rows = [{"url": s.url, "kind": s.kind, "name": s.name, "interval": s.interval, "language": s.language,
             "jurisdiction": s.jurisdiction, "authority": int(s.authority), "link_pattern": s.link_pattern,
             "file": s.where.rsplit(":", 1)[0]} for s in check.sources]
    with store.transaction(db):
        stored.save_sources(db, rows, deactivate_others=bool(check.files) and not check.errors)
    return check


def poll_settings(settings: dict[str, str], started: float | None = None) -> dict[str, str]:
    """The crawl process's settings for the poll: the sources spider, and a deadline that leaves
    the crawl its share (TRACKER_DISCOVERY_SHARE) of the time the run has left."""
    out = dict(settings, TRACKER_SPIDER="sources")
    deadline = float(settings.get("TRACKER_DEADLINE") or 0)
    if deadline:
        now = started or time.time()
        share = float(settings.get("TRACKER_DISCOVERY_SHARE") or 0.5)
        out["TRACKER_DEADLINE"] = f"{now + max(0.0, deadline - now) * share:.3f}"
    return out


def discover(db: store.Database, paths: Iterable[str | os.PathLike[str]], settings: dict[str, str],
             log_file: Path | None = None, on_interrupt: Callable[[], None] | None = None) -> DiscoverySummary:
    """Sync `paths` (if any), poll what is due, and summarise the polls of this stage."""
    from tracker.crawl.runner import run_crawl_process

    paths = list(paths)
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:  # a scheduled job must not run on a mistyped folder (and switch every source off)
        raise SourceError(f"{', '.join(missing)}: no such sources file or folder")
    summary = DiscoverySummary()
    if paths:
        check = sync_sources(db, paths)
        summary.sources, summary.errors = len(check.sources), list(check.errors)
    everything = str(settings.get("TRACKER_SOURCES_ALL", "")).lower() in ("1", "true", "yes")
    now = format_iso(datetime.now(timezone.utc))
    summary.due = len(stored.load_due_sources(db, now, everything=everything))
    if not summary.due:
        return summary
    last = stored.last_poll_id(db)
    summary.exit_code = run_crawl_process(poll_settings(settings), log_file, on_interrupt)
    if summary.exit_code:
        summary.errors.append(f"the poll process failed with exit status {summary.exit_code}"
                              + (f" (see {log_file})" if log_file else ""))
    _tally(db, last, summary)
    return summary


def _tally(db: store.Database, after: int, summary: DiscoverySummary) -> None:
    for row in stored.load_polls_after(db, after):
        summary.found += row["items"] or 0
        summary.new_articles += row["new"] or 0
        if row["root"]:
            summary.polled += 1
            summary.failed += row["outcome"] not in ("ok", "not_modified")
        if row["error"]:
            summary.errors.append(f"source {row['source_url']}: {row['url']}: {row['error']}")


def mark_beat(db: store.Database, settings: dict[str, str]) -> int:
    """After tagging: discovered articles below TRACKER_BEAT_RELEVANCE are marked off the beat
    (kept, hidden by default where stories are listed); returns how many changed."""
    from tracker.crawl.defaults import TRACKER_BEAT_RELEVANCE

    threshold = float(settings.get("TRACKER_BEAT_RELEVANCE") or TRACKER_BEAT_RELEVANCE)
    with store.transaction(db):
        return stored.save_off_beat(db, threshold)
