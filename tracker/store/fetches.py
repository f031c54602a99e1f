"""What fetching leaves behind: attempts (`fetches`), text versions, an article's fetch state and
next visit, the due list, per-host politeness, and the results of distributed workers already saved."""

from __future__ import annotations

from typing import Any

from tracker.dates import now_iso
from tracker.store.db import Database, transaction


def load_hosts(db: Database) -> dict[str, tuple[float, float]]:
    """host -> (last request as epoch seconds, delay in seconds) from earlier crawls."""
    return {h: (float(t or 0), float(d or 0)) for h, t, d in
            db.conn.execute("SELECT host, last_request_at, delay FROM hosts")}


def save_hosts(db: Database, hosts: dict[str, tuple[float, float]]) -> None:
    """Remember each host's last request time and delay for the next crawl."""
    with transaction(db):
        db.table("hosts").upsert_all(({"host": h, "last_request_at": t, "delay": d} for h, (t, d) in hosts.items()),
                               pk="host")


# --- What is due ----------------------------------------------------------------------------------

def due_article_ids(db: Database, now: str, recrawl_before: str | None = None, limit: int = 0) -> list[int]:
    """Articles due at `now` (ISO): never fetched, or past their next visit, or, with
    `recrawl_before`, last fetched at or before that (refused ones excepted). Newest stories first."""
    params: list[Any] = [now]
    extra = ""
    if recrawl_before:
        extra = " OR (last_fetch_at IS NOT NULL AND last_fetch_at <= ? AND status != 'refused')"
        params.append(recrawl_before)
    sql = (f"SELECT id FROM articles WHERE status = 'new' OR next_fetch_at <= ?{extra} "
           "ORDER BY status = 'new' DESC, COALESCE(published, first_seen) DESC, id")
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [row[0] for row in db.conn.execute(sql, params)]


def load_fetch_target(db: Database, article_id: int) -> tuple[str, str | None, str | None]:
    """(url, etag, last_modified) of an article: where to fetch it and its validators."""
    row = db.conn.execute("SELECT url, etag, last_modified FROM articles WHERE id = ?", [article_id]).fetchone()
    return row[0], row[1], row[2]


# --- One attempt ----------------------------------------------------------------------------------

def load_text_state(db: Database, article_id: int) -> tuple[str | None, int, str | None]:
    """(content hash, version, published) of an article's stored text."""
    row = db.conn.execute("SELECT content_hash, version, published FROM articles WHERE id = ?",
                          [article_id]).fetchone()
    return row[0], int(row[1] or 0), row[2]


def save_version(db: Database, article_id: int, version: int, title: str | None, text: str,
                 content_hash: str, url: str) -> None:
    """Store a new text version and make it the article's current one."""
    db.conn.execute(
        "INSERT INTO article_versions (article_id, version, fetched_at, title, text, content_hash, url) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", [article_id, version, now_iso(), title, text, content_hash, url])
    db.conn.execute("UPDATE articles SET version = ?, content_hash = ? WHERE id = ?",
                    [version, content_hash, article_id])


def save_fetch(db: Database, fetch: dict[str, Any]) -> None:
    """Record one attempt (a row of `fetches`). Hand-written, not sqlite-utils' `insert`: the crawl's hot
    path, 20 times faster (docs/decisions.md)."""
    db.conn.execute(f"INSERT INTO fetches ({', '.join(fetch)}) VALUES ({', '.join('?' * len(fetch))})",
                    list(fetch.values()))


def load_fetch_state(db: Database, article_id: int) -> tuple[int, str | None, str, bool]:
    """(fail count, published, status, has text) of an article."""
    row = db.conn.execute("SELECT fail_count, published, status, text IS NOT NULL FROM articles "
                          "WHERE id = ?", [article_id]).fetchone()
    return int(row[0] or 0), row[1], row[2], row[3] == 1


def save_fetch_state(db: Database, article_id: int, state: dict[str, Any]) -> None:
    """Count one more fetch of the article and set these columns (status, next visit, ...)."""
    sets = "".join(f", {column} = ?" for column in state)
    db.conn.execute(f"UPDATE articles SET fetch_count = fetch_count + 1{sets} WHERE id = ?",
                    [*state.values(), article_id])


# --- Attempts of a crawl --------------------------------------------------------------------------

def last_fetch_id(db: Database) -> int:
    """The id of the latest attempt (0 before the first): attempts after it are a later crawl's."""
    return int(db.conn.execute("SELECT COALESCE(MAX(id), 0) FROM fetches").fetchone()[0])


def count_outcomes_after(db: Database, fetch_id: int) -> dict[str, int]:
    """Attempts after `fetch_id` per outcome."""
    return dict(db.conn.execute(
        "SELECT outcome, COUNT(*) FROM fetches WHERE id > ? GROUP BY outcome", [fetch_id]).fetchall())


def load_outcomes_after(db: Database, fetch_id: int) -> list[tuple[int, str]]:
    """(article id, outcome) of every attempt after `fetch_id`."""
    return db.conn.execute("SELECT article_id, outcome FROM fetches WHERE id > ?", [fetch_id]).fetchall()


# --- Results of distributed workers ---------------------------------------------------------------

def is_ingested(db: Database, key: str) -> bool:
    """Whether this worker result (one attempt) was already saved."""
    return db.conn.execute("SELECT 1 FROM ingested WHERE key = ?", [key]).fetchone() is not None


def save_ingested(db: Database, key: str) -> None:
    db.conn.execute("INSERT INTO ingested (key, ingested_at) VALUES (?, ?)", [key, now_iso()])


def prune_ingested(db: Database, before: str) -> int:
    """Forget the keys of results saved before `before` (stored time format); how many went."""
    with transaction(db):
        return db.conn.execute("DELETE FROM ingested WHERE ingested_at < ?", [before]).rowcount


def count_attempted_articles(db: Database) -> int:
    """Articles with at least one recorded attempt."""
    return int(db.conn.execute("SELECT COUNT(DISTINCT article_id) FROM fetches").fetchone()[0])
