"""What a poll brings: the items found on a source, checked and capped before they are saved.

Pure functions: the spider builds `PollResult`s, `settle_items` drops what cannot be used (bad
URLs, repeats, dates in the future) and says so in the poll's problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tracker.dates import BadDate, parse_iso, to_utc_iso

# A date this far ahead is a feed's mistake (a time zone, a typo, a placeholder), not news.
FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class FoundItem:
    """An article link a source listed, with what the source says about it."""

    url: str
    title: str | None = None
    published: str | None = None  # UTC ISO, as the source gave it (checked by settle_items)


@dataclass(frozen=True)
class SourceJob:
    """A due source as the poll needs it (read from the `sources` table)."""

    source_id: int
    url: str
    kind: str
    link_pattern: str | None = None
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class PollResult:
    """One response (or error) of a poll. `root` is the source's own URL; a sitemap index's
    children are polled too, as further results that are not root (they do not set the schedule).
    `outcome` is ok, not_modified, or what failed (parse_error, too_large, timeout, ...)."""

    source_id: int
    url: str
    requested_at: str
    root: bool = True
    outcome: str = "ok"
    status: int | None = None
    items: list[FoundItem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    elapsed_ms: float | None = None
    retry_after: float | None = None
    # the response, for the WARC (emptied once archived)
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    request_headers: dict[str, str] = field(default_factory=dict)
    final_url: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome not in ("ok", "not_modified")


def item_date(value: Any) -> str | None:
    """A source's date as UTC ISO, None for what is not a date (that is the item's loss only)."""
    try:
        return to_utc_iso(value)
    except (BadDate, OverflowError, ValueError):
        return None


def settle_items(items: list[FoundItem], max_items: int, now: datetime | None = None,
                 dated: bool = True) -> tuple[list[FoundItem], list[str]]:
    """Repeats dropped, at most `max_items` kept (sources list newest first), dates in the future
    dropped (the item is kept). Returns the items and one problem line per kind of loss; `dated`
    sources (feeds, sitemaps) also note items with no date."""
    now = now or datetime.now(timezone.utc)
    seen: set[str] = set()
    unique = []
    for item in items:  # the first of each URL, in the source's order
        if item.url not in seen:
            seen.add(item.url)
            unique.append(item)
    problems = []
    if len(unique) > max_items:
        problems.append(f"{len(unique)} items, only the first {max_items} taken (TRACKER_SOURCE_MAX_ITEMS)")
        unique = unique[:max_items]
    future = [i for i in unique if i.published and (parse_iso(i.published) or now) > now + FUTURE_SLACK]
    if future:
        problems.append(f"{len(future)} items dated in the future (e.g. {future[0].published}): dates ignored")
        unique = [FoundItem(i.url, i.title, None) if i in future else i for i in unique]
    undated = sum(1 for i in unique if not i.published)
    if dated and undated and not future:
        problems.append(f"{undated} of {len(unique)} items have no date")
    return unique, problems
