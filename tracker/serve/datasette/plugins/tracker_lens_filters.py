"""Datasette plugin: the lens pages' filters and facets, answered from indexes at any size.

On `story_lens` and `article_lens` a request may carry, combined at will and kept in the URL:

- `_regulator=`, `_law=`, `_action=`, `_jurisdiction=`, `_technology=`, `_company=`: a taxonomy
  id (`ico`, `gdpr`) or its label; repeated, every one must hold;
- `_outlet=` a publisher name; `_since=` / `_until=` dates (YYYY-MM-DD, inclusive);
- `_min_relevance=` a number in [0, 1];
- `_q=` words as on the search pages (or a taxonomy name: "BIPA").

The lens pages show them as a filter bar (templates/table.html), its lists of names with counts.

The tags become one `id IN (SELECT ... WHERE tag IN (...) GROUP BY ... HAVING ...)` over
`story_tag_links` or `article_tags` (both indexed on tag), never a scan of JSON arrays.
`?_facet_tag=law` counts the stories (or articles) of the filtered rows per law, from the same
link tables; unfiltered, from `lens_tags`, the counts the tag and cluster stages store.
Datasette's own `_facet_array` over the label columns still works, but reads every row's JSON:
the lens pages link here instead.
"""

from __future__ import annotations

import re
from typing import Any

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.facets import Facet
from datasette.filters import FilterArguments
from datasette.utils import path_with_added_args, path_with_removed_args
from datasette.utils.asgi import BadRequest

from tracker.serve.search import fts_query

KINDS = ("regulator", "law", "action", "jurisdiction", "technology", "company")
# Per page: the clause for "carries tag :p", "from outlet :p", the date column(s), and the facet's
# link table with its row id column.
# Every tag asked for in one clause: the rows carrying all of them, read from the tag index once
# (one `IN` per tag made SQLite walk the first tag's rows, probing each against the others).
TAG_CLAUSE = {"story_lens": "id IN (SELECT story_id FROM story_tag_links WHERE tag IN ({marks}) "
                            "GROUP BY story_id HAVING COUNT(DISTINCT tag) = {n})",
              "article_lens": "id IN (SELECT article_id FROM article_tags WHERE tag IN ({marks}) "
                              "GROUP BY article_id HAVING COUNT(DISTINCT tag) = {n})"}
OUTLET_CLAUSE = {"story_lens": "id IN (SELECT cluster_id FROM articles WHERE publisher = :{p})",
                 "article_lens": "publisher = :{p}"}
SINCE_CLAUSE = {"story_lens": "last_seen >= :{p}", "article_lens": "published >= :{p}"}
UNTIL_CLAUSE = {"story_lens": "first_seen < date(:{p}, '+1 day')",
                "article_lens": "published < date(:{p}, '+1 day')"}
FACET_LINKS = {"story_lens": ("story_tag_links", "story_id", "stories"),
               "article_lens": ("article_tags", "article_id", "articles")}
RESOLVE = ("SELECT tag, label FROM lens_tags WHERE kind = :kind AND (tag = lower(:value) OR label = :value) "
           "ORDER BY tag = lower(:value) DESC LIMIT 1")
# `_q=`: the search pages' words (tracker/serve/search.py) among the 5,000 most recently found
# text matches, or a taxonomy name ("BIPA") for the articles tagged with it.
MATCHES = ("SELECT rowid FROM articles_fts WHERE articles_fts MATCH :lens_q ORDER BY rowid DESC LIMIT 5000")
NAMED = "SELECT article_id FROM article_tags WHERE tag IN (SELECT tag FROM lens_names WHERE name = lower(:lens_name))"
SEARCH_CLAUSE = {"story_lens": f"id IN (SELECT cluster_id FROM articles WHERE id IN ({MATCHES}) OR id IN ({NAMED}))",
                 "article_lens": f"(id IN ({MATCHES}) OR id IN ({NAMED}))"}
# The filter bar's lists: every tag in use, by kind, most used first.
OPTIONS = "SELECT kind, tag, label, stories, articles FROM lens_tags ORDER BY kind, stories DESC, label"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@hookimpl
def filters_from_request(request: Any, database: str, table: str, datasette: Any) -> Any:
    if table not in TAG_CLAUSE:
        return None

    async def inner() -> FilterArguments:
        clauses: list[str] = []
        params: dict[str, Any] = {}
        described: list[str] = []
        tags: list[str] = []
        for kind in KINDS:
            for value in _values(request, f"_{kind}"):
                tag, label = await resolve_tag(datasette, database, kind, value)
                tags.append(tag)
                described.append(f"{kind}: {label}")
        tags = list(dict.fromkeys(tags))
        if tags:
            params.update({f"lens_tag_{i}": tag for i, tag in enumerate(tags)})
            marks = ", ".join(f":lens_tag_{i}" for i in range(len(tags)))
            clauses.append(TAG_CLAUSE[table].format(marks=marks, n=len(tags)))
        _other_filters(request, table, clauses, params, described)
        return FilterArguments(clauses, params, described)

    return inner


def _values(request: Any, name: str) -> list[str]:
    return [v.strip() for v in request.args.getlist(name) if v.strip()]


def _other_filters(request: Any, table: str, clauses: list[str], params: dict[str, Any],
                   described: list[str]) -> None:
    """Search words, outlet, date range and relevance threshold; a malformed value is a 400 naming it."""
    for text in _values(request, "_q")[:1]:
        if fts_query(text):
            params.update(lens_q=fts_query(text), lens_name=text.strip(' "'))
            clauses.append(SEARCH_CLAUSE[table])
            described.append(f"matching {text}")
    for i, outlet in enumerate(_values(request, "_outlet")):
        params[f"lens_outlet_{i}"] = outlet
        clauses.append(OUTLET_CLAUSE[table].format(p=f"lens_outlet_{i}"))
        described.append(f"outlet: {outlet}")
    for name, templates, words in (("_since", SINCE_CLAUSE, "from"), ("_until", UNTIL_CLAUSE, "until")):
        for value in _values(request, name)[:1]:
            if not _DATE.fullmatch(value):
                raise BadRequest(f"{name}={value!r}: expected a date YYYY-MM-DD")
            params[f"lens{name}"] = value
            clauses.append(templates[table].format(p=f"lens{name}"))
            described.append(f"{words} {value}")
    for value in _values(request, "_min_relevance")[:1]:
        try:
            threshold = float(value)
        except ValueError:
            raise BadRequest(f"_min_relevance={value!r}: expected a number between 0 and 1") from None
        params["lens_min_relevance"] = threshold
        clauses.append("relevance >= :lens_min_relevance")
        described.append(f"relevance at least {threshold:g}")


async def resolve_tag(datasette: Any, database: str, kind: str, value: str) -> tuple[str, str]:
    """(tag id, label) for an id or label of this kind; unknown values stay as typed (no rows)."""
    rows = (await datasette.get_database(database).execute(RESOLVE, {"kind": kind, "value": value})).rows
    return (rows[0]["tag"], rows[0]["label"]) if rows else (value.lower(), f"{value} (unknown)")


@hookimpl
def extra_template_vars(template: str, database: str | None, table: str | None, request: Any,
                        datasette: Any) -> Any:
    """The filter bar's lists and current values on the lens pages."""
    if not template.startswith("table") or table not in TAG_CLAUSE or not database or request is None:
        return {}

    async def bar() -> dict[str, Any]:
        rows = (await datasette.get_database(database).execute(OPTIONS)).rows
        count = "stories" if table == "story_lens" else "articles"
        options = {kind: [(r["tag"], r["label"], r[count]) for r in rows if r["kind"] == kind and r[count]]
                   for kind in KINDS}
        chosen = {name: request.args.get(f"_{name}", "") for name in
                  (*KINDS, "q", "outlet", "since", "until", "min_relevance")}
        return {"lens_bar": {"options": options, "chosen": chosen, "count": count}}

    return bar


@hookimpl
def register_facet_classes() -> list[type]:
    return [TagFacet]


class TagFacet(Facet):  # type: ignore[misc]
    """`?_facet_tag=KIND`: the filtered rows counted per tag of one kind, names shown, ids in links."""

    type = "tag"

    async def suggest(self) -> list[Any]:
        return []

    async def facet_results(self) -> tuple[list[dict[str, Any]], list[str]]:
        results: list[dict[str, Any]] = []
        timed_out: list[str] = []
        if self.table not in FACET_LINKS:
            return results, timed_out
        size = self.get_facet_size()
        for config in self.get_configs():
            kind = config["config"].get("simple")
            if kind not in KINDS:
                continue
            sql, params = self._sql(kind, size + 1)
            try:
                rows = (await self.ds.execute(self.database, sql, params, truncate=False,
                                              custom_time_limit=self.ds.setting("facet_time_limit_ms"))).rows
            except QueryInterrupted:
                timed_out.append(kind)
                continue
            results.append(self._result(kind, config["source"], rows, size))
        return results, timed_out

    def _sql(self, kind: str, limit: int) -> tuple[str, dict[str, Any]]:
        """Counts from the stored per-tag totals when nothing is filtered, else from the links."""
        links, key, total = FACET_LINKS[str(self.table)]
        if not re.search(r"\swhere\s", self.sql, re.IGNORECASE):
            return (f"SELECT tag, label, {total} AS count FROM lens_tags WHERE kind = :lens_kind "
                    f"AND {total} > 0 ORDER BY count DESC, label LIMIT {limit}", {"lens_kind": kind})
        # CROSS JOIN: from the filtered rows to their tags of the kind (a covering index), never
        # from every tag of the kind to the filtered rows (SQLite's choice otherwise: 1 s at 1M).
        sql = (f"SELECT l.tag, MIN(l.label) AS label, COUNT(*) AS count FROM (SELECT id FROM ({self.sql})) f "
               f"CROSS JOIN {links} l ON l.{key} = f.id AND l.kind = :lens_kind "
               f"GROUP BY l.tag ORDER BY count DESC, label LIMIT {limit}")
        return sql, {**dict(self.params), "lens_kind": kind}

    def _result(self, kind: str, source: str, rows: list[Any], size: int) -> dict[str, Any]:
        pairs = self.get_querystring_pairs()
        values = []
        for row in rows[:size]:
            arg = {f"_{kind}": row["tag"]}
            selected = (f"_{kind}", row["tag"]) in pairs
            path = (path_with_removed_args(self.request, arg) if selected
                    else path_with_added_args(self.request, arg))
            values.append({"value": row["tag"], "label": row["label"], "count": row["count"],
                           "toggle_url": self.ds.absolute_url(self.request, path), "selected": selected})
        return {"name": kind, "type": self.type, "results": values, "hideable": source != "metadata",
                "toggle_url": self.ds.urls.path(path_with_removed_args(self.request, {"_facet_tag": kind})),
                "truncated": len(rows) > size}
