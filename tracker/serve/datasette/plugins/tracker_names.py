"""Datasette plugin: names where a person reads, not ids.

- The taxonomy ids in `fines` (`ico`, `clearview-ai`, `uk-gdpr`) show their labels (from
  `lens_tags`), the id kept in a tooltip.
- Amounts show thousands separators and their currency (`14,542,040.24 GBP`, `… EUR`).
- Story headlines link to the story page, article titles (where the view has the article's id)
  to the article, in the tables and views that had only the id as a link.
- A story's CSV download is named after it: `story-42-ico-fines-clearview-ai.csv`, not `story.csv`.

Markup is built from escaped text only (titles are scraped).
"""

from __future__ import annotations

import re
from typing import Any, Callable
from urllib.parse import parse_qs

from datasette import hookimpl
from markupsafe import Markup, escape

from tracker.serve.present import download_name, money

# (table or view, column) -> the column holding the story id its text names; a table of None is any
# canned or arbitrary query (Datasette names no table for them) with that column
HEADLINES: dict[tuple[str | None, str], str] = {("stories", "headline"): "id", ("story_lens", "headline"): "id",
             ("story_tags", "headline"): "story_id", ("enforcement", "story_headline"): "story_id",
             ("story_articles", "story_headline"): "story_id", (None, "headline"): "story_id"}
TITLES: dict[tuple[str | None, str], str] = {
    ("article_lens", "title"): "id", ("article_tag_list", "title"): "article_id",
    ("story_articles", "title"): "article_id"}
TAG_COLUMNS = {("fines", "regulator"), ("fines", "company"), ("fines", "law")}
AMOUNTS = {"amount": "currency", "amount_eur": "EUR", "total_eur": "EUR", "largest_eur": "EUR"}
LABEL = "SELECT label FROM lens_tags WHERE tag = ?"
_STORY_CSV = re.compile(r"/([^/]+)/story\.csv$")


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
    """Labels, amounts and links as above; None (the next plugin or the default) elsewhere."""
    key = (table, column)
    if table is None and key not in HEADLINES:
        key = (None, column)
    if key in HEADLINES or key in TITLES:
        return _title_link(row, value, key, database, datasette)
    if key in TAG_COLUMNS and isinstance(value, str) and value:
        return _tag_label(datasette, database, value)
    if column in AMOUNTS:
        currency: Any = AMOUNTS[column]
        if currency == "currency":
            currency = row["currency"] if "currency" in row.keys() else None
        return money(value, currency)
    return None


def _title_link(row: Any, value: Any, key: tuple[str | None, str], database: str, datasette: Any) -> Any:
    ident_column = HEADLINES.get(key) or TITLES[key]
    ident = row[ident_column] if ident_column in row.keys() else None
    if not isinstance(value, str) or not value or not isinstance(ident, int):
        return None
    if key in HEADLINES:
        href = f"{datasette.urls.query(database, 'story')}?id={ident}"
    else:
        href = datasette.urls.row(database, "articles", str(ident))
    return Markup('<a href="{}">{}</a>').format(escape(href), value)


def _tag_label(datasette: Any, database: str, tag: str) -> Any:
    async def label() -> Any:
        rows = (await datasette.get_database(database).execute(LABEL, [tag])).rows
        if not rows:
            return None
        return Markup('<span title="{}">{}</span>').format(tag, rows[0]["label"])

    return label


@hookimpl
def asgi_wrapper(datasette: Any) -> Callable[[Any], Any]:
    def wrap(app: Any) -> Any:
        async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
            found = _STORY_CSV.search(scope.get("path", "")) if scope.get("type") == "http" else None
            if found is None:
                await app(scope, receive, send)
                return
            name = await _story_csv_name(datasette, found.group(1), scope)
            await app(scope, receive, _renaming(send, name) if name else send)

        return wrapped

    return wrap


async def _story_csv_name(datasette: Any, database: str, scope: dict[str, Any]) -> str | None:
    story = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("id", [""])[0].strip()
    if not story.isdigit() or database not in datasette.databases:
        return None
    rows = (await datasette.get_database(database).execute(
        "SELECT headline FROM clusters WHERE id = ?", [int(story)])).rows
    return download_name("story", int(story), rows[0]["headline"] if rows else None)


def _renaming(send: Any, name: str) -> Any:
    async def renamed(message: dict[str, Any]) -> None:
        if message.get("type") == "http.response.start":
            headers = [(k, f'attachment; filename="{name}"'.encode("latin-1"))
                       if k.lower() == b"content-disposition" else (k, v) for k, v in message["headers"]]
            message = {**message, "headers": headers}
        await send(message)

    return renamed
