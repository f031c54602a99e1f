"""The lens as stored data for the pages: one `story_lens` row per live story (its relevance and
tag labels per kind), one `story_tag_links` row per (story, tag), one `article_lens` row per
tagged article and one `lens_tags` row per tag in use (its counts), kept by the tag and cluster
stages so that filters and facets read indexes instead of recomputing every story's tags.

Before, `story_lens` was a view with six correlated subqueries per story, recomputed for every
page, count and facet: 4 s at 2,891 articles, no answer at a million. Now each stage ends with
`refresh_lens_facets(db)`, which recomputes only the stories changed since the last refresh: those
whose cluster row moved (`clusters.updated_at`) or holding an article whose tags or clustering
moved (`articles.tagged_at`, `articles.clustered_at`), and the articles so changed or edited.
A database that never had them (an older file) is summarised whole on its first refresh.
"""

from __future__ import annotations

import logging
from typing import Sequence

from tracker.dates import now_iso
from tracker.store.db import Database, transaction
from tracker.store.schema import LENS_COLUMNS

logger = logging.getLogger(__name__)

LENS_TABLES = ("article_tags", "story_lens", "story_tag_links", "article_lens", "lens_tags", "lens")
MARK_KEY = "facets_at"  # in the `lens` table: when the stored facets were last brought up to date
CHUNK = 500  # stories per statement (SQLite's variable limit is far above it)
# `+kind` below keeps SQLite on the (story or article, tag) primary key: with no statistics it may
# otherwise pick the kind's index and read every row of that kind for each story (quadratic).

_LINKS = (
    "INSERT INTO story_tag_links (story_id, kind, tag, label, articles) "
    "SELECT a.cluster_id, t.kind, t.tag, MIN(t.label), COUNT(*) FROM articles a "
    "JOIN article_tags t ON t.article_id = a.id WHERE a.cluster_id IN ({marks}) "
    "GROUP BY a.cluster_id, t.tag")
_LABELS = ", ".join(
    f"(SELECT json_group_array(label) FROM (SELECT label FROM story_tag_links "
    f"WHERE story_id = c.id AND +kind = '{kind}' ORDER BY label)) AS {column}"
    for kind, column in LENS_COLUMNS)
_STORIES = (
    "INSERT OR REPLACE INTO story_lens (id, headline, first_seen, last_seen, n_articles, n_publishers, "
    f"publishers, relevance, {', '.join(column for _, column in LENS_COLUMNS)}) "
    "SELECT c.id, c.headline, c.first_seen, c.last_seen, c.n_articles, c.n_publishers, c.publishers, "
    f"(SELECT MAX(relevance) FROM articles WHERE cluster_id = c.id), {_LABELS} "
    "FROM clusters c WHERE c.id IN ({marks}) AND c.merged_into IS NULL")

_ARTICLE_LABELS = ", ".join(
    f"(SELECT json_group_array(label) FROM (SELECT label FROM article_tags "
    f"WHERE article_id = a.id AND +kind = '{kind}' ORDER BY label)) AS {column}"
    for kind, column in LENS_COLUMNS)
_ARTICLES = (
    "INSERT OR REPLACE INTO article_lens (id, published, title, publisher, url, story_id, relevance, "
    f"{', '.join(column for _, column in LENS_COLUMNS)}) "
    "SELECT a.id, a.published, a.title, a.publisher, a.url, a.cluster_id, a.relevance, "
    f"{_ARTICLE_LABELS} FROM articles a WHERE a.id IN ({{marks}}) AND a.tagged_at IS NOT NULL")


def refresh_lens_facets(db: Database, *, everything: bool = False) -> int:
    """Bring `story_lens` and `story_tag_links` up to date; returns the stories recomputed.
    Idempotent; `everything` (or a first refresh) recomputes every live story."""
    if not set(LENS_TABLES) <= set(db.table_names()):  # a database from before the lens: nothing to keep
        return 0
    mark = _load_mark(db)
    started = now_iso()
    everything = everything or mark is None
    ids = _live_ids(db) if everything else _changed_ids(db, mark or "")
    articles = _tagged_ids(db) if everything else _changed_articles(db, mark or "")
    with transaction(db):
        for i in range(0, len(ids), CHUNK):
            save_story_facets(db, ids[i:i + CHUNK])
        for i in range(0, len(articles), CHUNK):
            save_article_facets(db, articles[i:i + CHUNK])
        _drop_dead(db)
        _count_tags(db)
        db.conn.execute("INSERT OR REPLACE INTO lens (key, value) VALUES (?, ?)", [MARK_KEY, started])
    logger.info("lens facets: %d stories recomputed", len(ids))
    return len(ids)


def save_story_facets(db: Database, story_ids: Sequence[int]) -> None:
    """Recompute these stories' links and summary rows (a story no longer live loses them)."""
    if not story_ids:
        return
    marks = ",".join("?" * len(story_ids))
    ids = list(story_ids)
    db.conn.execute(f"DELETE FROM story_tag_links WHERE story_id IN ({marks})", ids)
    db.conn.execute(f"DELETE FROM story_lens WHERE id IN ({marks})", ids)
    db.conn.execute(_LINKS.format(marks=marks), ids)
    db.conn.execute(_STORIES.format(marks=marks), ids)


def _count_tags(db: Database) -> None:
    """Per tag in use: live stories and articles carrying it (a few hundred rows, recounted)."""
    db.conn.execute("DELETE FROM lens_tags")
    db.conn.execute(
        "INSERT INTO lens_tags (tag, kind, label, stories, articles) "
        "SELECT tag, kind, label, SUM(stories), SUM(articles) FROM ("
        "SELECT tag, kind, MIN(label) AS label, COUNT(*) AS stories, 0 AS articles FROM story_tag_links "
        "GROUP BY tag UNION ALL SELECT tag, kind, MIN(label), 0, COUNT(*) FROM article_tags GROUP BY tag"
        ") GROUP BY tag")


def save_names(db: Database, names: Sequence[tuple[str, str, str]]) -> None:
    """Replace the names (name, tag, kind) each taxonomy entry goes by; names are stored lower case."""
    db.conn.execute("DELETE FROM lens_names")
    db.conn.executemany("INSERT OR IGNORE INTO lens_names (name, tag, kind) VALUES (lower(?), ?, ?)", names)


def facets_missing(db: Database) -> bool:
    """Whether the facets were never computed although there are stories to summarise."""
    return _load_mark(db) is None and db.conn.execute("SELECT 1 FROM clusters LIMIT 1").fetchone() is not None


def save_article_facets(db: Database, article_ids: Sequence[int]) -> None:
    """Recompute these articles' `article_lens` rows (an untagged or gone article has none)."""
    marks = ",".join("?" * len(article_ids))
    db.conn.execute(f"DELETE FROM article_lens WHERE id IN ({marks})", list(article_ids))
    db.conn.execute(_ARTICLES.format(marks=marks), list(article_ids))


def _tagged_ids(db: Database) -> list[int]:
    return [r[0] for r in db.conn.execute("SELECT id FROM articles WHERE tagged_at IS NOT NULL ORDER BY id")]


def _changed_articles(db: Database, mark: str) -> list[int]:
    """Articles whose tags, story, title or date may have moved since `mark` (inclusive)."""
    sql = ("SELECT id FROM articles WHERE tagged_at >= :m OR clustered_at >= :m OR updated_at >= :m "
           "ORDER BY id")
    return [r[0] for r in db.conn.execute(sql, {"m": mark})]


def _load_mark(db: Database) -> str | None:
    row = db.conn.execute("SELECT value FROM lens WHERE key = ?", [MARK_KEY]).fetchone()
    return None if row is None else str(row[0])


def _live_ids(db: Database) -> list[int]:
    return [r[0] for r in db.conn.execute("SELECT id FROM clusters WHERE merged_into IS NULL ORDER BY id")]


def _changed_ids(db: Database, mark: str) -> list[int]:
    """Stories touched since `mark` (inclusive: a change within the mark's second is not missed)."""
    sql = ("SELECT id FROM clusters WHERE updated_at >= :m OR created_at >= :m UNION "
           "SELECT cluster_id FROM articles WHERE cluster_id IS NOT NULL "
           "AND (tagged_at >= :m OR clustered_at >= :m)")
    return sorted(r[0] for r in db.conn.execute(sql, {"m": mark}))


def _drop_dead(db: Database) -> None:
    """Rows of stories merged into another or deleted since."""
    alive = "SELECT 1 FROM clusters c WHERE c.id = {col} AND c.merged_into IS NULL"
    db.conn.execute(f"DELETE FROM story_lens WHERE NOT EXISTS ({alive.format(col='story_lens.id')})")
    db.conn.execute("DELETE FROM story_tag_links WHERE story_id NOT IN (SELECT id FROM story_lens)")
    db.conn.execute("DELETE FROM article_lens WHERE id NOT IN (SELECT id FROM articles)")
