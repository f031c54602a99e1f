"""Datasette plugin: the pages analysts read (home, story, search), as templates plus their data.

The templates live in `tracker/datasette/templates/`: `index.html` (the home page) and `query.html`,
which gives the canned queries `story`, `search` and `search_stories` their own page and leaves every
other query to Datasette's default. The canned queries stay the source of the rows (so `.json` and
`.csv` still work); this plugin adds what a page shows beside them (the story's header, its
neighbouring stories, the home page's lists), the SQL function `fts_query` (tracker/search.py) and
the Jinja filters the templates use.
"""

from __future__ import annotations

from typing import Any

from datasette import hookimpl

from tracker.present import fold_duplicates, host_label, http_url, list_text, neighbour_match
from tracker.search import fts_query

STORY_COLUMNS = "id, headline, first_seen, last_seen, n_articles, n_publishers, publishers"
HOME_NEWEST = (f"SELECT {STORY_COLUMNS} FROM clusters WHERE merged_into IS NULL "
               "ORDER BY first_seen DESC, id DESC LIMIT 12")
# Stories ranked by the articles they gained in the 30 days up to the latest publication (not "now":
# an archive or a paused tracker still shows what was moving at its end).
HOME_GROWING = (
    f"SELECT c.id, c.headline, c.first_seen, c.last_seen, c.n_articles, c.n_publishers, "
    "c.publishers, COUNT(*) AS week_articles FROM articles a JOIN clusters c ON c.id = a.cluster_id "
    "WHERE a.published >= (SELECT strftime('%Y-%m-%dT%H:%M:%SZ', MAX(published), '-30 days') "
    "FROM articles WHERE published <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) "
    "AND a.published <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now') AND c.merged_into IS NULL "
    "GROUP BY c.id ORDER BY week_articles DESC, c.last_seen DESC LIMIT 12")
HOME_RUN = ("SELECT id, started_at, ended_at, status, new_stories, grown_stories FROM runs "
            "WHERE status <> 'running' ORDER BY id DESC LIMIT 1")
STORY = f"SELECT {STORY_COLUMNS}, merged_into, created_at, updated_at FROM clusters WHERE id = ?"
NEIGHBOURS = (
    "SELECT c.id, c.headline, c.first_seen, c.last_seen, c.n_articles FROM ("
    "  SELECT a.cluster_id, MIN(f.rank) AS best FROM articles_fts f JOIN articles a ON a.id = f.rowid"
    "  WHERE articles_fts MATCH ? AND a.cluster_id IS NOT NULL AND a.cluster_id <> ?"
    "  GROUP BY a.cluster_id ORDER BY best LIMIT 40"
    ") m JOIN clusters c ON c.id = m.cluster_id WHERE c.merged_into IS NULL ORDER BY m.best LIMIT 6")


@hookimpl
def prepare_connection(conn: Any) -> None:
    """`fts_query(text)`: what an analyst typed as an FTS5 expression ('' for no condition)."""
    conn.create_function("fts_query", 1, fts_query, deterministic=True)


@hookimpl
def prepare_jinja2_environment(env: Any) -> None:
    env.filters["host_label"] = host_label
    env.filters["fold_duplicates"] = fold_duplicates
    env.filters["http_url"] = http_url
    env.filters["list_text"] = list_text


@hookimpl
def extra_template_vars(template: str, database: str | None, request: Any, datasette: Any) -> Any:
    """The home page's lists, and a story page's header and neighbours."""
    if template == "index.html":
        return lambda: _home_vars(datasette)
    if template == "query.html" and request is not None and database:
        if request.url_vars.get("table") == "story" or request.path.endswith("/story"):
            return lambda: _story_vars(datasette, database, request.args.get("id"))
    return {}


def _tracker_database(datasette: Any) -> str | None:
    names = [name for name in datasette.databases if name != "_internal"]
    return names[0] if names else None


async def _rows(datasette: Any, database: str, sql: str, params: list[Any] | None = None) -> list[Any]:
    result = await datasette.get_database(database).execute(sql, params or [])
    return list(result.rows)


async def _home_vars(datasette: Any) -> dict[str, Any]:
    name = _tracker_database(datasette)
    if name is None:
        return {}
    runs = await _rows(datasette, name, HOME_RUN)
    return {"tracker_db": name,
            "tracker_newest": await _rows(datasette, name, HOME_NEWEST),
            "tracker_growing": await _rows(datasette, name, HOME_GROWING),
            "tracker_run": runs[0] if runs else None}


async def _story_vars(datasette: Any, database: str, story_id: str | None) -> dict[str, Any]:
    if not story_id or not story_id.strip().isdigit():
        return {"tracker_story": None}
    found = await _rows(datasette, database, STORY, [int(story_id)])
    if not found:
        return {"tracker_story": None}
    story = found[0]
    match = neighbour_match(story["headline"])
    neighbours = await _rows(datasette, database, NEIGHBOURS, [match, story["id"]]) if match else []
    return {"tracker_story": story, "tracker_neighbours": neighbours}
