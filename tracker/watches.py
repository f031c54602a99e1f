"""Watches: saved searches with filters, and alerts for what is new or grown after each run.

A watch is search words (as on the search pages; a taxonomy name such as "BIPA" too) and lens
filters (tag ids per kind, a relevance threshold, an outlet). Adding one records the stories it
already matches as seen, so that alerts are about what comes after. After each run (`tracker
run` calls `alert_watches` once), each watch looks at the stories the run created or grew: a story
it never matched is new, a matched one with articles it has not alerted on grew, and the alert
names those articles. One alert per watch and channel is queued, then every pending alert is
delivered: by e-mail (`smtp://[user:password@]host[:port]/?from=ADDRESS&to=ADDRESS`, `smtps://`
for TLS) or as a JSON POST to a webhook URL. A failed delivery is recorded with its error and tried
again after the next run; nothing here ever fails the run.

The Atom feed of a watch is the `watch_feed` canned query (`/db/watch_feed.atom?watch=NAME`).
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Sequence
from urllib.parse import parse_qs, unquote, urlsplit

from tracker import store
from tracker.dates import now_iso
from tracker.errors import TrackerError
from tracker.serve.search import fts_query
from tracker.store import watches as stored

logger = logging.getLogger(__name__)

TIMEOUT = 20  # seconds per delivery attempt: a dead server must not hold the run


@dataclass
class AlertSummary:
    """What `alert_watches` did."""

    watches: int = 0
    stories: int = 0  # new or grown stories alerted on, over all watches
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def add_watch(db: store.Database, name: str, query: str = "", filters: dict[str, Any] | None = None,
              email: str | None = None, webhook: str | None = None) -> int:
    """Save (or replace) a watch; the stories it matches now are seen, not alerted on. Returns
    how many that is."""
    if not name.strip():
        raise TrackerError("watch: a name is needed")
    for url, schemes, what in ((email, ("smtp", "smtps"), "--email"), (webhook, ("http", "https"), "--webhook")):
        if url and urlsplit(url).scheme not in schemes:
            raise TrackerError(f"{what} {url!r}: expected a {' or '.join(schemes)} URL")
    watch: dict[str, Any] = {"name": name.strip(), "query": query, "fts": fts_query(query), "filters": filters or {},
             "email": email, "webhook": webhook, "created_at": now_iso()}
    with store.transaction(db):
        watch["id"] = stored.save_watch(db, watch)
        matched = stored.matching_stories(db, watch)
        for story_id in matched:
            seen = [a["id"] for a in stored.story_articles(db, story_id)]
            stored.save_seen(db, watch["id"], story_id, seen, [], watch["created_at"])
    return len(matched)


def filters_from_tags(db: store.Database, tags: Sequence[str], min_relevance: float | None = None,
                      outlet: str | None = None, everything: bool = False) -> dict[str, Any]:
    """Watch filters from taxonomy ids or names (`ico`, `GDPR`), grouped by kind; an unknown one
    is an error naming it. `everything`: also stories of discovered articles off the beat."""
    filters: dict[str, Any] = {}
    for value in tags:
        found = stored.resolve_tag(db, value)
        if found is None:
            raise TrackerError(f"{value!r}: no taxonomy entry has this id or name (run tracker tag first)")
        filters.setdefault(found[1], []).append(found[0])
    if min_relevance is not None:
        filters["min_relevance"] = min_relevance
    if outlet:
        filters["outlet"] = outlet
    if everything:
        filters["all"] = True
    return filters


def list_watches(db: store.Database) -> list[dict[str, Any]]:
    """The watches, a password in their SMTP or webhook URL shown as ***."""
    return [{**w, "email": redacted(w["email"]), "webhook": redacted(w["webhook"])} for w in stored.load_watches(db)]


def redacted(url: str | None) -> str | None:
    parts = urlsplit(url) if url else None
    if parts is None or not parts.password:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def remove_watch(db: store.Database, name: str) -> None:
    with store.transaction(db):
        if not stored.delete_watch(db, name):
            raise TrackerError(f"watch {name!r}: no such watch (tracker watch list)")


def alert_watches(db: store.Database, run_id: int | None) -> AlertSummary:
    """Queue each watch's alert for what run `run_id` brought, then deliver every pending alert.
    Never raises: a failure is logged, recorded on its delivery and retried next time."""
    summary = AlertSummary()
    try:
        for watch in stored.load_watches(db):
            summary.watches += 1
            summary.stories += _queue(db, watch, run_id)
        _deliver_pending(db, summary)
    except Exception as exc:  # the run's articles and stories are saved: alerts never fail it
        logger.exception("watches: alerting stopped (%s); undelivered alerts are tried next run", exc)
        summary.errors.append(str(exc))
    return summary


def _queue(db: store.Database, watch: dict[str, Any], run_id: int | None) -> int:
    """Record what is new or grown for one watch and queue its alert; returns the stories in it."""
    now = now_iso()
    changes = []
    with store.transaction(db):
        for story_id in stored.matching_stories(db, watch, run_id):
            articles = stored.story_articles(db, story_id)
            seen = stored.seen_articles(db, watch["id"], story_id)
            added = [a for a in articles if seen is None or a["id"] not in seen]
            if not added:
                continue
            stored.save_seen(db, watch["id"], story_id, [a["id"] for a in articles], [a["id"] for a in added], now)
            changes.append({**stored.story_header(db, story_id), "change": "new" if seen is None else "grew",
                            "added": added})
        if changes:
            payload = {"watch": watch["name"], "query": watch["query"], "filters": watch["filters"],
                       "run_id": run_id, "stories": changes}
            for channel in ("email", "webhook"):
                if watch[channel]:
                    stored.queue_delivery(db, watch["id"], run_id, channel, watch[channel], payload, now)
    return len(changes)


def _deliver_pending(db: store.Database, summary: AlertSummary) -> None:
    for delivery in stored.pending_deliveries(db):
        try:
            send = send_email if delivery["channel"] == "email" else post_webhook
            send(delivery["target"], delivery["payload"])
            error = None
            summary.sent += 1
        except (OSError, smtplib.SMTPException, TrackerError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            summary.failed += 1
            logger.warning("watch alert %d (%s) not delivered, retried next run: %s", delivery["id"],
                           delivery["channel"], error)
        with store.transaction(db):
            stored.save_attempt(db, delivery["id"], error, now_iso())


def post_webhook(url: str, payload: dict[str, Any]) -> None:
    """POST the alert as JSON; any answer but 2xx is a failure."""
    request = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise TrackerError(f"{url}: HTTP {exc.code}") from exc


def send_email(url: str, payload: dict[str, Any]) -> None:
    """Send the alert as a plain-text e-mail through the SMTP server the URL names."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    sender, to = query.get("from", [""])[0], query.get("to", [""])
    if not sender or not to[0]:
        raise TrackerError(f"{url}: the SMTP URL needs ?from=ADDRESS&to=ADDRESS")
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = alert_subject(payload), sender, ", ".join(to)
    message.set_content(alert_text(payload))
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    kwargs: dict[str, Any] = {"context": ssl.create_default_context()} if parts.scheme == "smtps" else {}
    with smtp_class(parts.hostname or "localhost", port, timeout=TIMEOUT, **kwargs) as smtp:
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)


def alert_subject(payload: dict[str, Any]) -> str:
    stories = payload["stories"]
    new = sum(1 for s in stories if s["change"] == "new")
    return f"[tracker] {payload['watch']}: {new} new, {len(stories) - new} grown"


def alert_text(payload: dict[str, Any]) -> str:
    """The alert as text: each story, whether new or grown, and the articles it brought."""
    lines = [f"Watch {payload['watch']!r} (search: {payload['query'] or 'everything'}; "
             f"filters: {json.dumps(payload['filters'], sort_keys=True)})", ""]
    for story in payload["stories"]:
        lines.append(f"{story['change'].upper()}: {story['headline']} (story {story['story_id']}, "
                     f"{story['n_articles']} articles)")
        lines += [f"  + {a['title'] or a['url']} ({a['publisher'] or '?'}, {(a['published'] or '?')[:10]}) {a['url']}"
                  for a in story["added"]]
        lines.append("")
    return "\n".join(lines)
