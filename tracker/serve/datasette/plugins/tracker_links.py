"""Datasette plugin: how the tracker's cells read, in tables, views and canned queries.

- Story and article ids become links (views and queries have no foreign keys; `articles.cluster_id`
  goes to the story page, not to a bare `clusters` row).
- JSON lists (`publishers`, `topics`) read as `a; b; c`, each publisher a link to its stories.
- Hosts show their ASCII (punycode) form, the Unicode form beside it, so that a look-alike domain
  cannot pass for another (tracker/serve/present.py).
Markup is built from integers or escaped text only: scraped text never reaches it raw.

The story and search pages (OWN_PAGES) are templates of their own that show the query's rows; for
them Datasette still builds a display copy of every cell through every render_cell plugin, which
the page never shows (a third of a 200-story search page's time at a million articles). An ASGI
wrapper marks such a request, and render_cell then answers at once.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Callable
from urllib.parse import quote_plus

from datasette import hookimpl
from markupsafe import Markup, escape

from tracker.serve.present import ascii_url, host_label, is_idn_url, json_list

# (table or view, column) -> what the id names; a table of None means any canned or arbitrary query.
LINKED: dict[tuple[str | None, str], str] = {
    ("stories", "id"): "story",
    ("new_stories", "id"): "story",
    ("story_articles", "story_id"): "story",
    ("story_articles", "article_id"): "article",
    ("articles", "cluster_id"): "story",
    ("recent_edits", "article_id"): "article",
    ("fetch_problems", "article_id"): "article",
    (None, "story_id"): "story",
    (None, "article_id"): "article",
}
LIST_COLUMNS = frozenset({"publishers", "topics"})
HOST_COLUMNS = frozenset({"publisher_domain", "host"})
URL_COLUMNS = frozenset({"url", "final_url", "merged_url"})


RUN_COUNTS = frozenset({"new_stories", "grown_stories"})
# Canned queries whose HTML page is a template of ours (templates/query.html) that never shows cells.
OWN_PAGES = frozenset({"story", "search", "search_stories", "attention"})
_on_own_page: ContextVar[bool] = ContextVar("tracker_on_own_page", default=False)


@hookimpl
def asgi_wrapper() -> Callable[[Any], Any]:
    return _wrap


def _wrap(app: Any) -> Any:
    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or not is_own_page(scope.get("path", "")):
            await app(scope, receive, send)
            return
        token = _on_own_page.set(True)
        try:
            await app(scope, receive, send)
        finally:
            _on_own_page.reset(token)

    return wrapped


def is_own_page(path: str) -> bool:
    """True for the HTML page of a canned query in OWN_PAGES (`/DB/search_stories`, not `.json`)."""
    parts = path.strip("/").split("/")
    return len(parts) == 2 and parts[1] in OWN_PAGES


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: str | None, database: str,
                datasette: Any) -> Any:
    """Links, lists and hosts as described above; None (default rendering) for everything else."""
    if _on_own_page.get():
        return ""  # the page's template shows the rows, not these cells
    if table == "runs" and column in RUN_COUNTS and isinstance(value, int) and value:
        href = f"{datasette.urls.query(database, 'new_stories')}?run={int(row['id'])}"
        return Markup('<a href="{}">{}</a>').format(href, value)
    kind = LINKED.get((table, column)) or LINKED.get((None, column))
    label = None
    if isinstance(value, dict) and "value" in value:  # a foreign key Datasette expanded to its label
        value, label = value["value"], value.get("label")
    if kind is not None and isinstance(value, int) and not isinstance(value, bool):
        return _id_link(kind, value, label, database, datasette)
    if column in LIST_COLUMNS:
        return _list_cell(column, value, database, datasette)
    if column in HOST_COLUMNS and isinstance(value, str) and value:
        label = host_label(value)
        return None if label == value else label
    if column in URL_COLUMNS and is_idn_url(value):
        real = ascii_url(value)
        return Markup('<a href="{}">{}</a> (shown by browsers as {})').format(real, real, value)
    return None


def _id_link(kind: str, value: int, label: Any, database: str, datasette: Any) -> Markup:
    if kind == "story":
        href = f"{datasette.urls.query(database, 'story')}?id={value}"
    else:
        href = datasette.urls.row(database, "articles", str(value))
    if label and label != value:
        return Markup('<a href="{}">{}</a> <em>{}</em>').format(escape(href), label, value)
    return Markup('<a href="{}">{}</a>').format(escape(href), value)


def _list_cell(column: str, value: Any, database: str, datasette: Any) -> Any:
    items = json_list(value)
    if items is None:
        return None
    if not items:  # an empty cell, not "[]" (an empty string would let Datasette show the raw value)
        return Markup('<span class="tracker-none"></span>')
    if column != "publishers":
        return "; ".join(items)
    base = datasette.urls.query(database, "stories_by_publisher")
    links = [Markup('<a href="{}?publisher={}">{}</a>').format(base, quote_plus(name), name)
             for name in items]
    return Markup("; ").join(links)

