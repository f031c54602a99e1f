"""The privacy lens's rows: each article's tags (`article_tags`), the fines it reports (`fines`) and
the orders, bans and reprimands (`order_mentions`),
its relevance and tagging times on `articles`, and the taxonomy fingerprint (`lens`)."""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from tracker.store.db import Database


def load_fingerprint(db: Database) -> str | None:
    """The fingerprint of the taxonomy the stored tags were made with (None before the first run)."""
    row = db.conn.execute("SELECT value FROM lens WHERE key = 'taxonomy'").fetchone()
    return None if row is None else row[0]


def save_fingerprint(db: Database, fingerprint: str) -> None:
    db.conn.execute("INSERT OR REPLACE INTO lens (key, value) VALUES ('taxonomy', ?)", [fingerprint])


def due_tagging(db: Database, everything: bool = False) -> list[int]:
    """Ids of the articles to look at: changed since last looked at, or absorbed another since
    (with `everything`, all of them)."""
    if everything:
        return [r[0] for r in db.conn.execute("SELECT id FROM articles ORDER BY id")]
    sql = ("SELECT id FROM articles WHERE tag_checked_at IS NULL OR updated_at > tag_checked_at "
           "OR EXISTS (SELECT 1 FROM article_merges m WHERE m.kept_id = articles.id "
           "AND m.at > articles.tag_checked_at) ORDER BY id")
    return [r[0] for r in db.conn.execute(sql)]


def load_tag_rows(db: Database, ids: Sequence[int]) -> list[Sequence[Any]]:
    """(id, title, excerpt, text, published, tag_hash) of these articles, by id."""
    marks = ",".join("?" * len(ids))
    return db.conn.execute(f"SELECT id, title, excerpt, text, published, tag_hash FROM articles "
                           f"WHERE id IN ({marks}) ORDER BY id", list(ids)).fetchall()


def save_checked(db: Database, ids: Sequence[int], now: str) -> None:
    """These articles were looked at `now`; never earlier than an article's own updated_at, so
    that the next run's `>` skips it."""
    db.conn.executemany("UPDATE articles SET tag_checked_at = MAX(?, COALESCE(updated_at, '')) "
                        "WHERE id = ?", [(now, i) for i in ids])


def save_tags(db: Database, article_id: int, tags: Sequence[tuple[str, str, str, int]],
              fines: Sequence[dict[str, Any]], relevance: float, tag_hash: str, now: str,
              orders: Sequence[dict[str, Any]] = ()) -> bool:
    """Replace an article's tags (tag, kind, label, mentions) and fines and set its relevance;
    `tagged_at` moves to `now` only when its tags or relevance changed. Returns whether they did."""
    old_tags = {(t, k) for t, k in db.conn.execute(
        "SELECT tag, kind FROM article_tags WHERE article_id = ?", [article_id])}
    old_relevance = db.conn.execute("SELECT relevance FROM articles WHERE id = ?", [article_id]).fetchone()[0]
    db.conn.execute("DELETE FROM article_tags WHERE article_id = ?", [article_id])
    db.conn.execute("DELETE FROM fines WHERE article_id = ?", [article_id])
    db.conn.execute("DELETE FROM order_mentions WHERE article_id = ?", [article_id])
    db.conn.executemany(
        "INSERT INTO order_mentions (article_id, kind, regulator, company, law, evidence) "
        "VALUES (:article_id, :kind, :regulator, :company, :law, :evidence)",
        [{"article_id": article_id, **order} for order in orders])
    db.conn.executemany("INSERT INTO article_tags (article_id, tag, kind, label, mentions) VALUES (?, ?, ?, ?, ?)",
                        [(article_id, *tag) for tag in tags])
    db.conn.executemany(
        "INSERT INTO fines (article_id, amount, currency, amount_eur, kind, regulator, company, law, evidence) "
        "VALUES (:article_id, :amount, :currency, :amount_eur, :kind, :regulator, :company, :law, :evidence)",
        [{"article_id": article_id, **fine} for fine in fines])
    changed = old_tags != {(t[0], t[1]) for t in tags} or old_relevance != relevance
    db.conn.execute("UPDATE articles SET relevance = ?, tag_hash = ?, "
                    "tagged_at = CASE WHEN ? THEN ? ELSE tagged_at END WHERE id = ?",
                    [relevance, tag_hash, changed, now, article_id])
    return changed


def drop_orphans(db: Database) -> None:
    """Tags and fines of articles that no longer exist (merged into another, or deleted)."""
    for table in ("article_tags", "fines", "order_mentions"):
        db.conn.execute(f"DELETE FROM {table} WHERE article_id NOT IN (SELECT id FROM articles)")


def load_all_tags(db: Database) -> Iterator[tuple[int, str, str]]:
    """(article id, kind, tag) of every stored tag (none before the lens has run: the table may
    not exist)."""
    if "article_tags" not in db.table_names():
        return
    for article_id, kind, tag in db.conn.execute("SELECT article_id, kind, tag FROM article_tags"):
        yield int(article_id), kind, tag


def save_tag_rows(db: Database, rows: Sequence[tuple[int, str, str, str]]) -> None:
    """Insert (article_id, tag, label, kind) rows as they are (benchmarks' synthetic tags); a tag the
    article already carries (the serve bench's synthetic lens gave it one) is kept as it is."""
    db.conn.executemany("INSERT OR IGNORE INTO article_tags (article_id, tag, label, kind, mentions) "
                        "VALUES (?, ?, ?, ?, 1)", rows)
