"""Discovery's rows: the sources (synced from sources/*.yml), their polls, and which articles each
source listed. The discovery stage (tracker/discover/) calls these; they hold its SQL."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from tracker.dates import now_iso
from tracker.store.db import Database

# Columns a sources file sets; the rest (schedule, validators, counts) are the polls' own.
DECLARED = ("kind", "name", "interval", "language", "jurisdiction", "authority", "link_pattern", "file")


def save_sources(db: Database, rows: Sequence[dict[str, Any]], deactivate_others: bool) -> tuple[int, int]:
    """Insert or update sources by URL (their poll state kept); with `deactivate_others`, sources
    no file names any more stop being polled (their rows and history stay). Returns (new, updated)."""
    known = {url for (url,) in db.execute("SELECT url FROM sources")}
    sets = ", ".join(f"{c} = excluded.{c}" for c in DECLARED)
    db.conn.executemany(
        f"INSERT INTO sources (url, {', '.join(DECLARED)}, active) VALUES (?, {', '.join('?' * len(DECLARED))}, 1) "
        f"ON CONFLICT(url) DO UPDATE SET {sets}, active = 1",
        [[row["url"], *(row.get(c) for c in DECLARED)] for row in rows])
    if deactivate_others:
        urls = [row["url"] for row in rows]
        db.execute(f"UPDATE sources SET active = 0 WHERE url NOT IN ({','.join('?' * len(urls))})", urls)
    new = sum(1 for row in rows if row["url"] not in known)
    return new, len(rows) - new


def load_due_sources(db: Database, now: str, limit: int = 0, everything: bool = False) -> list[dict[str, Any]]:
    """Active sources never polled or past their next poll (all active ones with `everything`),
    longest waiting first."""
    where = "active = 1" if everything else "active = 1 AND (next_poll_at IS NULL OR next_poll_at <= ?)"
    sql = (f"SELECT id, url, kind, link_pattern, etag, last_modified FROM sources WHERE {where} "
           "ORDER BY next_poll_at IS NOT NULL, next_poll_at, id" + (f" LIMIT {int(limit)}" if limit else ""))
    cursor = db.execute(sql, [] if everything else [now])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def load_source(db: Database, source_id: int) -> dict[str, Any] | None:
    """One source's row, or None."""
    cursor = db.execute("SELECT * FROM sources WHERE id = ?", [source_id])
    row = cursor.fetchone()
    return dict(zip([d[0] for d in cursor.description], row)) if row else None


def load_source_rows(db: Database) -> list[dict[str, Any]]:
    """Every source with its last poll and the stories it fed (the source_report view)."""
    cursor = db.execute("SELECT * FROM source_report")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def save_poll(db: Database, row: dict[str, Any]) -> None:
    """Record one response (or error) of a poll (plain SQL: sqlite-utils' insert reads the table's
    shape each time, a third of the cost of a 304's whole save)."""
    db.execute(f"INSERT INTO source_polls ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
               list(row.values()))


def save_poll_state(db: Database, source_id: int, state: dict[str, Any]) -> None:
    """After a source's own URL was polled: validators, schedule, counts."""
    sets = ", ".join(f"{k} = ?" for k in state)
    db.execute(f"UPDATE sources SET {sets}, polls = polls + 1 WHERE id = ?", [*state.values(), source_id])


def add_poll_counts(db: Database, source_id: int, found: int, new: int, errors: int) -> None:
    """A sitemap index's child adds its items to the source's last poll."""
    db.execute("UPDATE sources SET items_last = COALESCE(items_last, 0) + ?, new_last = COALESCE(new_last, 0) + ?, "
               "new_total = new_total + ?, errors_total = errors_total + ? WHERE id = ?",
               [found, new, new, errors, source_id])


def save_source_articles(db: Database, source_id: int, article_ids: Iterable[int], primary: bool) -> None:
    """Remember which articles the source listed; an authority's are marked primary sources."""
    ids = list(article_ids)
    db.conn.executemany("INSERT OR IGNORE INTO source_articles (source_id, article_id, first_seen) VALUES (?, ?, ?)",
                        [(source_id, a, now_iso()) for a in ids])
    if primary and ids:
        db.conn.executemany("UPDATE articles SET primary_source = 1 WHERE id = ? AND primary_source IS NOT 1",
                            [(a,) for a in ids])



def reset_schedule(db: Database) -> None:
    """Every source due now (benchmarks, `tracker sources poll --all`)."""
    db.execute("UPDATE sources SET next_poll_at = NULL")


def last_poll_id(db: Database) -> int:
    """The newest poll row's id (0 for none): a stage's polls are those after it."""
    return int(db.execute("SELECT COALESCE(MAX(id), 0) FROM source_polls").fetchone()[0])


def load_polls_after(db: Database, after: int) -> list[dict[str, Any]]:
    """Polls recorded after `after`, each with its source's URL and whether it was the source's own."""
    cursor = db.execute(
        "SELECT p.url, p.outcome, p.items, p.new, p.error, s.url AS source_url, p.root "
        "FROM source_polls p JOIN sources s ON s.id = p.source_id WHERE p.id > ? ORDER BY p.id", [after])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


# Articles a person named (seed files and their relations) are on the beat whatever their tags.
_SEEDED = ("SELECT article_id FROM seed_files WHERE article_id IS NOT NULL "
           "UNION SELECT article_id FROM relations UNION SELECT related_id FROM relations")


def save_off_beat(db: Database, threshold: float) -> int:
    """Mark discovered, tagged articles off the beat (relevance below `threshold`) or back on it;
    returns how many rows changed. Seeded articles are never off the beat."""
    cursor = db.execute(
        "UPDATE articles SET off_beat = (COALESCE(relevance, 0) < :t AND id NOT IN (" + _SEEDED + ")) "
        "WHERE tagged_at IS NOT NULL AND id IN (SELECT article_id FROM source_articles) "
        "AND off_beat IS NOT (COALESCE(relevance, 0) < :t AND id NOT IN (" + _SEEDED + "))",
        {"t": threshold})
    return cursor.rowcount


def load_url_ids(db: Database, urls: Sequence[str]) -> dict[str, int]:
    """url -> article id for those of `urls` already recorded exactly as aliases."""
    found: dict[str, int] = {}
    for start in range(0, len(urls), 500):  # under SQLite's bound-parameter limit
        chunk = list(urls[start:start + 500])
        found.update(db.execute(f"SELECT url, article_id FROM urls WHERE url IN ({','.join('?' * len(chunk))})",
                                chunk).fetchall())
    return found
