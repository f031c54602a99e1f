"""The exports of `tracker export`, declared as SQL data (EXPORTS), the filters they take, and
streaming their rows. Formatting them (CSV, JSON Lines) is tracker/serve/export_formats.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

from tracker.errors import TrackerError
from tracker.store.db import Database


@dataclass(frozen=True)
class Export:
    """An export's SQL (`select` and `from_`, joined to `where` and `order`) and its filter columns:
    `story` a story id column, `article` an article id column (for --search), `since` a time column,
    `decision` a decision id column (--story and --search then keep decisions reported there)."""

    select: str
    from_: str
    order: str
    where: str = ""
    story: str | None = None
    article: str | None = None
    since: str | None = None
    decision: str | None = None  # a decision id column: --story and --search go through its reports


# The enforcement export's computed columns: the laws and law articles its reports name (of the
# decision's laws), its kind in words, its first report's URL, and its stories or articles.
_LAW_ARTICLES = (
    "(SELECT group_concat(label, '; ') FROM (SELECT DISTINCT t.label FROM decision_reports r "
    "JOIN article_tags t ON t.article_id = r.article_id WHERE r.decision_id = d.id AND t.kind = 'law' "
    "AND EXISTS (SELECT 1 FROM json_each(d.laws) j WHERE t.tag = j.value OR t.tag LIKE j.value || '-art-%') "
    "ORDER BY t.label))")
_KIND_LABEL = ("CASE d.kind WHEN 'fine' THEN 'Fine' WHEN 'intended fine' THEN 'Intended fine' "
               "WHEN 'settlement' THEN 'Settlement' WHEN 'damages' THEN 'Damages or verdict' WHEN 'order' THEN 'Order' "
               "WHEN 'ban' THEN 'Ban' WHEN 'reprimand' THEN 'Reprimand' ELSE d.kind END")
_SOURCE = ("(SELECT a.url FROM decision_reports r JOIN articles a ON a.id = r.article_id "
           "WHERE r.decision_id = d.id ORDER BY a.published, a.id LIMIT 1)")
_REPORTED = ("(SELECT json_group_array(x) FROM (SELECT DISTINCT {what} AS x FROM decision_reports r "
             "JOIN articles a ON a.id = r.article_id WHERE r.decision_id = d.id AND {what} IS NOT NULL "
             "ORDER BY x))")

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
    # the enforcement record: one row per decision, the CMS Enforcement Tracker's columns first
    "enforcement": Export(
        select="d.id, d.jurisdiction_label AS country, d.authority_label AS authority, "
               "d.decided AS date_of_decision, ROUND(d.amount_eur) AS fine, d.target_label AS organisation, "
               "NULL AS sector, " + _LAW_ARTICLES + " AS articles_of_the_law, " + _KIND_LABEL + " AS type, "
               + _SOURCE + " AS source, d.kind, d.case_id AS \"case\", d.stage, d.counted, "
               + _REPORTED.format(what="a.cluster_id") + " AS stories, "
               + _REPORTED.format(what="a.id") + " AS articles, d.amount, d.currency, d.amount_eur, "
               "d.authority AS authority_id, d.target AS organisation_id, d.jurisdiction AS country_id",
        from_="decisions d", order="d.decided, d.id", since="d.decided", decision="d.id"),
}


@dataclass(frozen=True)
class ExportFilters:
    """Filter values: a story id, a full-text MATCH expression, a UTC ISO time."""

    story: int | None = None
    match: str | None = None
    since: str | None = None


def export_sql(what: str, filters: ExportFilters) -> tuple[str, list[Any]]:
    """The SQL and parameters of export `what` with these filters."""
    spec = EXPORTS.get(what)
    if spec is None:
        raise TrackerError(f"unknown export {what!r}: choose one of {', '.join(EXPORTS)}")
    if isinstance(spec, str):
        if filters.story is not None or filters.match or filters.since:
            raise TrackerError(f"export {what}: --story, --search and --since do not apply")
        return spec, []
    where, params = ([spec.where] if spec.where else []), []
    for condition, values in _conditions(what, spec, filters):
        where.append(condition)
        params.extend(values)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT {spec.select} FROM {spec.from_}{clause} ORDER BY {spec.order}", params


# Decisions reported by the articles of a story, or by articles matching a search.
_DECISION_OF_STORY = ("SELECT r.decision_id FROM decision_reports r JOIN articles a ON a.id = r.article_id "
                      "WHERE a.cluster_id = ?")
_DECISION_OF_MATCH = "SELECT decision_id FROM decision_reports WHERE article_id IN ({match})"


def _conditions(what: str, spec: Export, filters: ExportFilters) -> Iterable[tuple[str, list[Any]]]:
    if spec.decision:
        yield from _decision_conditions(spec, filters)
        return
    if filters.story is not None:
        yield _need(what, "--story", spec.story) + " = ?", [filters.story]
    if filters.match:
        ids = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
        if spec.article:
            yield f"{spec.article} IN ({ids})", [filters.match]
        else:  # stories: those with a matching article
            yield f"{_need(what, '--search', spec.story)} IN ({_STORY_OF_MATCH.format(match=ids)})", [filters.match]
    if filters.since:
        yield _need(what, "--since", spec.since) + " >= ?", [filters.since]


def _decision_conditions(spec: Export, filters: ExportFilters) -> Iterable[tuple[str, list[Any]]]:
    if filters.story is not None:
        yield f"{spec.decision} IN ({_DECISION_OF_STORY})", [filters.story]
    if filters.match:
        ids = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
        yield f"{spec.decision} IN ({_DECISION_OF_MATCH.format(match=ids)})", [filters.match]
    if filters.since:
        yield f"{spec.since} >= ?", [filters.since[:10]]


def _need(what: str, option: str, column: str | None) -> str:
    if column is None:
        raise TrackerError(f"export {what}: {option} does not apply")
    return column


def load_rows(db: Database, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
    """Stream the rows of a query as dicts, without loading them all."""
    return db.query(sql, list(params))


def load_columns(db: Database, sql: str, params: Sequence[Any] = ()) -> list[str]:
    """Column names of a query, without running it over the rows."""
    return [d[0] for d in db.execute(f"SELECT * FROM ({sql}) LIMIT 0", list(params)).description]
