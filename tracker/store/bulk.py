"""Filling a fresh database fast, for the benchmarks: rows written as given (no alias resolution,
no metadata ranking), indexes and full-text index built once after the load."""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from tracker.store.db import Database, transaction

# Column order of the rows `save_stories` takes.
CLUSTER_COLUMNS = ("id", "headline", "first_seen", "last_seen", "n_articles", "n_publishers", "publishers")
ARTICLE_COLUMNS = ("id", "url", "title", "excerpt", "text", "published", "publisher", "publisher_domain",
                   "language", "topics", "cluster_id", "status", "first_seen", "fetch_count",
                   "last_fetch_at", "last_success_at")


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def save_stories(db: Database, batches: Iterable[Sequence[tuple[tuple[Any, ...], Sequence[tuple[Any, ...]]]]]
                 ) -> None:
    """Write batches of (cluster row, its article rows), in the column orders above, in one
    transaction: the articles' indexes and triggers are dropped first and made again after, and
    the full-text index is rebuilt once."""
    deferred = db.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'articles' AND "
                          "type IN ('index', 'trigger') AND sql IS NOT NULL").fetchall()
    with transaction(db):
        for (sql,) in deferred:  # bulk load first, then index and full-text index once
            found = re.match(r"CREATE (?:UNIQUE )?(INDEX|TRIGGER) \[?\"?(\w+)", sql)
            if found is None:  # an index or trigger we did not declare: leave it in place
                continue
            kind, name = found.groups()
            db.execute(f"DROP {kind} [{name}]")
        for batch in batches:
            db.conn.executemany(_insert_sql("clusters", CLUSTER_COLUMNS), [cluster for cluster, _ in batch])
            db.conn.executemany(_insert_sql("articles", ARTICLE_COLUMNS),
                                [row for _, rows in batch for row in rows])
        for (sql,) in deferred:
            db.execute(sql)
        db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")


def save_articles(db: Database, rows: Iterable[dict[str, Any]]) -> None:
    """Insert article rows (dicts of `articles` columns) as they are, in one transaction."""
    with transaction(db):
        db.table("articles").insert_all(rows, batch_size=5000)


def story_sizes(db: Database) -> list[tuple[int, int]]:
    """(story id, articles) of every cluster, by id (a synthetic database's articles follow this order)."""
    return [(int(i), int(n)) for i, n in db.execute("SELECT id, n_articles FROM clusters ORDER BY id")]


def save_lens(db: Database, batches: Iterable[tuple[Sequence[tuple[Any, ...]], Sequence[tuple[float, int]]]]
              ) -> None:
    """Write batches of (tag rows (article_id, kind, tag, label, mentions), (relevance, article_id)
    pairs) in one transaction, as the tag stage would have left them."""
    with transaction(db):
        for tags, relevances in batches:
            db.conn.executemany("INSERT INTO article_tags (article_id, kind, tag, label, mentions) "
                                "VALUES (?, ?, ?, ?, ?)", tags)
            db.conn.executemany("UPDATE articles SET relevance = ?, tagged_at = first_seen, "
                                "tag_checked_at = first_seen WHERE id = ?", relevances)
