"""Watches (saved searches with filters), what each has seen, and the alerts queued for delivery.

`watches`: name, search words (already an FTS5 expression) and raw text, filters (JSON: tag ids
per kind, min_relevance, outlet), where to deliver (an SMTP URL, a webhook URL).
`watch_stories`: per watch, the stories it matched and the articles of each already alerted on;
`added` holds the articles the latest change brought (the feed names them).
`watch_deliveries`: one alert per watch, channel and run; `pending` until sent, retried each run.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from tracker.store.db import Database

TAG_KINDS = ("regulator", "law", "action", "jurisdiction", "technology", "company")


def save_watch(db: Database, watch: dict[str, Any]) -> int:
    """Insert or replace the watch named `watch["name"]`; returns its id."""
    db.conn.execute("DELETE FROM watches WHERE name = ?", [watch["name"]])
    cursor = db.conn.execute(
        "INSERT INTO watches (name, query, fts, filters, email, webhook, created_at) "
        "VALUES (:name, :query, :fts, :filters, :email, :webhook, :created_at)",
        {**watch, "filters": json.dumps(watch["filters"], sort_keys=True)})
    return int(cursor.lastrowid or 0)


def load_watches(db: Database) -> list[dict[str, Any]]:
    rows = db.conn.execute("SELECT id, name, query, fts, filters, email, webhook, created_at FROM watches "
                           "ORDER BY name").fetchall()
    keys = ("id", "name", "query", "fts", "filters", "email", "webhook", "created_at")
    return [{**dict(zip(keys, row)), "filters": json.loads(row[4] or "{}")} for row in rows]


def delete_watch(db: Database, name: str) -> bool:
    """Remove a watch with what it saw and its undelivered alerts; False if there is none."""
    row = db.conn.execute("SELECT id FROM watches WHERE name = ?", [name]).fetchone()
    if row is None:
        return False
    for table in ("watch_stories", "watch_deliveries"):
        db.conn.execute(f"DELETE FROM {table} WHERE watch_id = ?", [row[0]])
    db.conn.execute("DELETE FROM watches WHERE id = ?", [row[0]])
    return True


def matching_stories(db: Database, watch: dict[str, Any], run_id: int | None = None) -> list[int]:
    """Live stories the watch matches (among those run `run_id` created or grew, when given)."""
    clauses: list[str] = ["1"]
    params: dict[str, Any] = {}
    if watch["fts"]:
        clauses.append("s.id IN (SELECT cluster_id FROM articles WHERE id IN (SELECT rowid FROM articles_fts "
                       "WHERE articles_fts MATCH :fts) OR id IN (SELECT article_id FROM article_tags WHERE tag IN "
                       "(SELECT tag FROM lens_names WHERE name = lower(:name))))")
        params.update(fts=watch["fts"], name=watch["query"].strip(' "'))
    filters = watch["filters"]
    for i, tag in enumerate(t for kind in TAG_KINDS for t in filters.get(kind, [])):
        clauses.append(f"s.id IN (SELECT story_id FROM story_tag_links WHERE tag = :tag{i})")
        params[f"tag{i}"] = tag
    if filters.get("min_relevance") is not None:
        clauses.append("s.relevance >= :relevance")
        params["relevance"] = filters["min_relevance"]
    if filters.get("outlet"):
        clauses.append("s.id IN (SELECT cluster_id FROM articles WHERE publisher = :outlet)")
        params["outlet"] = filters["outlet"]
    if not filters.get("all"):  # the beat filter: not a story of discovered off-beat articles only
        clauses.append("s.id IN (SELECT cluster_id FROM articles WHERE off_beat IS NOT 1)")
    if run_id is not None:
        clauses.append("s.id IN (SELECT story_id FROM run_stories WHERE run_id = :run)")
        params["run"] = run_id
    sql = f"SELECT s.id FROM story_lens s WHERE {' AND '.join(clauses)} ORDER BY s.id"
    return [r[0] for r in db.conn.execute(sql, params)]


def story_articles(db: Database, story_id: int) -> list[dict[str, Any]]:
    """A story's articles in publication order, with what an alert names."""
    keys = ("id", "title", "url", "publisher", "published")
    rows = db.conn.execute("SELECT id, title, url, publisher, published FROM articles WHERE cluster_id = ? "
                           "ORDER BY published, id", [story_id]).fetchall()
    return [dict(zip(keys, row)) for row in rows]


def story_header(db: Database, story_id: int) -> dict[str, Any]:
    row = db.conn.execute("SELECT id, headline, first_seen, last_seen, n_articles FROM clusters WHERE id = ?",
                          [story_id]).fetchone()
    return dict(zip(("story_id", "headline", "first_seen", "last_seen", "n_articles"), row or ()))


def seen_articles(db: Database, watch_id: int, story_id: int) -> set[int] | None:
    """The articles of a story a watch already alerted on; None if it never matched the story."""
    row = db.conn.execute("SELECT seen FROM watch_stories WHERE watch_id = ? AND story_id = ?",
                          [watch_id, story_id]).fetchone()
    return None if row is None else set(json.loads(row[0] or "[]"))


def save_seen(db: Database, watch_id: int, story_id: int, seen: Sequence[int], added: Sequence[int],
              now: str) -> None:
    db.conn.execute(
        "INSERT INTO watch_stories (watch_id, story_id, seen, added, first_matched_at, changed_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (watch_id, story_id) DO UPDATE SET seen = excluded.seen, "
        "added = excluded.added, changed_at = excluded.changed_at",
        [watch_id, story_id, json.dumps(sorted(seen)), json.dumps(sorted(added)), now, now])


def queue_delivery(db: Database, watch_id: int, run_id: int | None, channel: str, target: str,
                   payload: dict[str, Any], now: str) -> None:
    db.conn.execute("INSERT INTO watch_deliveries (watch_id, run_id, channel, target, payload, status, "
                    "attempts, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?)",
                    [watch_id, run_id, channel, target, json.dumps(payload, ensure_ascii=False), now])


def pending_deliveries(db: Database) -> list[dict[str, Any]]:
    keys = ("id", "watch_id", "channel", "target", "payload", "attempts")
    rows = db.conn.execute("SELECT id, watch_id, channel, target, payload, attempts FROM watch_deliveries "
                           "WHERE status = 'pending' ORDER BY id").fetchall()
    return [{**dict(zip(keys, row)), "payload": json.loads(row[4])} for row in rows]


def save_attempt(db: Database, delivery_id: int, error: str | None, now: str) -> None:
    """One delivery attempt: sent, or still pending with its error (retried next run)."""
    db.conn.execute("UPDATE watch_deliveries SET attempts = attempts + 1, last_error = ?, "
                    "status = CASE WHEN ? IS NULL THEN 'sent' ELSE 'pending' END, "
                    "sent_at = CASE WHEN ? IS NULL THEN ? END WHERE id = ?",
                    [error, error, error, now, delivery_id])


def resolve_tag(db: Database, value: str) -> tuple[str, str] | None:
    """(tag id, kind) of a taxonomy id, name or alias (as the tag stage stored them), or None."""
    row = db.conn.execute("SELECT tag, kind FROM lens_names WHERE name = lower(?) ORDER BY tag = lower(?) DESC "
                          "LIMIT 1", [value.strip(), value.strip()]).fetchone()
    return None if row is None else (row[0], row[1])
