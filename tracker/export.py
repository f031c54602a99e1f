"""`tracker export`: stream every row of a table-like query as CSV or JSON Lines, with no row cap."""

from __future__ import annotations

import csv
import json
from typing import IO, Any

from tracker import db as store
from tracker.errors import TrackerError

# What each export is, as SQL. Columns are listed so that the header exists before any row does.
EXPORTS: dict[str, str] = {
    "articles": (
        "SELECT id, url, title, publisher, publisher_domain, published, published_source, author, "
        "language, excerpt, text, external_id, status, topics, image, cluster_id, duplicate_of, "
        "first_seen, last_fetch_at, relevance FROM articles ORDER BY id"),
    "fetches": (
        "SELECT id, article_id, url, requested_at, status, outcome, error_class, error_message, "
        "bytes, elapsed_ms, final_url, content_type, warc_file FROM fetches ORDER BY id"),
    "clusters": (
        "SELECT a.cluster_id, a.url, a.title, a.publisher, a.published, a.external_id, "
        "a.duplicate_of, a.id AS article_id FROM articles a WHERE a.cluster_id IS NOT NULL "
        "ORDER BY a.cluster_id, a.published, a.id"),
    "stories": (
        "SELECT id, headline, first_seen, last_seen, n_articles, n_publishers, publishers, "
        "(SELECT MAX(relevance) FROM articles a WHERE a.cluster_id = clusters.id) AS relevance "
        "FROM clusters WHERE merged_into IS NULL ORDER BY first_seen, id"),
    # the lens: one row per article and tag; one row per reported amount
    "tags": (
        "SELECT t.article_id, a.url, t.kind, t.tag, t.label FROM article_tags t "
        "JOIN articles a ON a.id = t.article_id ORDER BY t.article_id, t.kind, t.tag"),
    "fines": (
        "SELECT f.article_id, a.url, a.cluster_id, f.amount, f.currency, f.amount_eur, f.kind, "
        "f.regulator, f.company, f.law, f.evidence FROM fines f JOIN articles a ON a.id = f.article_id "
        "ORDER BY f.article_id, f.id"),
}
FORMATS = ("csv", "jsonl")


def export_rows(db: store.Database, what: str, fmt: str, out: IO[str]) -> int:
    """Write every row of export `what` to `out` in `fmt`; returns the number of rows written."""
    if what not in EXPORTS:
        raise TrackerError(f"unknown export {what!r}: choose one of {', '.join(EXPORTS)}")
    if fmt not in FORMATS:
        raise TrackerError(f"unknown format {fmt!r}: choose csv or jsonl")
    sql = EXPORTS[what]
    rows = store.iter_query(db, sql)
    if fmt == "csv":
        return _write_csv(out, store.query_columns(db, sql), rows)
    return _write_jsonl(out, rows)


def _write_csv(out: IO[str], columns: list[str], rows: Any) -> int:
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def _write_jsonl(out: IO[str], rows: Any) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
