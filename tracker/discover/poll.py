"""Saving a poll: the new article URLs (deduplicated against every known alias), the source's
schedule (failures back off like a failing host's pages), and the poll's row. Shared by the
Scrapy pipeline and the tests; all SQL is in tracker/store/sources.py and articles.py."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from tracker import store
from tracker.crawl.policy import RecrawlPolicy
from tracker.dates import format_iso
from tracker.discover.items import FoundItem, PollResult, SourceJob
from tracker.errors import UrlError
from tracker.publishers import outlet_name
from tracker.store import articles
from tracker.store import sources as stored
from tracker.urls import host_of, make_alias

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SavedPoll:
    found: int
    new: int


def load_due_jobs(db: store.Database, limit: int = 0, everything: bool = False) -> list[SourceJob]:
    """The sources due now as the spider needs them."""
    rows = stored.load_due_sources(db, format_iso(datetime.now(timezone.utc)), limit, everything)
    return [SourceJob(r["id"], r["url"], r["kind"], r["link_pattern"], r["etag"], r["last_modified"])
            for r in rows]


def save_poll_result(db: store.Database, result: PollResult, policy: RecrawlPolicy,
                     run_id: int | None = None, warc_file: str | None = None) -> SavedPoll:
    """Save one response of a poll in one transaction: its items, its row, the source's state."""
    source = stored.load_source(db, result.source_id)
    if source is None:  # removed while the poll ran: nothing to attach it to
        return SavedPoll(0, 0)
    with store.transaction(db):
        ids, new, bad = _save_items(db, result.items, source)
        stored.save_source_articles(db, result.source_id, ids, bool(source["authority"]))
        problems = result.problems + ([f"{bad} item URLs not usable (skipped)"] if bad else [])
        stored.save_poll(db, {"source_id": result.source_id, "run_id": run_id, "url": result.url,
                              "root": int(result.root), "requested_at": result.requested_at, "status": result.status,
                              "outcome": result.outcome, "items": len(result.items), "new": new,
                              "error": "; ".join(problems) or None, "elapsed_ms": result.elapsed_ms,
                              "warc_file": warc_file})
        if result.root:
            stored.save_poll_state(db, result.source_id, _state(source, result, problems, new, policy))
        else:
            stored.add_poll_counts(db, result.source_id, len(result.items), new, 1 if problems else 0)
    if problems:
        logger.warning("source %s: %s", result.url, "; ".join(problems))
    return SavedPoll(len(result.items), new)


def _save_items(db: store.Database, items: list[FoundItem], source: dict[str, Any]) -> tuple[list[int], int, int]:
    """Article ids of the items (new ones created, due for the crawl), how many were new, how many bad."""
    ids: list[int] = []
    new = bad = 0
    # A feed that changed still lists mostly what it listed before: URLs already recorded as they
    # are written need no normalising (make_alias is most of an item's cost) nor alias lookup.
    seen = stored.load_url_ids(db, [item.url for item in items])
    for item in items:
        if item.url in seen:
            ids.append(seen[item.url])
            continue
        try:
            alias = make_alias(item.url, "web")
        except UrlError:
            bad += 1
            continue
        known = articles.find_article_ids(db, [alias])
        if known:
            ids.append(min(known))
            continue
        domain = host_of(alias.url)
        fields = {"title": item.title, "published": item.published,
                  "published_source": "discovery" if item.published else None,
                  "publisher_domain": domain, "publisher": outlet_name(domain), "language": source["language"]}
        article_id, created = articles.resolve_article(db, [alias], alias.url, fields, "discovery")
        ids.append(article_id)
        new += int(created)
    return ids, new, bad


def _state(source: dict[str, Any], result: PollResult, problems: list[str], new: int,
           policy: RecrawlPolicy) -> dict[str, Any]:
    """The source's columns after a poll of its own URL."""
    now = datetime.now(timezone.utc)
    state: dict[str, Any] = {"last_poll_at": format_iso(now), "last_outcome": result.outcome,
                             "last_error": "; ".join(problems) or None, "items_last": len(result.items),
                             "new_last": new, "new_total": (source["new_total"] or 0) + new,
                             "errors_total": (source["errors_total"] or 0) + (1 if problems else 0)}
    interval = timedelta(seconds=source["interval"] or 6 * 3600)
    if result.failed:
        fails = (source["fail_count"] or 0) + 1
        state["fail_count"] = fails
        state["next_poll_at"] = format_iso(max(now + interval, policy.after_failure(now, fails, result.retry_after)))
        return state
    state["fail_count"] = 0
    state["next_poll_at"] = format_iso(now + interval)
    if result.outcome == "ok":  # a 304 keeps the validators it matched
        state["etag"], state["last_modified"] = result.etag, result.last_modified
    return state
