"""`tracker export`: stream the rows of an export as CSV or JSON Lines, with no row cap.

Each export is declared as data (EXPORTS): its SQL in parts, and which of its columns the filters
use (`--story`, `--search`, `--since`). An export given as a plain SQL string works too, without
filters. CSV is for people: JSON lists (`publishers`, `topics`) become `a; b` text, and cells a
spreadsheet would run as formulas get a leading `'` (tracker/serve/csvsafe.py) unless `raw` is asked for;
`excel` adds the byte-order mark Excel needs to read UTF-8. JSON Lines is for programs: text as
stored, lists as JSON arrays.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from typing import IO, Any, Iterable

from tracker import store
from tracker.serve.csvsafe import UTF8_BOM, neutralise_cell
from tracker.dates import BadDate, to_utc_iso
from tracker.errors import TrackerError
from tracker.serve.search import fts_query


@dataclass(frozen=True)
class Export:
    """An export's SQL (`select` and `from_`, joined to `where` and `order`) and its filter columns:
    `story` a story id column, `article` an article id column (for --search), `since` a time column."""

    select: str
    from_: str
    order: str
    where: str = ""
    story: str | None = None
    article: str | None = None
    since: str | None = None


# Stories matching a search: those with a matching article.
_STORY_OF_MATCH = "SELECT cluster_id FROM articles WHERE id IN ({match})"

EXPORTS: dict[str, Export | str] = {
    "articles": Export(
        select="a.id, a.url, a.title, a.publisher, a.publisher_domain, a.published, "
               "a.published_source, a.author, a.language, a.excerpt, a.text, a.external_id, a.status, "
               "a.topics, a.image, a.cluster_id, a.duplicate_of, a.first_seen, a.last_fetch_at, "
               "a.relevance",
        from_="articles a", order="a.id", story="a.cluster_id", article="a.id", since="a.published"),
    "fetches": Export(
        select="f.id, f.article_id, f.url, f.requested_at, f.status, f.outcome, f.error_class, "
               "f.error_message, f.bytes, f.elapsed_ms, f.final_url, f.content_type, f.warc_file",
        from_="fetches f LEFT JOIN articles a ON a.id = f.article_id", order="f.id",
        story="a.cluster_id", article="f.article_id", since="f.requested_at"),
    "clusters": Export(
        select="a.cluster_id, c.headline AS story_headline, a.url, a.title, a.publisher, "
               "a.published, a.excerpt, a.external_id, a.duplicate_of, a.id AS article_id",
        from_="articles a JOIN clusters c ON c.id = a.cluster_id",
        order="a.cluster_id, a.published, a.id", story="a.cluster_id", article="a.id",
        since="a.published"),
    "stories": Export(
        select="c.id, c.headline, c.first_seen, c.last_seen, c.n_articles, c.n_publishers, "
               "c.publishers, (SELECT excerpt FROM articles e WHERE e.cluster_id = c.id AND "
               "e.excerpt IS NOT NULL ORDER BY e.published, e.id LIMIT 1) AS excerpt, "
               "(SELECT MAX(relevance) FROM articles r WHERE r.cluster_id = c.id) AS relevance",
        from_="clusters c", where="c.merged_into IS NULL", order="c.first_seen, c.id",
        story="c.id", since="c.last_seen"),
    # the lens: one row per article and tag; one row per reported amount
    "tags": Export(
        select="t.article_id, a.url, t.kind, t.tag, t.label",
        from_="article_tags t JOIN articles a ON a.id = t.article_id", order="t.article_id, t.kind, t.tag",
        story="a.cluster_id", article="t.article_id", since="a.published"),
    "fines": Export(
        select="f.article_id, a.url, a.cluster_id, f.amount, f.currency, f.amount_eur, f.kind, "
               "f.regulator, f.company, f.law, f.evidence",
        from_="fines f JOIN articles a ON a.id = f.article_id", order="f.article_id, f.id",
        story="a.cluster_id", article="f.article_id", since="a.published"),
}
FORMATS = ("csv", "jsonl")
LIST_COLUMNS = frozenset({"publishers", "topics"})


@dataclass(frozen=True)
class ExportOptions:
    """Filters and CSV flavour. `since` is a date or time (UTC unless it says otherwise)."""

    story: int | None = None
    search: str | None = None
    since: str | None = None
    raw: bool = False  # CSV cells exactly as stored: no formula neutralising
    excel: bool = False  # CSV starts with a UTF-8 byte-order mark


def export_rows(db: store.Database, what: str, fmt: str, out: IO[str],
                options: ExportOptions | None = None) -> int:
    """Write the rows of export `what` to `out` in `fmt`; returns the number of rows written."""
    options = options or ExportOptions()
    if fmt not in FORMATS:
        raise TrackerError(f"unknown format {fmt!r}: choose csv or jsonl")
    sql, params = export_sql(what, options)
    rows = store.iter_query(db, sql, params)
    if fmt == "csv":
        return _write_csv(out, store.query_columns(db, sql, params), rows, options)
    return _write_jsonl(out, rows)


def export_sql(what: str, options: ExportOptions) -> tuple[str, list[Any]]:
    """The SQL and parameters of export `what` with the options' filters."""
    spec = EXPORTS.get(what)
    if spec is None:
        raise TrackerError(f"unknown export {what!r}: choose one of {', '.join(EXPORTS)}")
    if isinstance(spec, str):
        if options.story is not None or options.search or options.since:
            raise TrackerError(f"export {what}: --story, --search and --since do not apply")
        return spec, []
    where, params = ([spec.where] if spec.where else []), []
    for condition, values in _filters(what, spec, options):
        where.append(condition)
        params.extend(values)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT {spec.select} FROM {spec.from_}{clause} ORDER BY {spec.order}", params


def _filters(what: str, spec: Export, options: ExportOptions) -> Iterable[tuple[str, list[Any]]]:
    if options.story is not None:
        yield _need(what, "--story", spec.story) + " = ?", [options.story]
    match = fts_query(options.search)
    if match:
        ids = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
        if spec.article:
            yield f"{spec.article} IN ({ids})", [match]
        else:  # stories: those with a matching article
            yield f"{_need(what, '--search', spec.story)} IN ({_STORY_OF_MATCH.format(match=ids)})", [match]
    if options.since:
        yield _need(what, "--since", spec.since) + " >= ?", [_since(options.since)]


def _need(what: str, option: str, column: str | None) -> str:
    if column is None:
        raise TrackerError(f"export {what}: {option} does not apply")
    return column


def _since(value: str) -> str:
    try:
        moment = to_utc_iso(value)
    except BadDate as exc:
        raise TrackerError(f"--since {value!r}: not a date (e.g. 2024-05-01 or 2024-05-01T12:00Z)") from exc
    if moment is None:
        raise TrackerError("--since: empty date")
    return moment


def _write_csv(out: IO[str], columns: list[str], rows: Any, options: ExportOptions) -> int:
    if options.excel:
        out.write(UTF8_BOM)
    # RFC 4180 line ends: with "\n" alone, csv leaves a cell's bare "\r" unquoted, which readers
    # (Excel, Python's csv) take as the end of the row.
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(_csv_row(row, options.raw))
        count += 1
    return count


def _csv_row(row: dict[str, Any], raw: bool) -> dict[str, Any]:
    cells = {}
    for name, value in row.items():
        if name in LIST_COLUMNS and isinstance(value, str):
            value = _list_text(value)
        cells[name] = value if raw else neutralise_cell(value)
    return cells


def _list_text(value: str) -> str:
    items = _json_list(value)
    return value if items is None else "; ".join(str(item) for item in items)


def _json_list(value: str) -> list[Any] | None:
    try:
        items = json.loads(value)
    except ValueError:
        return None
    return items if isinstance(items, list) else None


def _write_jsonl(out: IO[str], rows: Any) -> int:
    count = 0
    for row in rows:
        for name in LIST_COLUMNS & row.keys():
            if isinstance(row[name], str):
                items = _json_list(row[name])
                row[name] = row[name] if items is None else items
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
