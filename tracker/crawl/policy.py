"""When to visit an article again: fresh stories often, old ones rarely; failures back off.

Pure functions over times and counts; the crawl stores their answer in articles.next_fetch_at so
that "what is due" is one indexed query, and the schedule holds across runs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable

from tracker.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.I)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '6h', '2d', '1w' (or plain seconds) as a timedelta; ConfigError otherwise."""
    match = _DURATION.match(str(text))
    if not match:
        raise ConfigError(f"not a duration: {text!r} (use e.g. 30m, 6h, 2d, 1w)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2).lower()])


_DELAY_SECONDS = re.compile(r"^\s*(\d{1,12})\s*$")


def parse_retry_after(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """A Retry-After header as seconds from `now`: delay-seconds (digits only, RFC 9110) or an
    HTTP-date (a past one is 0). Anything else is None: "nan", "inf", "-5" and "1e999" are what a
    hostile server sends, and a NaN delay broke the event loop's timers and the store."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not value:
        return None
    match = _DELAY_SECONDS.match(value)
    if match:
        return float(match.group(1))
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - (now or datetime.now(timezone.utc))).total_seconds())


def finite_seconds(value: object) -> float | None:
    """`value` as a number of seconds if it is a finite, non-negative number (a robots.txt
    Crawl-delay, a stored delay), else None."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


@dataclass(frozen=True)
class RecrawlPolicy:
    """Revisit intervals by article age, and failure back-off. Settings: TRACKER_RECRAWL_*."""

    # (age below which, revisit every): a story edits and corrects most in its first days.
    schedule: tuple[tuple[timedelta, timedelta], ...] = (
        (timedelta(days=1), timedelta(hours=3)),
        (timedelta(days=7), timedelta(days=1)),
        (timedelta(days=30), timedelta(days=7)),
    )
    old: timedelta = timedelta(days=30)
    failure_base: timedelta = timedelta(hours=1)
    failure_cap: timedelta = timedelta(days=7)
    # Outcomes that will not change soon: page gone, refused, not HTML, too large, robots.
    permanent: timedelta = timedelta(days=30)

    def next_visit(self, now: datetime, published: datetime | None) -> datetime:
        """After a successful fetch: sooner for fresh articles."""
        age = now - published if published else self.old
        for below, every in self.schedule:
            if age < below:
                return now + every
        return now + self.old

    def after_failure(self, now: datetime, fail_count: int, retry_after: float | None = None) -> datetime:
        """After a retryable failure: 1h, 2h, 4h ... capped; a server's Retry-After is honoured."""
        delay = min(self.failure_base * (2 ** max(0, fail_count - 1)), self.failure_cap)
        seconds = finite_seconds(retry_after)
        if seconds:
            delay = max(delay, timedelta(seconds=min(seconds, self.failure_cap.total_seconds())))
        return now + delay

    def after_permanent(self, now: datetime) -> datetime:
        return now + self.permanent


def policy_from_settings(get: Callable[[str], Any] | None = None) -> RecrawlPolicy:
    """The policy, with TRACKER_RECRAWL_FAILURE_BASE / _FAILURE_CAP / _OLD / _PERMANENT overrides
    read through `get` (a settings lookup) where they are set."""
    default = RecrawlPolicy()
    if get is None:
        return default

    def duration(key: str, fallback: timedelta) -> timedelta:
        raw = get(key)
        return parse_duration(raw) if raw else fallback

    return RecrawlPolicy(schedule=default.schedule,
                         old=duration("TRACKER_RECRAWL_OLD", default.old),
                         failure_base=duration("TRACKER_RECRAWL_FAILURE_BASE", default.failure_base),
                         failure_cap=duration("TRACKER_RECRAWL_FAILURE_CAP", default.failure_cap),
                         permanent=duration("TRACKER_RECRAWL_PERMANENT", default.permanent))
