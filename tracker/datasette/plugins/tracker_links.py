"""Datasette plugin: link story and article ids in the tracker's views and canned queries.

Tables get links from their foreign keys; views and queries have none, so their `story_id` and
`article_id` cells (and the stories view's `id`) become links to the story page and the article row.
Only integers are linked, and the markup is built from them alone: scraped text never reaches it.
"""

from __future__ import annotations

from typing import Any

from datasette import hookimpl
from markupsafe import Markup, escape

# (view, column) -> what the id names; a view of None means any canned or arbitrary SQL query.
LINKED: dict[tuple[str | None, str], str] = {
    ("stories", "id"): "story",
    ("story_articles", "story_id"): "story",
    ("story_articles", "article_id"): "article",
    ("recent_edits", "article_id"): "article",
    ("fetch_problems", "article_id"): "article",
    (None, "story_id"): "story",
    (None, "article_id"): "article",
}


@hookimpl
def render_cell(value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
    """A link for the id columns listed in LINKED; None (default rendering) for everything else."""
    kind = LINKED.get((table, column))
    if kind is None or isinstance(value, bool) or not isinstance(value, int):
        return None
    if kind == "story":
        href = f"{datasette.urls.query(database, 'story')}?id={value}"
    else:
        href = datasette.urls.row(database, "articles", str(value))
    return Markup('<a href="{}">{}</a>').format(escape(href), value)
