"""Story clusters in the database: read articles, run `tracker.stories.cluster`, write clusters and duplicates.

Ids are stable. The clustering itself (tracker/stories/cluster.py) names each raw cluster by its first
article (`articles.story_leader`) and reports when one grows into an older one (`story_links`);
this module maps raw clusters, joined by those links and by analysts' merges, onto rows of
`clusters`:

* a group of articles keeps the smallest (oldest) cluster id any of its articles already had, so a
  story keeps its id as it grows, and when two stories grow together the older id survives while
  the younger row gets `merged_into` and a `cluster_merges` row (reason "grew together");
* `clusters.publishers` is a JSON list of publisher names in order of first report
  (e.g. `["The Next Web", "Computing"]`); first_seen/last_seen are ISO times of the first and last
  article (published time, or when we first saw it if it has none).

Runs are incremental: only articles that are new or changed since they were clustered (and
everything after the earliest of them in time) are replayed, after the state just before them is
rebuilt from stored assignments and the links made before that time (later links are made anew).
Because the clustering is a deterministic pass in time order, the result equals a full rebuild
(`rebuild=True`). The options and algorithm version are recorded (`clustering`): a run with other
ones reclusters everything, since stored assignments made with different ones cannot be warmed.

Analyst corrections live in `cluster_corrections` and are applied on every run: `split` pins an
article alone in a new cluster; `merge` joins the raw clusters of two representative articles.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator

from tracker import store
from tracker.stories.cluster import (Assignment, Clusterer, ClusterOptions, Item, fingerprint, lookback_seconds,
                             merge_roots, pick_headline)
from tracker.stories.merge import survivor
from tracker.dates import epoch_iso
from tracker.errors import TrackerError

logger = logging.getLogger(__name__)

_ITEM_SQL = ("SELECT id, COALESCE(published, first_seen), title, excerpt, substr(text, 1, 2000), "
             "publisher, language, url, story_leader, duplicate_of, cluster_id FROM articles")


class ClusterError(TrackerError):
    """A correction naming an article or cluster that does not exist."""


@dataclass
class ClusterSummary:
    """What a run did."""

    articles: int = 0
    replayed: int = 0
    clusters: int = 0
    new_clusters: int = 0
    merged: int = 0
    duplicates: int = 0


@dataclass
class _Row:
    item: Item
    leader: int | None
    duplicate_of: int | None
    cluster_id: int | None


# --- Reading ---------------------------------------------------------------------------------------

def to_epoch(value: str | None) -> float:
    """An ISO time (or date) as seconds since the epoch; missing or bad is 0 (the start of time)."""
    if not value:
        return 0.0
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _rows(db: store.Database, where: str = "", params: Iterable[Any] = ()) -> Iterator[_Row]:
    tags = load_tags(db)
    for (id_, when, title, excerpt, text, publisher, language, url, leader, dup,
         cluster_id) in db.conn.execute(f"{_ITEM_SQL} {where}", list(params)):
        body = " ".join(part for part in (excerpt, text) if part)
        item = Item(int(id_), to_epoch(when), title or "", body, publisher or "", language or "",
                    url or "", tags.get(int(id_), frozenset()))
        yield _Row(item, leader, dup, cluster_id)


def load_items(db: store.Database) -> list[Item]:
    """Every article as the clustering sees it (title, excerpt and text lead, URL, lens tags)."""
    return [row.item for row in _rows(db)]


def load_tags(db: store.Database) -> dict[int, frozenset[str]]:
    """Each article's "kind:tag" strings from the privacy lens's `article_tags` (none before the
    lens has run: the table may not exist)."""
    if "article_tags" not in db.table_names():
        return {}
    found: dict[int, set[str]] = defaultdict(set)
    for article_id, kind, tag in db.conn.execute("SELECT article_id, kind, tag FROM article_tags"):
        found[int(article_id)].add(f"{kind}:{tag}")
    return {article_id: frozenset(tags) for article_id, tags in found.items()}


def _pending_start(db: store.Database) -> float | None:
    """The earliest time from which a run must replay: new, changed, re-timed or re-tagged articles
    (`tagged_at`, written by the privacy lens, may not exist yet)."""
    start: float | None = None
    retagged = " OR tagged_at > clustered_at" if "tagged_at" in db["articles"].columns_dict else ""
    sql = ("SELECT COALESCE(published, first_seen), story_at FROM articles WHERE story_leader IS NULL "
           f"OR clustered_at IS NULL OR updated_at > clustered_at{retagged}")
    for when, old in db.conn.execute(sql):
        moment = to_epoch(when) if old is None else min(to_epoch(when), float(old))
        start = moment if start is None else min(start, moment)
    return start


# --- The run ---------------------------------------------------------------------------------------

def cluster_articles(db: store.Database, options: ClusterOptions | None = None, rebuild: bool = False,
                     splits: Iterable[int] = (), merges: Iterable[tuple[int, int]] = ()) -> ClusterSummary:
    """Store any corrections, then cluster new and changed articles (or all, with `rebuild`) and
    write clusters and duplicates."""
    options = options or ClusterOptions()
    splits, merges = list(splits), list(merges)
    if splits or merges:
        with store.transaction(db):
            record_corrections(db, splits, merges)
    summary = ClusterSummary(articles=db["articles"].count)
    made_with = fingerprint(options)
    if not rebuild and _stored_fingerprint(db) not in (None, made_with):
        logger.info("clustering options or algorithm changed since the last run: reclustering all")
        rebuild = True
    start = -math.inf if rebuild else _pending_start(db)
    if start is None:
        summary.clusters = _live_clusters(db)
        return summary
    with store.transaction(db):
        assignments, rows, links = _replay(db, options, start)
        summary.replayed = len(assignments)
        _save_assignments(db, assignments, rows)
        touched = {a.leader for a in assignments} | _save_links(db, links, start)
        _assign_ids(db, touched, summary)
        db.conn.execute("INSERT OR REPLACE INTO clustering (key, value) VALUES ('options', ?)", [made_with])
    summary.clusters = _live_clusters(db)
    summary.duplicates = int(db.conn.execute(
        "SELECT COUNT(*) FROM articles WHERE duplicate_of IS NOT NULL").fetchone()[0])
    return summary


def _replay(db: store.Database, options: ClusterOptions, start: float
            ) -> tuple[list[Assignment], dict[int, _Row], list[tuple[int, int, float]]]:
    """Rebuild the state just before `start` from stored assignments and links, then cluster from
    there: the new assignments, the rows read, and the links (merges) made from `start` on."""
    clusterer = Clusterer(options, _pinned(db))
    root = merge_roots((int(a), int(b), float(t)) for a, b, t in db.conn.execute(
        "SELECT leader, into_leader, at FROM story_links WHERE at < ?", [_sql_time(start)]))
    since = start - lookback_seconds(options) if math.isfinite(start) else -math.inf
    rows: dict[int, _Row] = {}
    loaded = list(_rows(db, "WHERE COALESCE(story_at, 0) >= ? OR story_at IS NULL", [_sql_time(since)]))
    loaded.sort(key=lambda r: (r.item.time, r.item.id))
    assignments: list[Assignment] = []
    for row in loaded:
        if row.item.time < since:
            continue
        rows[row.item.id] = row
        if row.item.time < start and row.leader is not None:
            clusterer.warm(row.item, root.get(row.leader, row.leader), row.duplicate_of)
        else:
            assignments.append(clusterer.add(row.item))
    return assignments, rows, clusterer.merges


def _save_links(db: store.Database, links: list[tuple[int, int, float]], start: float) -> set[int]:
    """Replace the links made from `start` on (the replay made them anew) with the new ones; the
    leaders they name, old and new, are touched."""
    since = _sql_time(start)
    touched = {int(x) for row in db.conn.execute(
        "SELECT leader, into_leader FROM story_links WHERE at >= ?", [since]) for x in row}
    db.conn.execute("DELETE FROM story_links WHERE at >= ?", [since])
    db.conn.executemany("INSERT OR REPLACE INTO story_links (leader, into_leader, at) VALUES (?, ?, ?)",
                        links)
    return touched | {x for gone, keep, _ in links for x in (gone, keep)}


def _sql_time(seconds: float) -> float:
    """A time bound SQLite compares as a number (-inf, "from the start", as a very early time)."""
    return seconds if math.isfinite(seconds) else -1e18


def _stored_fingerprint(db: store.Database) -> str | None:
    """The options the stored clustering was made with (None before the first run, or when this
    database was clustered by a version that did not record them and holds no clustering yet)."""
    row = db.conn.execute("SELECT value FROM clustering WHERE key = 'options'").fetchone()
    if row is not None:
        return str(row[0])
    clustered = db.conn.execute("SELECT 1 FROM articles WHERE story_leader IS NOT NULL LIMIT 1").fetchone()
    return "unrecorded" if clustered else None


def _pinned(db: store.Database) -> set[int]:
    sql = "SELECT article_id FROM cluster_corrections WHERE action = 'split'"
    return {int(r[0]) for r in db.conn.execute(sql)}


def _save_assignments(db: store.Database, assignments: list[Assignment], rows: dict[int, _Row]) -> None:
    now = store.now_iso()
    db.conn.executemany(
        "UPDATE articles SET story_leader = ?, story_at = ?, duplicate_of = ?, "
        "duplicate_similarity = ?, clustered_at = ? WHERE id = ?",
        [(a.leader, rows[a.item_id].item.time, a.duplicate_of, a.similarity, now, a.item_id)
         for a in assignments])


# --- From raw clusters to stable ids ---------------------------------------------------------------

def _groups(db: store.Database, touched: set[int]) -> list[list[int]]:
    """Raw clusters (by leader) joined by the clustering's links and analysts' merges: the groups
    that contain a touched leader."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        return survivor(x, parent.get)

    for a, b in db.conn.execute(
            "SELECT l1.story_leader, l2.story_leader FROM cluster_corrections c "
            "JOIN articles l1 ON l1.id = c.article_id JOIN articles l2 ON l2.id = c.article_b "
            "WHERE c.action = 'merge' AND l1.story_leader IS NOT NULL AND l2.story_leader IS NOT NULL "
            "UNION ALL SELECT leader, into_leader FROM story_links"):
        ra, rb = find(int(a)), find(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[int, set[int]] = defaultdict(set)
    for leader in set(parent) | set(parent.values()) | touched:
        members[find(leader)].add(leader)
    return [sorted(m) for m in members.values() if m & touched]


def _assign_ids(db: store.Database, touched: set[int], summary: ClusterSummary) -> None:
    """Give every group of touched raw clusters a cluster id: each previous id goes to the group
    holding most of its articles; a group keeps the oldest id it got and absorbs the others
    (recorded as merges)."""
    groups = _affected_groups(db, touched)
    groups.sort(key=lambda g: (g[0][1], g[0][0]))
    counts: dict[int, Counter[int]] = defaultdict(Counter)
    for index, group in enumerate(groups):
        for _, _, previous in group:
            if previous is not None:
                counts[_resolve(db, previous)][index] += 1
    owner = {old: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for old, c in counts.items()}
    ids = [_group_id(db, index, owner, summary) for index in range(len(groups))]
    for index, group in enumerate(groups):
        db.conn.executemany("UPDATE articles SET cluster_id = ? WHERE id = ? AND cluster_id IS NOT ?",
                            [(ids[index], article_id, ids[index]) for article_id, _, _ in group])
    for old, index in owner.items():
        if old != ids[index]:
            _record_merge(db, ids[index], old, summary)
    for cluster_id in set(ids) | set(owner):
        _refresh_cluster(db, cluster_id)


def _affected_groups(db: store.Database, touched: set[int]) -> list[list[tuple[int, float, int | None]]]:
    """The groups of the touched raw clusters, plus every group sharing a previous cluster id with
    them (an article split off leaves its old story behind, which must be looked at too)."""
    while True:
        # (a leader named only by a link the replay dropped may lead nothing any more)
        groups = [g for g in (_group_articles(db, leaders) for leaders in _groups(db, touched)) if g]
        old = sorted({c for group in groups for _, _, c in group if c is not None})
        more: set[int] = set()
        for at in range(0, len(old), 500):  # SQLite caps the number of parameters
            chunk = old[at:at + 500]
            more.update(int(r[0]) for r in db.conn.execute(
                f"SELECT DISTINCT story_leader FROM articles WHERE cluster_id IN ({','.join('?' * len(chunk))}) "
                "AND story_leader IS NOT NULL", chunk))
        more -= touched
        if not more:
            return groups
        touched = touched | more


def _group_articles(db: store.Database, leaders: list[int]) -> list[tuple[int, float, int | None]]:
    """(article id, time, previous cluster id) of every article of these raw clusters, oldest first."""
    marks = ",".join("?" * len(leaders))
    found = db.conn.execute(
        f"SELECT id, story_at, cluster_id FROM articles WHERE story_leader IN ({marks})", leaders)
    return sorted(((int(i), float(t or 0), c) for i, t, c in found), key=lambda r: (r[1], r[0]))


def _group_id(db: store.Database, index: int, owner: dict[int, int], summary: ClusterSummary) -> int:
    """The oldest previous id this group owns, else a new cluster row."""
    mine = [old for old, group in owner.items() if group == index]
    if mine:
        return min(mine)
    now = store.now_iso()
    summary.new_clusters += 1
    cursor = db.conn.execute("INSERT INTO clusters (created_at, updated_at) VALUES (?, ?)", [now, now])
    return int(cursor.lastrowid or 0)  # always set after an INSERT


def _resolve(db: store.Database, cluster_id: int) -> int:
    """Follow merged_into to the live cluster."""

    def merged_into(x: int) -> int | None:
        row = db.conn.execute("SELECT merged_into FROM clusters WHERE id = ?", [x]).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    return survivor(cluster_id, merged_into)


def _record_merge(db: store.Database, kept: int, merged: int, summary: ClusterSummary,
                  reason: str = "grew together") -> None:
    now = store.now_iso()
    db.conn.execute("UPDATE clusters SET merged_into = ?, updated_at = ? WHERE id = ?", [kept, now, merged])
    db.conn.execute("INSERT INTO cluster_merges (kept_id, merged_id, reason, at) VALUES (?, ?, ?, ?)",
                    [kept, merged, reason, now])
    summary.merged += 1


def _refresh_cluster(db: store.Database, cluster_id: int) -> None:
    """Recompute a cluster's row from its articles (an emptied, unmerged one is deleted).
    `updated_at` moves only when the row changes: it answers "which stories changed?"."""
    members = db.conn.execute(
        "SELECT title, publisher, story_at, duplicate_of FROM articles WHERE cluster_id = ? "
        "ORDER BY story_at, id", [cluster_id]).fetchall()
    if members:
        values = _aggregate(members)
        db.conn.execute(
            "UPDATE clusters SET headline = ?, first_seen = ?, last_seen = ?, n_articles = ?, "
            "n_publishers = ?, publishers = ?, updated_at = ? WHERE id = ? AND (headline, "
            "first_seen, last_seen, n_articles, n_publishers, publishers) IS NOT (?, ?, ?, ?, ?, ?)",
            [*values, store.now_iso(), cluster_id, *values])
    else:
        db.conn.execute("UPDATE clusters SET n_articles = 0, n_publishers = 0 WHERE id = ?", [cluster_id])
        db.conn.execute("DELETE FROM clusters WHERE id = ? AND merged_into IS NULL", [cluster_id])


def _aggregate(members: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    titles = [t for t, _, _, dup in members if t and dup is None] or [t for t, *_ in members if t]
    publishers = list(dict.fromkeys(p for _, p, _, _ in members if p))
    times = [float(s or 0) for _, _, s, _ in members]
    return (pick_headline(titles), epoch_iso(min(times)), epoch_iso(max(times)), len(members),
            len(publishers), json.dumps(publishers, ensure_ascii=False))


# --- Analyst corrections ---------------------------------------------------------------------------

def record_corrections(db: store.Database, splits: Iterable[int] = (),
                       merges: Iterable[tuple[int, int]] = ()) -> None:
    """Store splits (article ids) and merges (cluster id pairs); the next run applies them."""
    now = store.now_iso()
    for article_id in splits:
        row = db.conn.execute("SELECT cluster_id FROM articles WHERE id = ?", [article_id]).fetchone()
        if row is None:
            raise ClusterError(f"--split {article_id}: no such article")
        db.conn.execute("INSERT INTO cluster_corrections (action, article_id, cluster_a, at) "
                        "VALUES ('split', ?, ?, ?)", [article_id, row[0], now])
        db.conn.execute("UPDATE articles SET story_leader = NULL WHERE id = ?", [article_id])
    for a, b in merges:
        first_a, first_b = _first_article(db, a), _first_article(db, b)
        if _resolve(db, a) == _resolve(db, b):
            raise ClusterError(f"--merge {a} {b}: already one cluster")
        db.conn.execute("INSERT INTO cluster_corrections (action, article_id, article_b, cluster_a, "
                        "cluster_b, at) VALUES ('merge', ?, ?, ?, ?, ?)", [first_a, first_b, a, b, now])
        db.conn.execute("UPDATE articles SET story_leader = NULL WHERE id = ?", [first_b])


def _first_article(db: store.Database, cluster_id: int) -> int:
    row = db.conn.execute("SELECT id FROM articles WHERE cluster_id = ? ORDER BY story_at, id LIMIT 1",
                          [_resolve(db, cluster_id)]).fetchone()
    if row is None:
        raise ClusterError(f"--merge: no cluster {cluster_id} (or it has no articles)")
    return int(row[0])


def _live_clusters(db: store.Database) -> int:
    return int(db.conn.execute("SELECT COUNT(*) FROM clusters WHERE merged_into IS NULL").fetchone()[0])
