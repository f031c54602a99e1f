"""Datasette plugin: the lens's tags as readable labels that link to their facet, not raw JSON.

In `story_lens` and `article_lens` each kind's column holds a JSON array of labels; each label
becomes a link that filters the same page on it (`?_law=...`), an empty list shows nothing. In `article_tag_list`
and `story_tags` a label links to the rows with that tag. Ids of stories and articles in these views
link to the story page and the article row. Markup is built with escaping: labels come from the
taxonomy, but nothing here trusts a cell.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from datasette import hookimpl
from markupsafe import Markup, escape

# label column -> the lens filter it links to (plugins/tracker_lens_filters.py: an indexed lookup)
ARRAY_COLUMNS = {"regulators": "_regulator", "laws": "_law", "actions": "_action",
                 "jurisdictions": "_jurisdiction", "technologies": "_technology", "companies": "_company"}
ARRAY_VIEWS = {"story_lens", "article_lens"}
LABEL_VIEWS = {"article_tag_list", "story_tags"}
ID_LINKS = {("story_lens", "id"): "story", ("article_lens", "id"): "article",
            ("article_lens", "story_id"): "story", ("article_tag_list", "story_id"): "story",
            ("article_tag_list", "article_id"): "article", ("story_tags", "story_id"): "story",
            ("enforcement", "story_id"): "story", ("enforcement", "article_id"): "article",
            ("decisions", "id"): "decision", ("decisions", "case_id"): "decision",
            ("enforcement", "decision_id"): "decision"}


@hookimpl
def render_cell(value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
    """Links for tag labels and ids in the lens views; None (default rendering) elsewhere."""
    if table in ARRAY_VIEWS and column in ARRAY_COLUMNS and isinstance(value, str):
        return _label_links(datasette.urls.table(database, table), ARRAY_COLUMNS[column], value)
    if table in LABEL_VIEWS and column == "label" and isinstance(value, str):
        return _link(datasette.urls.table(database, table), "label", value)
    kind = ID_LINKS.get((table, column)) if table else None
    if kind and isinstance(value, int) and not isinstance(value, bool):
        href = (f"{datasette.urls.query(database, kind)}?id={value}" if kind in ("story", "decision")
                else datasette.urls.row(database, "articles", str(value)))
        return Markup('<a href="{}">{}</a>').format(escape(href), value)
    return None


def _label_links(base: str, param: str, value: str) -> Any:
    try:
        labels = json.loads(value)
    except json.JSONDecodeError:
        return None
    if not isinstance(labels, list):
        return None
    if not labels:  # an empty cell, not "[]" (an empty string would let Datasette show the raw value)
        return Markup('<span class="tracker-none"></span>')
    return Markup(", ").join(_link(base, param, str(label)) for label in labels)


def _link(base: str, param: str, label: str) -> Markup:
    href = f"{base}?{urllib.parse.urlencode({param: label})}"
    return Markup('<a href="{}">{}</a>').format(escape(href), label)
