"""Story clusters in the database: read articles, run `tracker.stories.cluster`, write clusters and
duplicates (the rows are read and written by tracker/store/stories.py).

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
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator

from tracker import store
from tracker.store import articles as stored_articles
from tracker.store import lens as stored_lens
from tracker.store import stories as stored
from tracker.store.lensfacets import refresh_lens_facets
from tracker.stories.cluster import (Assignment, Clusterer, ClusterOptions, Item, fingerprint, lookback_seconds,
                             merge_roots, pick_headline)
from tracker.stories.merge import survivor
from tracker.dates import epoch_iso
from tracker.errors import TrackerError

logger = logging.getLogger(__name__)

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
    joined: list[tuple[int, int]] = field(default_factory=list)  # (story kept, story joined into it)
    split: list[tuple[int, int]] = field(default_factory=list)  # (story kept, story split off it)


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


def _rows(db: store.Database, since: float | None = None) -> Iterator[_Row]:
    tags = load_tags(db)
    for (id_, when, title, excerpt, text, publisher, language, url, leader, dup,
         cluster_id) in stored.load_article_rows(db, since):
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
    found: dict[int, set[str]] = defaultdict(set)
    for article_id, kind, tag in stored_lens.load_all_tags(db):
        found[article_id].add(f"{kind}:{tag}")
    return {article_id: frozenset(tags) for article_id, tags in found.items()}


def _pending_start(db: store.Database) -> float | None:
    """The earliest time from which a run must replay: new, changed, re-timed or re-tagged articles
    (`tagged_at`, written by the privacy lens, may not exist yet)."""
    start: float | None = None
    for when, old in stored.load_pending_times(db):
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
    summary = ClusterSummary(articles=stored_articles.count_articles(db))
    made_with = fingerprint(options)
    if not rebuild and _stored_fingerprint(db) not in (None, made_with):
        logger.info("clustering options or algorithm changed since the last run: reclustering all")
        rebuild = True
    start = -math.inf if rebuild else _pending_start(db)
    if start is None:
        summary.clusters = stored.count_live_clusters(db)
        return summary
    with store.transaction(db):
        assignments, rows, links, moved = _replay(db, options, start)
        summary.replayed = len(assignments)
        _save_assignments(db, assignments, rows)
        stored.drop_links_of(db, set(moved.values()))  # a part split off no longer follows its old link
        touched = {a.leader for a in assignments} | _save_links(db, links, start)
        _assign_ids(db, touched, summary)
        stored.save_fingerprint(db, made_with)
    refresh_lens_facets(db)  # the pages' per-story tags follow the new clusters
    summary.clusters = stored.count_live_clusters(db)
    summary.duplicates = stored.count_duplicates(db)
    return summary


def _replay(db: store.Database, options: ClusterOptions, start: float
            ) -> tuple[list[Assignment], dict[int, _Row], list[tuple[int, int, float]], dict[int, int]]:
    """Rebuild the state just before `start` from stored assignments and links, then cluster from
    there: the new assignments (an article split off later names the part's leader; one stored
    before `start` that was split off is assigned anew), the rows read, the links (merges) made
    from `start` on, and the articles moved by splits (-> the leader of their part)."""
    clusterer = Clusterer(options, stored.load_pinned(db))
    root = merge_roots(stored.load_links_before(db, _sql_time(start)))
    since = start - lookback_seconds(options) if math.isfinite(start) else -math.inf
    rows: dict[int, _Row] = {}
    loaded = list(_rows(db, _sql_time(since)))
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
    moved = clusterer.moved
    replayed = {a.item_id for a in assignments}
    assignments = [replace(a, leader=moved.get(a.item_id, a.leader)) for a in assignments]
    assignments += [Assignment(item_id, leader, None, None) for item_id, leader in moved.items()
                    if item_id not in replayed]  # (originals stored before `start`, split off since)
    return assignments, rows, clusterer.merges, moved


def _save_links(db: store.Database, links: list[tuple[int, int, float]], start: float) -> set[int]:
    """Replace the links made from `start` on (the replay made them anew) with the new ones; the
    leaders they name, old and new, are touched."""
    touched = stored.replace_links_since(db, _sql_time(start), links)
    return touched | {x for gone, keep, _ in links for x in (gone, keep)}


def _sql_time(seconds: float) -> float:
    """A time bound SQLite compares as a number (-inf, "from the start", as a very early time)."""
    return seconds if math.isfinite(seconds) else -1e18


def _stored_fingerprint(db: store.Database) -> str | None:
    """The options the stored clustering was made with (None before the first run, or when this
    database was clustered by a version that did not record them and holds no clustering yet)."""
    recorded = stored.load_fingerprint(db)
    if recorded is not None:
        return recorded
    return "unrecorded" if stored.any_clustered(db) else None


def _save_assignments(db: store.Database, assignments: list[Assignment], rows: dict[int, _Row]) -> None:
    stored.save_assignments(db, [(a.leader, rows[a.item_id].item.time, a.duplicate_of, a.similarity,
                                  a.item_id) for a in assignments])


# --- From raw clusters to stable ids ---------------------------------------------------------------

def _groups(db: store.Database, touched: set[int]) -> list[list[int]]:
    """Raw clusters (by leader) joined by the clustering's links and analysts' merges: the groups
    that contain a touched leader."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        return survivor(x, parent.get)

    for a, b in stored.load_joined_leaders(db):
        ra, rb = find(a), find(b)
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
        stored.save_cluster_ids(db, ids[index], [article_id for article_id, _, _ in group])
    for old, index in owner.items():
        if old != ids[index]:
            _record_merge(db, ids[index], old, summary)
    for old, spread in counts.items():  # a group with a new id holding articles of an old story: split off
        for index in spread:
            if index != owner[old] and ids[index] not in owner and ids[index] != ids[owner[old]]:
                stored.save_cluster_split(db, ids[owner[old]], ids[index])
                summary.split.append((ids[owner[old]], ids[index]))
    for cluster_id in set(ids) | set(owner):
        _refresh_cluster(db, cluster_id)


def _affected_groups(db: store.Database, touched: set[int]) -> list[list[tuple[int, float, int | None]]]:
    """The groups of the touched raw clusters, plus every group sharing a previous cluster id with
    them (an article split off leaves its old story behind, which must be looked at too)."""
    while True:
        # (a leader named only by a link the replay dropped may lead nothing any more)
        groups = [g for g in (stored.load_group_articles(db, leaders) for leaders in _groups(db, touched)) if g]
        old = sorted({c for group in groups for _, _, c in group if c is not None})
        more = stored.load_leaders_in(db, old) - touched
        if not more:
            return groups
        touched = touched | more


def _group_id(db: store.Database, index: int, owner: dict[int, int], summary: ClusterSummary) -> int:
    """The oldest previous id this group owns, else a new cluster row."""
    mine = [old for old, group in owner.items() if group == index]
    if mine:
        return min(mine)
    summary.new_clusters += 1
    return stored.new_cluster(db)


def _resolve(db: store.Database, cluster_id: int) -> int:
    """Follow merged_into to the live cluster."""
    return survivor(cluster_id, lambda x: stored.load_merged_into(db, x))


def _record_merge(db: store.Database, kept: int, merged: int, summary: ClusterSummary,
                  reason: str = "grew together") -> None:
    stored.save_cluster_merge(db, kept, merged, reason)
    summary.merged += 1
    summary.joined.append((kept, merged))


def _refresh_cluster(db: store.Database, cluster_id: int) -> None:
    """Recompute a cluster's row from its articles (an emptied, unmerged one is deleted).
    `updated_at` moves only when the row changes: it answers "which stories changed?"."""
    members = stored.load_members(db, cluster_id)
    if members:
        stored.save_cluster(db, cluster_id, _aggregate(members))
    else:
        stored.drop_empty_cluster(db, cluster_id)


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
    for article_id in splits:
        if not stored.save_split(db, article_id):
            raise ClusterError(f"--split {article_id}: no such article")
    for a, b in merges:
        first_a, first_b = _first_article(db, a), _first_article(db, b)
        if _resolve(db, a) == _resolve(db, b):
            raise ClusterError(f"--merge {a} {b}: already one cluster")
        stored.save_merge_correction(db, first_a, first_b, a, b)


def _first_article(db: store.Database, cluster_id: int) -> int:
    first = stored.first_article(db, _resolve(db, cluster_id))
    if first is None:
        raise ClusterError(f"--merge: no cluster {cluster_id} (or it has no articles)")
    return first
