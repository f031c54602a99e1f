"""Datasette plugin: the pages analysts read (home, story, search), as templates plus their data.

The templates live in `tracker/serve/datasette/templates/`: `index.html` (the home page) and `query.html`,
which gives the canned queries `story`, `search` and `search_stories` their own page and leaves every
other query to Datasette's default. The canned queries stay the source of the rows (so `.json` and
`.csv` still work); this plugin adds what a page shows beside them (the story's header, its
neighbouring stories, the home page's lists), the SQL function `fts_query` (tracker/serve/search.py) and
the Jinja filters the templates use.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from datasette import hookimpl
from datasette.database import QueryInterrupted

from tracker.serve.present import fold_duplicates, host_label, http_url, list_text, neighbour_terms
from tracker.serve.search import fts_query, search_problem

logger = logging.getLogger(__name__)

STORY_COLUMNS = "id, headline, first_seen, last_seen, n_articles, n_publishers, publishers"
# The beat filter: a story all of whose articles are discovered and off the beat (articles.off_beat,
# tracker/discover/) is left out unless the page asks for everything (?all=1).
ON_BEAT = ("(:all OR EXISTS (SELECT 1 FROM articles b WHERE b.cluster_id = {story} "
           "AND b.off_beat IS NOT 1))")
HOME_NEWEST = (f"SELECT {STORY_COLUMNS} FROM clusters WHERE merged_into IS NULL "
               f"AND {ON_BEAT.format(story='clusters.id')} ORDER BY first_seen DESC, id DESC LIMIT 12")
# Stories ranked by the articles they gained in the 30 days up to the latest publication (not "now":
# an archive or a paused tracker still shows what was moving at its end).
HOME_GROWING = (
    "SELECT c.id, c.headline, c.first_seen, c.last_seen, c.n_articles, c.n_publishers, c.publishers, "
    "g.week_articles FROM (SELECT cluster_id, COUNT(*) AS week_articles FROM articles "
    "WHERE published >= (SELECT strftime('%Y-%m-%dT%H:%M:%SZ', MAX(published), '-30 days') "
    "FROM articles WHERE published <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) "
    "AND published <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now') AND cluster_id IS NOT NULL "
    "GROUP BY cluster_id ORDER BY week_articles DESC LIMIT 50) g "
    f"JOIN clusters c ON c.id = g.cluster_id WHERE c.merged_into IS NULL AND {ON_BEAT.format(story='c.id')} "
    "ORDER BY g.week_articles DESC, c.last_seen DESC LIMIT 12")
HOME_RUN = ("SELECT id, started_at, ended_at, status, new_stories, grown_stories FROM runs "
            "WHERE status <> 'running' ORDER BY id DESC LIMIT 1")
STORY = f"SELECT {STORY_COLUMNS}, merged_into, created_at, updated_at FROM clusters WHERE id = ?"
# Neighbours: stories first published within two weeks of this one whose headlines contain at
# least two of its distinctive words (one shared word, "apologizes" or "president", is seldom the
# same subject), most shared first. An index range scored in SQL, so the cost stays flat as the
# database grows. {shared} is a sum of instr() tests, one per word.
NEIGHBOURS = (
    "SELECT id, headline, first_seen, last_seen, n_articles, {shared} AS shared FROM clusters "
    "WHERE merged_into IS NULL AND first_seen BETWEEN strftime('%Y-%m-%dT%H:%M:%SZ', :at, '-14 days') "
    "AND strftime('%Y-%m-%dT%H:%M:%SZ', :at, '+14 days') AND id <> :story AND shared >= 2 "
    "ORDER BY shared DESC, abs(julianday(first_seen) - julianday(:at)), id LIMIT 6")
# The story through the privacy lens: its tags (with how many of its articles carry each), its
# relevance (its best article's) and the amounts its articles report.
STORY_TAGS = ("SELECT t.kind, t.tag, t.label, COUNT(*) AS articles FROM article_tags t "
              "JOIN articles a ON a.id = t.article_id WHERE a.cluster_id = ? "
              "GROUP BY t.kind, t.tag ORDER BY articles DESC, t.label")
STORY_RELEVANCE = "SELECT MAX(relevance) AS relevance FROM articles WHERE cluster_id = ?"
# The decisions its articles report (the enforcement record): one line per decision, however many
# articles report it and in whatever rounding or currency.
STORY_FINES = ("SELECT d.id AS decision_id, d.decided AS date, d.authority_label AS regulator, "
               "d.target_label AS company, json_extract(d.law_labels, '$[0]') AS law, d.kind, d.amount, "
               "d.currency, d.amount_eur FROM decisions d WHERE d.id IN (SELECT r.decision_id FROM "
               "decision_reports r JOIN articles a ON a.id = r.article_id WHERE a.cluster_id = ?) "
               "ORDER BY d.decided, d.id")
# How the story page names each kind of tag, in the order it lists them.
TAG_KINDS = (("regulator", "Regulators"), ("law", "Laws"), ("action", "Actions"),
             ("jurisdiction", "Jurisdictions"), ("company", "Companies and agencies"),
             ("technology", "Technologies"))
# What the page adds beside its rows may take this long; past it the page shows without it.
EXTRA_TIME_LIMIT_MS = 500


@hookimpl
def prepare_connection(conn: Any) -> None:
    """`fts_query(text)`: what an analyst typed as an FTS5 expression ('' for no condition);
    `search_problem(text)`: what of it the search left out (NULL when nothing)."""
    conn.create_function("fts_query", 1, fts_query, deterministic=True)
    conn.create_function("search_problem", 1, search_problem, deterministic=True)


@hookimpl
def prepare_jinja2_environment(env: Any) -> None:
    env.filters["host_label"] = host_label
    env.filters["fold_duplicates"] = fold_duplicates
    env.filters["http_url"] = http_url
    env.filters["list_text"] = list_text
    env.filters["search_problem"] = search_problem


@hookimpl
def extra_template_vars(template: str, database: str | None, request: Any, datasette: Any) -> Any:
    """The home page's lists, and a story page's header and neighbours."""
    if template == "index.html":
        return lambda: _home_vars(datasette, request is not None and request.args.get("all") == "1")
    if template == "query.html" and request is not None and database:
        if request.url_vars.get("table") == "story" or request.path.endswith("/story"):
            return lambda: _story_vars(datasette, database, request.args.get("id"))
    return {}


def _tracker_database(datasette: Any) -> str | None:
    names = [name for name in datasette.databases if name != "_internal"]
    return names[0] if names else None


async def _rows(datasette: Any, database: str, sql: str, params: Any = None) -> list[Any]:
    """Rows of a query for what a page shows beside its own rows: none if it fails or is too slow
    (a missing extra must not take the page down)."""
    try:
        result = await datasette.get_database(database).execute(
            sql, params or [], custom_time_limit=EXTRA_TIME_LIMIT_MS, log_sql_errors=False)
    except (QueryInterrupted, sqlite3.DatabaseError) as exc:
        logger.warning("page extra skipped (%s): %s", exc, sql[:80])
        return []
    return list(result.rows)


async def _home_vars(datasette: Any, everything: bool = False) -> dict[str, Any]:
    name = _tracker_database(datasette)
    if name is None:
        return {}
    runs = await _rows(datasette, name, HOME_RUN)
    beat = {"all": int(everything)}
    return {"tracker_db": name, "tracker_all": everything,
            "tracker_newest": await _rows(datasette, name, HOME_NEWEST, beat),
            "tracker_growing": await _rows(datasette, name, HOME_GROWING, beat),
            "tracker_run": runs[0] if runs else None}


async def _story_vars(datasette: Any, database: str, story_id: str | None) -> dict[str, Any]:
    if not story_id or not story_id.strip().isdigit():
        return {"tracker_story": None}
    found = await _rows(datasette, database, STORY, [int(story_id)])
    if not found:
        return {"tracker_story": None}
    story = found[0]
    terms = neighbour_terms(story["headline"])
    neighbours: list[Any] = []
    if story["first_seen"] and len(terms) >= 2:
        shared = " + ".join(f"(instr(lower(headline), :w{i}) > 0)" for i in range(len(terms)))
        params = {"at": story["first_seen"], "story": story["id"],
                  **{f"w{i}": term for i, term in enumerate(terms)}}
        neighbours = await _rows(datasette, database, NEIGHBOURS.format(shared=shared), params)
    return {"tracker_story": story, "tracker_neighbours": neighbours,
            **await _story_lens(datasette, database, story["id"])}


async def _story_lens(datasette: Any, database: str, story_id: int) -> dict[str, Any]:
    """The story's tags grouped by kind (in TAG_KINDS order), relevance and reported amounts."""
    tags = await _rows(datasette, database, STORY_TAGS, [story_id])
    grouped = [(name, [t for t in tags if t["kind"] == kind]) for kind, name in TAG_KINDS]
    relevance = await _rows(datasette, database, STORY_RELEVANCE, [story_id])
    return {"tracker_story_tags": [(name, group) for name, group in grouped if group],
            "tracker_story_relevance": relevance[0]["relevance"] if relevance else None,
            "tracker_story_fines": await _rows(datasette, database, STORY_FINES, [story_id])}
