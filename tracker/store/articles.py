"""Articles and their URLs: finding an article by any of its aliases, creating it, writing its
metadata by source rank, and merging two articles into one (URLs, relations, fetches and
versions move over; the dropped row is kept whole in `article_merges`)."""

from __future__ import annotations

import json
import logging
from typing import Any, Iterable, Sequence

from sqlite_utils.db import NotFoundError

from tracker.dates import now_iso
from tracker.errors import TrackerError
from tracker.store.db import Database
from tracker.urls import Alias

logger = logging.getLogger(__name__)

# Which source may overwrite which: a crawl beats an import beats a seed.
SOURCE_RANK = {"discovery": 0, "seed": 1, "import": 2, "crawl": 3}  # discovery: a feed's few words
# What a fetch left on an article; moves as one when a merge brings the fetched text along.
FETCH_STATE = ("status", "fetch_count", "fail_count", "last_fetch_at", "last_success_at",
               "next_fetch_at", "last_error", "etag", "last_modified", "content_hash")
META_FIELDS = ("title", "excerpt", "text", "author", "published", "published_source", "updated",
               "updated_source", "publisher", "publisher_domain", "language", "image", "external_id")


def find_article_ids(db: Database, aliases: Sequence[Alias]) -> set[int]:
    """Ids of the articles any of these aliases (by exact URL or by story key) already belong to."""
    return {article_id for _, article_id in _known_urls(db, aliases)}


def _known_urls(db: Database, aliases: Sequence[Alias]) -> list[tuple[str, int]]:
    urls = [a.url for a in aliases]
    keys = [a.key for a in aliases]
    marks_u, marks_k = ",".join("?" * len(urls)), ",".join("?" * len(keys))
    sql = f"SELECT url, article_id FROM urls WHERE url IN ({marks_u}) OR key IN ({marks_k})"
    return list(db.conn.execute(sql, [*urls, *keys]))


def resolve_article(db: Database, aliases: Sequence[Alias], url: str, fields: dict[str, Any],
                    source: str) -> tuple[int, bool]:
    """The article these aliases name (created, or merged from several); returns (id, created)."""
    known = _known_urls(db, aliases)
    ids = sorted({article_id for _, article_id in known})
    created = not ids
    if created:
        article_id = _create_article(db, url)
    else:
        article_id = ids[0]
        for other in ids[1:]:
            merge_articles(db, article_id, other, reason="shared alias")
    mapped = {u for u, a in known if a == article_id or len(ids) == 1}
    save_aliases(db, article_id, [a for a in aliases if a.url not in mapped])
    apply_meta(db, article_id, fields, source)
    return article_id, created


def _create_article(db: Database, url: str) -> int:
    now = now_iso()
    existing = db.conn.execute("SELECT id FROM articles WHERE url = ?", [url]).fetchone()
    if existing:  # same URL string already an article (its aliases were merged elsewhere)
        return int(existing[0])
    cursor = db.conn.execute(
        "INSERT INTO articles (url, status, first_seen, updated_at) VALUES (?, 'new', ?, ?)",
        [url, now, now])
    return int(cursor.lastrowid or 0)  # always set after an INSERT; 0 only satisfies the type


def save_aliases(db: Database, article_id: int, aliases: Iterable[Alias]) -> None:
    """Record each alias as pointing at the article; an alias already known keeps its kind."""
    now = now_iso()
    db.conn.executemany(
        "INSERT INTO urls (url, article_id, kind, key, first_seen) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(url) DO UPDATE SET article_id = excluded.article_id",
        [(alias.url, article_id, alias.kind, alias.key, now) for alias in aliases])


_META_SELECT = "SELECT meta_source, topics, " + ", ".join(META_FIELDS) + " FROM articles WHERE id = ?"


def apply_meta(db: Database, article_id: int, fields: dict[str, Any], source: str) -> None:
    """Write metadata: a source at least as good as the stored one overwrites, a worse one only fills."""
    row = db.conn.execute(_META_SELECT, [article_id]).fetchone()
    if row is None:
        raise TrackerError(f"article {article_id} does not exist")
    current = dict(zip(("meta_source", "topics", *META_FIELDS), row))
    overwrite = SOURCE_RANK[source] >= SOURCE_RANK.get(current["meta_source"] or "", 0)
    updates: dict[str, Any] = {}
    for name in META_FIELDS:
        value = fields.get(name)
        if value in (None, "") or value == current[name]:
            continue
        if overwrite or current[name] in (None, ""):
            updates[name] = value
    topics = _merge_topics(current["topics"], fields.get("topics"))
    if topics != current["topics"]:
        updates["topics"] = topics
    if overwrite and current["meta_source"] != source:
        updates["meta_source"] = source
    if updates:
        updates["updated_at"] = now_iso()
        sets = ", ".join(f"{k} = ?" for k in updates)
        db.conn.execute(f"UPDATE articles SET {sets} WHERE id = ?", [*updates.values(), article_id])


def _merge_topics(stored: str | None, new: Sequence[str] | None) -> str | None:
    if not new:
        return stored
    topics = json.loads(stored) if stored else []
    for topic in new:
        if topic not in topics:
            topics.append(topic)
    return json.dumps(topics, ensure_ascii=False)


def merge_articles(db: Database, keep_id: int, drop_id: int, reason: str) -> None:
    """Fold article `drop_id` into `keep_id`: its URLs, relations, fetches, versions and any field
    the kept one lacks move over; the dropped row is recorded whole in article_merges."""
    if keep_id == drop_id:
        return
    keep = _row(db, "articles", keep_id)
    drop = _row(db, "articles", drop_id)
    fill = {k: v for k, v in drop.items()
            if k not in ("id", "url") and v not in (None, "") and keep.get(k) in (None, "")}
    if keep.get("text") is None and drop.get("text") is not None:
        fill.update({k: drop[k] for k in FETCH_STATE})  # the fetched one's state goes with its text
    _repoint(db, keep_id, drop_id)
    db.execute("INSERT INTO article_merges (kept_id, merged_id, merged_url, reason, merged_row, at) "
               "VALUES (?, ?, ?, ?, ?, ?)",
               [keep_id, drop_id, drop["url"], reason, json.dumps(drop, ensure_ascii=False), now_iso()])
    db.execute("DELETE FROM articles WHERE id = ?", [drop_id])
    if fill:
        sets = ", ".join(f"{k} = ?" for k in fill)
        db.execute(f"UPDATE articles SET {sets} WHERE id = ?", [*fill.values(), keep_id])
    db.execute("INSERT OR IGNORE INTO urls (url, article_id, kind, key, first_seen) "
               "SELECT url, ?, 'merged', key, ? FROM urls WHERE url = ?", [keep_id, now_iso(), drop["url"]])
    db.execute("UPDATE articles SET version = (SELECT COALESCE(MAX(version), 0) FROM article_versions "
               "WHERE article_id = ?) WHERE id = ?", [keep_id, keep_id])
    logger.info("merged article %s into %s (%s)", drop_id, keep_id, reason)


def _repoint(db: Database, keep_id: int, drop_id: int) -> None:
    db.execute("UPDATE urls SET article_id = ? WHERE article_id = ?", [keep_id, drop_id])
    for column in ("article_id", "related_id"):
        db.execute(f"UPDATE OR IGNORE relations SET {column} = ? WHERE {column} = ?", [keep_id, drop_id])
        db.execute(f"DELETE FROM relations WHERE {column} = ?", [drop_id])
    db.execute("UPDATE fetches SET article_id = ? WHERE article_id = ?", [keep_id, drop_id])
    top = db.execute("SELECT COALESCE(MAX(version), 0) FROM article_versions WHERE article_id = ?",
                     [keep_id]).fetchone()[0]
    db.execute("UPDATE article_versions SET article_id = ?, version = version + ? WHERE article_id = ?",
               [keep_id, top, drop_id])
    db.execute("UPDATE articles SET duplicate_of = ? WHERE duplicate_of = ?", [keep_id, drop_id])
    db.execute("UPDATE seed_files SET article_id = ? WHERE article_id = ?", [keep_id, drop_id])
    db.execute("UPDATE OR IGNORE source_articles SET article_id = ? WHERE article_id = ?", [keep_id, drop_id])
    db.execute("DELETE FROM source_articles WHERE article_id = ?", [drop_id])
    # an article that absorbed others earlier is referenced by article_merges.kept_id
    db.execute("UPDATE article_merges SET kept_id = ? WHERE kept_id = ?", [keep_id, drop_id])


def _row(db: Database, table: str, pk: Any) -> dict[str, Any]:
    try:
        return dict(db.table(table).get(pk))
    except NotFoundError as exc:
        raise TrackerError(f"{table}: no row {pk}") from exc



def count_articles(db: Database) -> int:
    return db["articles"].count


def article_exists(db: Database, article_id: int) -> bool:
    return db.conn.execute("SELECT 1 FROM articles WHERE id = ?", [article_id]).fetchone() is not None


def load_known_urls(db: Database, urls: Sequence[str]) -> set[str]:
    """Those of these URLs that are already an alias of some article."""
    return {u for u, in db.conn.execute(f"SELECT url FROM urls WHERE url IN ({','.join('?' * len(urls))})",
                                        list(urls))}


def load_aliases(db: Database, article_id: int) -> list[tuple[str, str]]:
    """(url, kind) of every alias of an article."""
    return db.conn.execute("SELECT url, kind FROM urls WHERE article_id = ?", [article_id]).fetchall()


def save_url(db: Database, article_id: int, url: str) -> None:
    """Make `url` the article's own URL, unless another article already has it."""
    taken = db.conn.execute("SELECT id FROM articles WHERE url = ? AND id != ?", [url, article_id]).fetchone()
    if not taken:
        db.conn.execute("UPDATE articles SET url = ? WHERE id = ?", [url, article_id])


def count_fetched_under(db: Database, prefix: str) -> int:
    """Fetched articles whose URL starts with `prefix`."""
    return int(db.conn.execute("SELECT COUNT(*) FROM articles WHERE status = 'fetched' AND url LIKE ?",
                               [f"{prefix}%"]).fetchone()[0])
