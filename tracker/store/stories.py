"""The clustering's rows: articles as the clustering reads them, each article's raw cluster
(`story_leader`, `story_at`, duplicates), the links between raw clusters (`story_links`), stable
`clusters` rows and their merges, analysts' corrections, and the options fingerprint.

The logic that decides what these rows hold is tracker/stories/cluster_stage.py; this module only reads
and writes them.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

from tracker.dates import now_iso
from tracker.store.db import Database

_ITEM_SQL = ("SELECT id, COALESCE(published, first_seen), title, excerpt, substr(text, 1, 2000), "
             "publisher, language, url, story_leader, duplicate_of, cluster_id FROM articles")
_CHUNK = 500  # SQLite caps the number of parameters of one statement

# --- Reading articles ------------------------------------------------------------------------------


def load_article_rows(db: Database, since: float | None = None) -> Iterator[tuple[Any, ...]]:
    """(id, time, title, excerpt, text lead, publisher, language, url, story_leader, duplicate_of,
    cluster_id) of every article, or with `since` of those clustered at or after it or not yet."""
    if since is None:
        return db.conn.execute(_ITEM_SQL)
    return db.conn.execute(f"{_ITEM_SQL} WHERE COALESCE(story_at, 0) >= ? OR story_at IS NULL", [since])


def load_pending_times(db: Database) -> Iterator[tuple[str | None, float | None]]:
    """(time, stored story_at) of articles new, changed, re-timed or re-tagged since they were
    clustered (`tagged_at`, written by the privacy lens, may not exist yet)."""
    retagged = " OR tagged_at > clustered_at" if "tagged_at" in db["articles"].columns_dict else ""
    return db.conn.execute(
        "SELECT COALESCE(published, first_seen), story_at FROM articles WHERE story_leader IS NULL "
        f"OR clustered_at IS NULL OR updated_at > clustered_at{retagged}")


def count_duplicates(db: Database) -> int:
    return int(db.conn.execute("SELECT COUNT(*) FROM articles WHERE duplicate_of IS NOT NULL").fetchone()[0])


def any_clustered(db: Database) -> bool:
    """Whether any article has a raw cluster."""
    return db.conn.execute("SELECT 1 FROM articles WHERE story_leader IS NOT NULL LIMIT 1").fetchone() is not None


# --- Raw clusters and their links ------------------------------------------------------------------

def save_assignments(db: Database, assignments: Iterable[tuple[int, float, int | None, float | None, int]]
                     ) -> None:
    """Write (leader, time, duplicate_of, similarity, article id) as each article's raw cluster."""
    now = now_iso()
    db.conn.executemany(
        "UPDATE articles SET story_leader = ?, story_at = ?, duplicate_of = ?, "
        "duplicate_similarity = ?, clustered_at = ? WHERE id = ?",
        [(leader, at, dup, similarity, now, article_id)
         for leader, at, dup, similarity, article_id in assignments])


def load_links_before(db: Database, at: float) -> list[tuple[int, int, float]]:
    """(leader, into_leader, time) of the links made before `at`."""
    return [(int(a), int(b), float(t)) for a, b, t in db.conn.execute(
        "SELECT leader, into_leader, at FROM story_links WHERE at < ?", [at])]


def replace_links_since(db: Database, since: float, links: Sequence[tuple[int, int, float]]) -> set[int]:
    """Replace the links made at or after `since` with `links`; returns the leaders the replaced
    ones named."""
    named = {int(x) for row in db.conn.execute(
        "SELECT leader, into_leader FROM story_links WHERE at >= ?", [since]) for x in row}
    db.conn.execute("DELETE FROM story_links WHERE at >= ?", [since])
    db.conn.executemany("INSERT OR REPLACE INTO story_links (leader, into_leader, at) VALUES (?, ?, ?)",
                        links)
    return named


def drop_links_of(db: Database, leaders: Iterable[int]) -> None:
    """Forget the links of these raw clusters (parts split off: their leader led a fragment once)."""
    db.conn.executemany("DELETE FROM story_links WHERE leader = ?", [(leader,) for leader in leaders])


def load_joined_leaders(db: Database) -> Iterator[tuple[int, int]]:
    """Pairs of raw clusters (by leader) that are one story: analysts' merges and the links."""
    for a, b in db.conn.execute(
            "SELECT l1.story_leader, l2.story_leader FROM cluster_corrections c "
            "JOIN articles l1 ON l1.id = c.article_id JOIN articles l2 ON l2.id = c.article_b "
            "WHERE c.action = 'merge' AND l1.story_leader IS NOT NULL AND l2.story_leader IS NOT NULL "
            "UNION ALL SELECT leader, into_leader FROM story_links"):
        yield int(a), int(b)


def load_group_articles(db: Database, leaders: Sequence[int]) -> list[tuple[int, float, int | None]]:
    """(article id, time, previous cluster id) of every article of these raw clusters, oldest first."""
    marks = ",".join("?" * len(leaders))
    found = db.conn.execute(
        f"SELECT id, story_at, cluster_id FROM articles WHERE story_leader IN ({marks})", list(leaders))
    return sorted(((int(i), float(t or 0), c) for i, t, c in found), key=lambda r: (r[1], r[0]))


def load_leaders_in(db: Database, cluster_ids: Sequence[int]) -> set[int]:
    """The raw clusters (by leader) with an article in any of these clusters."""
    leaders: set[int] = set()
    for at in range(0, len(cluster_ids), _CHUNK):
        chunk = list(cluster_ids[at:at + _CHUNK])
        leaders.update(int(r[0]) for r in db.conn.execute(
            f"SELECT DISTINCT story_leader FROM articles WHERE cluster_id IN ({','.join('?' * len(chunk))}) "
            "AND story_leader IS NOT NULL", chunk))
    return leaders


# --- Stable clusters -------------------------------------------------------------------------------

def new_cluster(db: Database) -> int:
    """A new, empty cluster row; returns its id."""
    now = now_iso()
    cursor = db.conn.execute("INSERT INTO clusters (created_at, updated_at) VALUES (?, ?)", [now, now])
    return int(cursor.lastrowid or 0)  # always set after an INSERT


def save_cluster_ids(db: Database, cluster_id: int, article_ids: Iterable[int]) -> None:
    """Put these articles in cluster `cluster_id` (rows already there are not written)."""
    db.conn.executemany("UPDATE articles SET cluster_id = ? WHERE id = ? AND cluster_id IS NOT ?",
                        [(cluster_id, article_id, cluster_id) for article_id in article_ids])


def load_merged_into(db: Database, cluster_id: int) -> int | None:
    """The cluster this one was merged into (None when it is live or does not exist)."""
    row = db.conn.execute("SELECT merged_into FROM clusters WHERE id = ?", [cluster_id]).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def save_cluster_merge(db: Database, kept: int, merged: int, reason: str) -> None:
    now = now_iso()
    db.conn.execute("UPDATE clusters SET merged_into = ?, updated_at = ? WHERE id = ?", [kept, now, merged])
    db.conn.execute("INSERT INTO cluster_merges (kept_id, merged_id, reason, at) VALUES (?, ?, ?, ?)",
                    [kept, merged, reason, now])


def save_cluster_split(db: Database, kept: int, split: int) -> None:
    """Record that story `split` was split off story `kept` (which kept its id: the larger part)."""
    db.conn.execute("INSERT INTO cluster_splits (kept_id, split_id, at) VALUES (?, ?, ?)", [kept, split, now_iso()])


def load_members(db: Database, cluster_id: int) -> list[tuple[Any, ...]]:
    """(title, publisher, story_at, duplicate_of) of a cluster's articles in time order."""
    return db.conn.execute(
        "SELECT title, publisher, story_at, duplicate_of FROM articles WHERE cluster_id = ? "
        "ORDER BY story_at, id", [cluster_id]).fetchall()


def save_cluster(db: Database, cluster_id: int, values: Sequence[Any]) -> None:
    """Write (headline, first_seen, last_seen, n_articles, n_publishers, publishers); `updated_at`
    moves only when the row changes: it answers "which stories changed?"."""
    db.conn.execute(
        "UPDATE clusters SET headline = ?, first_seen = ?, last_seen = ?, n_articles = ?, "
        "n_publishers = ?, publishers = ?, updated_at = ? WHERE id = ? AND (headline, "
        "first_seen, last_seen, n_articles, n_publishers, publishers) IS NOT (?, ?, ?, ?, ?, ?)",
        [*values, now_iso(), cluster_id, *values])


def drop_empty_cluster(db: Database, cluster_id: int) -> None:
    """An emptied cluster: deleted, unless merged into another (then kept, with no articles)."""
    db.conn.execute("UPDATE clusters SET n_articles = 0, n_publishers = 0 WHERE id = ?", [cluster_id])
    db.conn.execute("DELETE FROM clusters WHERE id = ? AND merged_into IS NULL", [cluster_id])


def count_live_clusters(db: Database) -> int:
    return int(db.conn.execute("SELECT COUNT(*) FROM clusters WHERE merged_into IS NULL").fetchone()[0])


def load_live_sizes(db: Database) -> dict[int, int]:
    """Live cluster id -> number of articles."""
    return dict(db.conn.execute("SELECT id, n_articles FROM clusters WHERE merged_into IS NULL"))


def first_article(db: Database, cluster_id: int) -> int | None:
    """A cluster's first article (None when it has none)."""
    row = db.conn.execute("SELECT id FROM articles WHERE cluster_id = ? ORDER BY story_at, id LIMIT 1",
                          [cluster_id]).fetchone()
    return None if row is None else int(row[0])


# --- Corrections and the options fingerprint -------------------------------------------------------

def load_pinned(db: Database) -> set[int]:
    """Articles an analyst split off (each alone in its own cluster)."""
    sql = "SELECT article_id FROM cluster_corrections WHERE action = 'split'"
    return {int(r[0]) for r in db.conn.execute(sql)}


def save_split(db: Database, article_id: int) -> bool:
    """Record a split and let the next run place the article anew; False when there is no such
    article (nothing written)."""
    row = db.conn.execute("SELECT cluster_id FROM articles WHERE id = ?", [article_id]).fetchone()
    if row is None:
        return False
    db.conn.execute("INSERT INTO cluster_corrections (action, article_id, cluster_a, at) "
                    "VALUES ('split', ?, ?, ?)", [article_id, row[0], now_iso()])
    db.conn.execute("UPDATE articles SET story_leader = NULL WHERE id = ?", [article_id])
    return True


def save_merge_correction(db: Database, first_a: int, first_b: int, a: int, b: int) -> None:
    """Record a merge of clusters a and b (by their first articles); the next run re-places b's."""
    db.conn.execute("INSERT INTO cluster_corrections (action, article_id, article_b, cluster_a, "
                    "cluster_b, at) VALUES ('merge', ?, ?, ?, ?, ?)", [first_a, first_b, a, b, now_iso()])
    db.conn.execute("UPDATE articles SET story_leader = NULL WHERE id = ?", [first_b])


def load_fingerprint(db: Database) -> str | None:
    """The options fingerprint the stored clustering was made with, if recorded."""
    row = db.conn.execute("SELECT value FROM clustering WHERE key = 'options'").fetchone()
    return None if row is None else str(row[0])


def save_fingerprint(db: Database, made_with: str) -> None:
    db.conn.execute("INSERT OR REPLACE INTO clustering (key, value) VALUES ('options', ?)", [made_with])


def last_cluster_id(db: Database) -> int:
    """The highest cluster id (0 before the first)."""
    return int(db.conn.execute("SELECT COALESCE(MAX(id), 0) FROM clusters").fetchone()[0])
