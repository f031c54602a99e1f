"""Seed files as loaded (`seed_files`: path, content hash, the seed's article) and the relations
each declares (`relations`: the seed's article and its related articles, in order)."""

from __future__ import annotations

from tracker.dates import now_iso
from tracker.store.db import Database


def load_loaded_hashes(db: Database) -> dict[str, str]:
    """path -> content hash of every seed file loaded without error."""
    return {row[0]: row[1] for row in db.execute(
        "SELECT path, sha256 FROM seed_files WHERE status = 'loaded'")}


def save_seed_file(db: Database, path: str, sha256: str, article_id: int, n_related: int) -> None:
    """Record a seed file as loaded, and clear the relations it declared before."""
    db.execute(
        "INSERT INTO seed_files (path, sha256, loaded_at, article_id, n_related, status, error) "
        "VALUES (?, ?, ?, ?, ?, 'loaded', NULL) ON CONFLICT(path) DO UPDATE SET sha256 = excluded.sha256, "
        "loaded_at = excluded.loaded_at, article_id = excluded.article_id, "
        "n_related = excluded.n_related, status = 'loaded', error = NULL",
        [path, sha256, now_iso(), article_id, n_related])
    db.execute("DELETE FROM relations WHERE seed_path = ?", [path])


def save_relation(db: Database, path: str, related_id: int, article_id: int, position: int) -> int:
    """Record one related article of a seed; returns 1 if new, 0 if the seed already named it."""
    cursor = db.conn.execute(
        "INSERT OR IGNORE INTO relations (seed_path, related_id, article_id, position) "
        "VALUES (?, ?, ?, ?)", [path, related_id, article_id, position])
    return cursor.rowcount


def settle_seed_article(db: Database, path: str) -> int:
    """The seed's article id after any merge its related items caused, written on its relations."""
    article_id = int(db.execute("SELECT article_id FROM seed_files WHERE path = ?", [path]).fetchone()[0])
    db.execute("UPDATE relations SET article_id = ? WHERE seed_path = ?", [article_id, path])
    return article_id
