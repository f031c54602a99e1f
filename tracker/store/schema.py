"""The database's shape as data: tables, indexes, full-text indexes and views, applied by the
idempotent `ensure_schema(db)` (safe on every open: it creates what is missing and adds missing
columns). Also the counts per table and per status that `tracker stats` prints."""

from __future__ import annotations

import logging
from typing import Any, Sequence

from tracker.store.db import Database, transaction

logger = logging.getLogger(__name__)

TABLES: dict[str, dict[str, Any]] = {
    "clusters": {
        "columns": {"id": int, "headline": str, "first_seen": str, "last_seen": str,
                    "n_articles": int, "n_publishers": int, "publishers": str, "created_at": str,
                    "updated_at": str, "merged_into": int},
        "pk": "id",
    },
    "articles": {
        "columns": {
            "id": int, "url": str, "title": str, "excerpt": str, "text": str, "author": str,
            "published": str, "published_source": str, "updated": str, "updated_source": str,
            "publisher": str, "publisher_domain": str, "language": str, "image": str,
            "topics": str, "external_id": str, "meta_source": str, "status": str,
            "fetch_count": int, "fail_count": int, "last_fetch_at": str, "last_success_at": str,
            "next_fetch_at": str, "last_error": str, "etag": str, "last_modified": str,
            "content_hash": str, "version": int, "cluster_id": int, "duplicate_of": int,
            "duplicate_similarity": float, "first_seen": str, "updated_at": str,
            # clustering state (tracker/stories/cluster_stage.py): the raw cluster's first article, the time
            # (epoch seconds) the article was clustered at, and when
            "story_leader": int, "story_at": float, "clustered_at": str,
            # the lens (tracker/lens/tag_stage.py): relevance to privacy regulation in [0, 1], when the
            # tags last changed, and what was last tagged (text and taxonomy hash) and when
            "relevance": float, "tagged_at": str, "tag_hash": str, "tag_checked_at": str,
            # discovery (tracker/discover/): 1 when an authority's own source listed it (a primary source);
            # off_beat 1 for a discovered article (no seed named it) tagged below the beat's relevance
            "primary_source": int, "off_beat": int,
        },
        "pk": "id",
        "not_null": ["url", "status", "first_seen"],
        "defaults": {"status": "new", "fetch_count": 0, "fail_count": 0, "version": 0},
        "foreign_keys": [("duplicate_of", "articles", "id"), ("cluster_id", "clusters", "id")],
    },
    "urls": {
        "columns": {"url": str, "article_id": int, "kind": str, "key": str, "first_seen": str},
        "pk": "url",
        "not_null": ["article_id", "kind", "key"],
        "foreign_keys": [("article_id", "articles", "id")],
    },
    "seed_files": {
        "columns": {"path": str, "sha256": str, "loaded_at": str, "article_id": int,
                    "n_related": int, "status": str, "error": str},
        "pk": "path",
        "foreign_keys": [("article_id", "articles", "id")],
    },
    "relations": {
        "columns": {"seed_path": str, "related_id": int, "article_id": int, "position": int},
        "pk": ("seed_path", "related_id"),
        "not_null": ["article_id"],
        "foreign_keys": [("article_id", "articles", "id"), ("related_id", "articles", "id"),
                         ("seed_path", "seed_files", "path")],
    },
    "article_merges": {
        "columns": {"id": int, "kept_id": int, "merged_id": int, "merged_url": str, "reason": str,
                    "merged_row": str, "at": str},
        "pk": "id",
        "foreign_keys": [("kept_id", "articles", "id")],
    },
    "fetches": {
        "columns": {"id": int, "article_id": int, "url": str, "requested_at": str, "status": int,
                    "outcome": str, "error_class": str, "error_message": str, "bytes": int,
                    "elapsed_ms": float, "final_url": str, "content_type": str, "warc_file": str,
                    "run_id": int},
        "pk": "id",
        "foreign_keys": [("article_id", "articles", "id")],
    },
    "article_versions": {
        "columns": {"id": int, "article_id": int, "version": int, "fetched_at": str, "title": str,
                    "text": str, "content_hash": str, "url": str},
        "pk": "id",
        "foreign_keys": [("article_id", "articles", "id")],
    },
    "cluster_merges": {
        "columns": {"id": int, "kept_id": int, "merged_id": int, "reason": str, "at": str},
        "pk": "id",
    },
    "cluster_splits": {  # a story split off another, which kept its id (tracker/stories/split.py)
        "columns": {"id": int, "kept_id": int, "split_id": int, "at": str},
        "pk": "id",
    },
    "story_links": {  # clustering state: a raw cluster (by leader) that grew into an older one
        "columns": {"leader": int, "into_leader": int, "at": float},
        "pk": "leader",
    },
    "clustering": {  # how the stored clustering was made (options fingerprint): a change means rebuild
        "columns": {"key": str, "value": str},
        "pk": "key",
    },
    "cluster_corrections": {
        "columns": {"id": int, "action": str, "article_id": int, "cluster_a": int,
                    "cluster_b": int, "at": str, "article_b": int},
        "pk": "id",
    },
    "hosts": {  # per-host politeness that outlives one crawl process
        "columns": {"host": str, "last_request_at": float, "delay": float},
        "pk": "host",
    },
    "ingested": {  # results of distributed workers already saved: each attempt once (tracker ingest)
        "columns": {"key": str, "ingested_at": str},
        "pk": "key",
    },
    "runs": {
        "columns": {"id": int, "started_at": str, "ended_at": str, "status": str, "pid": int,
                    "host": str, "seeds": int, "new_articles": int, "fetched": int, "failed": int,
                    "refused": int, "new_stories": int, "grown_stories": int, "errors": str,
                    "tagged": int,
                    "note": str},  # e.g. "deadline reached: N of M due articles not attempted"
        "pk": "id",
    },
    "run_stories": {  # the stories a run created or grew ("what is new since the last run?")
        "columns": {"run_id": int, "story_id": int, "change": str},
        "pk": ("run_id", "story_id"),
        "foreign_keys": [("run_id", "runs", "id")],
    },
    # Discovery (tracker/discover/): the sources polled (from sources/*.yml; `active` 0 once no
    # file names them), each poll's response, and the articles each source listed.
    "sources": {
        "columns": {"id": int, "url": str, "kind": str, "name": str, "interval": float, "language": str,
                    "jurisdiction": str, "authority": int, "link_pattern": str, "file": str, "active": int,
                    "etag": str, "last_modified": str, "last_poll_at": str, "next_poll_at": str,
                    "last_outcome": str, "last_error": str, "fail_count": int, "polls": int,
                    "items_last": int, "new_last": int, "new_total": int, "errors_total": int},
        "pk": "id",
        "not_null": ["url", "kind"],
        "defaults": {"active": 1, "authority": 0, "fail_count": 0, "polls": 0, "new_total": 0,
                     "errors_total": 0},
    },
    "source_polls": {
        "columns": {"id": int, "source_id": int, "run_id": int, "url": str, "root": int, "requested_at": str,
                    "status": int, "outcome": str, "items": int, "new": int, "error": str,
                    "elapsed_ms": float, "warc_file": str},
        "pk": "id",
    },
    "source_articles": {
        "columns": {"source_id": int, "article_id": int, "first_seen": str},
        "pk": ("source_id", "article_id"),
    },
    # The lens (tracker/lens/): no foreign keys, so that merging or deleting an article never
    # fails on them; the tag stage drops the rows of articles that are gone.
    "article_tags": {
        "columns": {"article_id": int, "kind": str, "tag": str, "label": str, "mentions": int},
        "pk": ("article_id", "tag"),
        "not_null": ["kind", "label"],
    },
    "fines": {  # one row per amount reported in an article
        "columns": {"id": int, "article_id": int, "amount": float, "currency": str, "amount_eur": float,
                    "kind": str, "regulator": str, "company": str, "law": str, "evidence": str},
        "pk": "id",
        "not_null": ["article_id", "amount", "currency"],
    },
    "order_mentions": {  # one row per order, ban or reprimand an article reports (no amount)
        "columns": {"id": int, "article_id": int, "kind": str, "regulator": str, "company": str,
                    "law": str, "evidence": str},
        "pk": "id",
        "not_null": ["article_id", "kind"],
    },
    # The enforcement record (tracker/lens/record.py): one row per decision or stage of a case,
    # reconciled from `fines`; its reports (which article gave which amount, and the sentence); and
    # the analysts' corrections, which name reports by (article, amount, currency).
    "decisions": {
        "columns": {"id": int, "case_id": int, "stage": int, "kind": str, "authority": str,
                    "authority_label": str, "target": str, "target_label": str, "jurisdiction": str,
                    "jurisdiction_label": str, "laws": str, "law_labels": str, "amount": float,
                    "currency": str, "amount_eur": float, "decided": str, "reports": int,
                    "articles": int, "counted": int, "corrected": int},
        "pk": "id",
        "not_null": ["kind"],  # orders, bans and reprimands have no amount
    },
    "decision_reports": {
        "columns": {"decision_id": int, "article_id": int, "amount": float, "currency": str,
                    "amount_eur": float, "kind": str, "evidence": str},
        "pk": ("article_id", "amount", "currency"),
        "not_null": ["decision_id"],
    },
    "decision_corrections": {
        "columns": {"id": int, "action": str, "article_id": int, "amount": float, "currency": str,
                    "other": str, "keys": str, "fields": str, "at": str},
        "pk": "id",
    },
    # The lens per story, kept by tracker/store/lensfacets.py at the end of the tag and cluster
    # stages: filters and facets read these (indexed) instead of recomputing each story's tags.
    "story_lens": {  # one row per live story: relevance (its best article's) and labels per kind
        "columns": {"id": int, "headline": str, "first_seen": str, "last_seen": str, "n_articles": int,
                    "n_publishers": int, "publishers": str, "relevance": float, "regulators": str,
                    "laws": str, "actions": str, "jurisdictions": str, "technologies": str,
                    "companies": str},
        "pk": "id",
    },
    "article_lens": {  # one row per tagged article: relevance and labels per kind (as story_lens)
        "columns": {"id": int, "published": str, "title": str, "publisher": str, "url": str,
                    "story_id": int, "relevance": float, "regulators": str, "laws": str, "actions": str,
                    "jurisdictions": str, "technologies": str, "companies": str},
        "pk": "id",
    },
    "story_tag_links": {  # one row per (live story, tag): how many of its articles carry it
        "columns": {"story_id": int, "kind": str, "tag": str, "label": str, "articles": int},
        "pk": ("story_id", "tag"),
        "not_null": ["kind", "label"],
    },
    "lens_tags": {  # one row per tag in use: its stories and articles (unfiltered facets, names)
        "columns": {"tag": str, "kind": str, "label": str, "stories": int, "articles": int},
        "pk": "tag",
    },
    "lens_names": {  # every name a taxonomy entry goes by, lower case: searches find its articles
        "columns": {"name": str, "tag": str, "kind": str},
        "pk": ("name", "tag"),
    },
    # Watches (tracker/watches.py): saved searches, what each already alerted on, alerts to deliver
    "watches": {
        "columns": {"id": int, "name": str, "query": str, "fts": str, "filters": str, "email": str,
                    "webhook": str, "created_at": str},
        "pk": "id",
        "not_null": ["name"],
    },
    "watch_stories": {
        "columns": {"watch_id": int, "story_id": int, "seen": str, "added": str, "first_matched_at": str,
                    "changed_at": str},
        "pk": ("watch_id", "story_id"),
    },
    "watch_deliveries": {
        "columns": {"id": int, "watch_id": int, "run_id": int, "channel": str, "target": str, "payload": str,
                    "status": str, "attempts": int, "last_error": str, "created_at": str, "sent_at": str},
        "pk": "id",
    },
    "lens": {  # how the stored tags were made (taxonomy fingerprint): a change means retag all
        "columns": {"key": str, "value": str},
        "pk": "key",
    },
}

# (table, columns, unique)
INDEXES: list[tuple[str, tuple[str, ...], bool]] = [
    ("articles", ("url",), True),
    ("articles", ("status", "next_fetch_at"), False),
    ("articles", ("published",), False),
    ("articles", ("publisher",), False),
    ("articles", ("cluster_id",), False),
    ("articles", ("external_id",), False),
    ("urls", ("key",), False),
    ("urls", ("article_id",), False),
    ("relations", ("article_id",), False),
    ("relations", ("related_id",), False),
    ("fetches", ("article_id",), False),
    ("article_versions", ("article_id", "version"), True),
    ("clusters", ("last_seen",), False),
    # live stories by when the tracker first saw them, and by first publication (home, search)
    ("clusters", ("merged_into", "created_at", "id"), False),
    ("clusters", ("merged_into", "first_seen", "id"), False),
    ("articles", ("published", "cluster_id"), False),  # the home page's fastest-growing stories
    ("run_stories", ("story_id",), False),
    ("articles", ("story_leader",), False),
    ("articles", ("story_at",), False),
    ("articles", ("cluster_id", "published"), False),  # a story's articles in order (Datasette)
    ("articles", ("language",), False),  # Datasette's language facet, without a table scan
    ("article_tags", ("tag", "article_id"), False),  # a tag's articles (facets, canned queries)
    ("article_tags", ("kind", "tag"), False),
    ("fines", ("article_id",), False),
    ("decision_reports", ("decision_id",), False),
    ("order_mentions", ("article_id",), False),
    ("decisions", ("case_id", "stage"), False),
    ("decisions", ("target", "decided"), False),  # a company's record in date order
    ("decisions", ("authority", "decided"), False),  # an authority's record
    ("decisions", ("decided", "id"), False),
    ("articles", ("relevance",), False),
    ("sources", ("url",), True),
    ("sources", ("active", "next_poll_at"), False),
    ("source_polls", ("source_id", "id"), False),
    ("source_articles", ("article_id",), False),
    # the lens per story: a tag's stories (filters), a kind's tags (facets), the orders offered
    ("story_tag_links", ("tag", "story_id"), False),
    ("story_tag_links", ("kind", "tag", "label"), False),
    # a filtered facet: each filtered story's (article's) tags of one kind, from the index alone
    ("story_tag_links", ("story_id", "kind", "tag", "label"), False),
    ("article_tags", ("article_id", "kind", "tag", "label"), False),
    ("lens_tags", ("kind", "label"), False),
    ("watches", ("name",), True),
    ("watch_deliveries", ("status", "id"), False),
    ("story_lens", ("relevance", "id"), False),
    ("story_lens", ("last_seen", "id"), False),
    ("story_lens", ("first_seen", "id"), False),
    ("article_lens", ("relevance", "id"), False),
    ("article_lens", ("published", "id"), False),
    ("article_lens", ("publisher",), False),
    # Covers the `stories` view in its order: Datasette counts it and pages through it by offset,
    # which on SQLite 3.40 reads every row of the ordered view (1 s at 280,000 stories, 0.15 s so).
    ("clusters", ("merged_into", "last_seen", "id", "headline", "first_seen", "n_articles",
                  "n_publishers", "publishers"), False),
]

FTS: dict[str, list[str]] = {"articles": ["title", "excerpt", "text"]}

# The lens views' columns of tag labels, one per taxonomy kind: (kind, column).
LENS_COLUMNS = (("regulator", "regulators"), ("law", "laws"), ("action", "actions"),
                ("jurisdiction", "jurisdictions"), ("technology", "technologies"), ("company", "companies"))

# name -> SQL. Views let Datasette stream every row of a CSV (canned queries stop at 1,000).
# Each view carries its own ORDER BY: Datasette pages through views by offset, so the order must be
# total (ties broken by id) for `?_stream=on` to return every row exactly once.
VIEWS: dict[str, str] = {
    # One row per live story (cluster), newest activity first.
    "stories": (
        "SELECT id, headline, first_seen, last_seen, n_articles, n_publishers, publishers "
        "FROM clusters WHERE merged_into IS NULL ORDER BY last_seen DESC, id DESC"),
    # One row per clustered article with its story, each story's articles in publication order.
    "story_articles": (
        "SELECT a.cluster_id AS story_id, c.headline AS story_headline, a.id AS article_id, "
        "a.published, a.title, a.publisher, a.publisher_domain, a.language, a.url, a.duplicate_of, "
        "a.external_id FROM articles a JOIN clusters c ON c.id = a.cluster_id "
        "ORDER BY a.cluster_id, a.published, a.id"),
    # Articles never fetched, never fetched successfully, or whose latest fetch failed.
    "fetch_problems": (
        "SELECT id AS article_id, url, title, publisher, status, CASE "
        "WHEN fetch_count = 0 THEN 'never fetched' WHEN last_success_at IS NULL THEN 'never succeeded' "
        "ELSE 'last fetch failed' END AS problem, fetch_count, fail_count, last_fetch_at, "
        "last_success_at, next_fetch_at, last_error FROM articles "
        "WHERE fetch_count = 0 OR last_success_at IS NULL OR last_fetch_at > last_success_at "
        "ORDER BY fail_count DESC, id"),
    # Every stored edit of an article, newest first, beside the title it replaced.
    "recent_edits": (
        "SELECT v.fetched_at, v.article_id, v.version, v.title, lag(v.title) OVER ("
        "PARTITION BY v.article_id ORDER BY v.version) AS previous_title, a.publisher, v.url, "
        "length(v.text) AS text_chars, v.content_hash FROM article_versions v "
        "JOIN articles a ON a.id = v.article_id ORDER BY v.fetched_at DESC, v.id DESC"),
    # Per publisher: articles, stories they took part in, first and last publication.
    "publishers": (
        "SELECT publisher, COUNT(*) AS articles, COUNT(DISTINCT cluster_id) AS stories, "
        "MIN(published) AS first_published, MAX(published) AS last_published FROM articles "
        "WHERE publisher IS NOT NULL GROUP BY publisher ORDER BY articles DESC, publisher"),
    # New stories and articles per week (weeks start on Monday), for charts.
    "weekly_activity": (
        "SELECT week, SUM(stories) AS new_stories, SUM(articles) AS articles FROM ("
        "SELECT date(first_seen, 'weekday 0', '-6 days') AS week, 1 AS stories, 0 AS articles "
        "FROM clusters WHERE merged_into IS NULL AND first_seen IS NOT NULL UNION ALL "
        "SELECT date(published, 'weekday 0', '-6 days'), 0, 1 FROM articles "
        "WHERE published IS NOT NULL) GROUP BY week ORDER BY week"),
    # The lens: one row per (article, tag), for facets on kind, tag and label.
    "article_tag_list": (
        "SELECT t.article_id, a.published, a.title, a.publisher, a.relevance, a.cluster_id AS story_id, "
        "t.kind, t.tag, t.label, t.mentions FROM article_tags t JOIN articles a ON a.id = t.article_id "
        "ORDER BY a.published DESC, t.article_id DESC, t.tag"),
    # One row per (live story, tag): how many of its articles carry the tag.
    "story_tags": (
        "SELECT a.cluster_id AS story_id, c.headline, c.last_seen, t.kind, t.tag, t.label, "
        "COUNT(*) AS articles, MAX(a.relevance) AS relevance FROM article_tags t "
        "JOIN articles a ON a.id = t.article_id JOIN clusters c ON c.id = a.cluster_id "
        "WHERE c.merged_into IS NULL GROUP BY a.cluster_id, t.tag "
        "ORDER BY c.last_seen DESC, a.cluster_id DESC, t.tag"),
    # One row per reported fine, settlement or damages award, newest first, with who and under what,
    # and the decision of the enforcement record it was reconciled into (none: not a decision).
    "enforcement": (
        "SELECT f.id AS fine_id, substr(a.published, 1, 10) AS date, rt.label AS regulator, "
        "ct.label AS company, lt.label AS law, f.kind, f.amount, f.currency, f.amount_eur, "
        "a.cluster_id AS story_id, c.headline AS story_headline, f.article_id, a.url, f.evidence, "
        "d.decision_id FROM fines f JOIN articles a ON a.id = f.article_id LEFT JOIN clusters c ON c.id = a.cluster_id "
        "LEFT JOIN decision_reports d ON d.article_id = f.article_id AND d.amount = f.amount "
        "AND d.currency = f.currency "
        "LEFT JOIN article_tags rt ON rt.article_id = f.article_id AND rt.tag = f.regulator "
        "LEFT JOIN article_tags ct ON ct.article_id = f.article_id AND ct.tag = f.company "
        "LEFT JOIN article_tags lt ON lt.article_id = f.article_id AND lt.tag = f.law "
        "ORDER BY a.published DESC, f.id DESC"),
    # Discovery: one row per source with its last poll, items found, errors, and the stories it fed.
    "source_report": (
        "SELECT s.id, s.name, s.kind, s.url, s.authority, s.active, s.last_poll_at, s.last_outcome, "
        "s.items_last, s.new_last, s.new_total, s.polls, s.errors_total, s.fail_count, s.last_error, "
        "s.next_poll_at, (SELECT COUNT(DISTINCT a.cluster_id) FROM source_articles sa JOIN articles a "
        "ON a.id = sa.article_id WHERE sa.source_id = s.id) AS stories_fed FROM sources s "
        "ORDER BY s.active DESC, s.id"),
    # An authority's own releases (primary sources) with the story they are in and the source.
    "primary_sources": (
        "SELECT a.cluster_id AS story_id, c.headline AS story_headline, a.id AS article_id, a.published, "
        "a.title, a.url, s.name AS source, s.url AS source_url, s.jurisdiction FROM articles a "
        "JOIN source_articles sa ON sa.article_id = a.id JOIN sources s ON s.id = sa.source_id "
        "LEFT JOIN clusters c ON c.id = a.cluster_id WHERE a.primary_source = 1 AND s.authority = 1 "
        "ORDER BY a.published DESC, a.id DESC, s.id"),
}


# Views that became tables: dropped before the tables are created (same name).
RETIRED_VIEWS = ("story_lens", "article_lens")


def ensure_schema(db: Database) -> None:
    """Create missing tables, columns, indexes, full-text indexes and views. Idempotent."""
    for name in RETIRED_VIEWS:
        if name in db.view_names():
            db.execute(f'DROP VIEW "{name}"')
    for name, spec in TABLES.items():
        _ensure_table(db, name, spec)
    for table, columns, unique in INDEXES:
        db.table(table).create_index(columns, unique=unique, if_not_exists=True)
    for table, fts_columns in FTS.items():
        if not db.table(table).detect_fts():
            db.table(table).enable_fts(fts_columns, tokenize="porter")  # indexes the rows already there
        _ensure_fts_triggers(db, table, fts_columns)
    for name, sql in VIEWS.items():
        db.create_view(name, sql, replace=True)


def fts_triggers(table: str, columns: Sequence[str]) -> dict[str, str]:
    """name -> SQL of the triggers that keep `table`_fts (external content) in step with `table`.

    sqlite-utils' update trigger fires on every UPDATE, whatever the column, and re-indexes the
    whole row (old text tokenized to delete it, new text to add it): a crawl updating an article's
    status re-indexed its text several times per page. Ours fire only when an indexed column (or
    the rowid) is set."""
    fts, cols = f'"{table}_fts"', ", ".join(f'"{c}"' for c in columns)
    old, new = (", ".join(f'{row}."{c}"' for c in columns) for row in ("old", "new"))
    insert = f"INSERT INTO {fts} (rowid, {cols}) VALUES (new.rowid, {new});"
    delete = f"INSERT INTO {fts} ({fts}, rowid, {cols}) VALUES('delete', old.rowid, {old});"
    watched = ", ".join(f'"{c}"' for c in (TABLES[table]["pk"], *columns))
    return {
        f"{table}_ai": f'CREATE TRIGGER "{table}_ai" AFTER INSERT ON "{table}" BEGIN\n  {insert}\nEND',
        f"{table}_ad": f'CREATE TRIGGER "{table}_ad" AFTER DELETE ON "{table}" BEGIN\n  {delete}\nEND',
        f"{table}_au": (f'CREATE TRIGGER "{table}_au" AFTER UPDATE OF {watched} ON "{table}" BEGIN\n'
                        f"  {delete}\n  {insert}\nEND"),
    }


def _ensure_fts_triggers(db: Database, table: str, columns: Sequence[str]) -> None:
    """Create or replace the FTS triggers (migrating sqlite-utils' ones). Replacing a trigger that
    kept the index in step needs nothing more; a missing one means the index may have drifted, so
    it is rebuilt from the table."""
    stored = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                             "AND tbl_name = ?", [table]).fetchall())
    wanted = fts_triggers(table, columns)
    stale = [name for name, sql in wanted.items() if stored.get(name) != sql]
    if not stale:
        return
    with transaction(db):
        for name in stale:
            db.execute(f'DROP TRIGGER IF EXISTS "{name}"')
            db.execute(wanted[name])
        if any(name not in stored for name in stale):
            db.execute(f"INSERT INTO \"{table}_fts\" (\"{table}_fts\") VALUES ('rebuild')")
        logger.info("%s: full-text triggers updated (%s)", table, ", ".join(stale))


def _ensure_table(db: Database, name: str, spec: dict[str, Any]) -> None:
    table = db.table(name)
    if not table.exists():
        table.create(spec["columns"], pk=spec["pk"], not_null=spec.get("not_null"),
                     defaults=spec.get("defaults"), foreign_keys=spec.get("foreign_keys"))
        return
    existing = set(table.columns_dict)
    for column, col_type in spec["columns"].items():
        if column not in existing:
            table.add_column(column, col_type)



def table_counts(db: Database) -> dict[str, int]:
    """Rows per declared table."""
    return {name: db[name].count for name in TABLES}


def status_counts(db: Database, table: str, column: str) -> dict[str, int]:
    """Rows per value of a status-like column."""
    sql = f"SELECT COALESCE({column}, '(none)'), COUNT(*) FROM {table} GROUP BY 1 ORDER BY 2 DESC"
    return {str(k): int(n) for k, n in db.execute(sql)}

