"""Datasette plugin: the Atom feed of stories (`/db/story_feed.atom?q=...`).

One entry per story: its headline as title, its page as link, and as content its articles (up to
20, in order of publication) as links with publisher, date and excerpt. The feed's title names the
search. Links are absolute: from the `tracker` plugin setting `base_url` (`tracker serve
--base-url`), else from the request's own scheme and host. A search that matches nothing is a
valid feed with no entries (datasette-atom answered 500 there: `max()` of no rows), so this plugin
replaces it. Text is escaped by ElementTree; scraped markup never reaches the feed as markup.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import escape

from tracker.serve.present import http_url, list_text
from tracker.cleanup import xml_safe

ATOM = "http://www.w3.org/2005/Atom"
# feed query -> the parameter that names what it follows (shown in the feed's title)
FEED_QUERIES = {"story_feed": "q", "tag_feed": "tag", "watch_feed": "watch"}
ARTICLES_PER_ENTRY = 20
TAG = "tag:privacy-news-tracker,2024:story/"


@hookimpl
def register_output_renderer() -> dict[str, Any]:
    return {"extension": "atom", "render": render_atom, "can_render": can_render_atom}


@hookimpl
def startup(datasette: Any) -> None:
    # If datasette-atom is still installed in an old environment, this renderer must win.
    datasette.renderers["atom"] = (render_atom, can_render_atom)


def can_render_atom(query_name: str | None) -> bool:
    return query_name in FEED_QUERIES


async def render_atom(datasette: Any, request: Any, database: str, rows: list[Any],
                      query_name: str | None) -> Response:
    """The feed for the rows of a feed query (story_id, headline, first_seen, last_seen, ...)."""
    if query_name not in FEED_QUERIES:
        return Response.text("no Atom feed for this page", status=400)
    base = _base_url(datasette, request)
    articles = await _articles(datasette, database, [row["story_id"] for row in rows])
    title = _feed_title(datasette, database, query_name, request.args.get(FEED_QUERIES[query_name], ""))
    feed = _feed(title, base + request.full_path, rows)
    for row in rows:
        feed.append(_entry(row, articles.get(row["story_id"], []), base, database, datasette))
    ET.register_namespace("", ATOM)
    body = ET.tostring(feed, encoding="unicode")
    return Response(f'<?xml version="1.0" encoding="utf-8"?>\n{body}', status=200,
                    content_type="application/atom+xml; charset=utf-8")


def _base_url(datasette: Any, request: Any) -> str:
    config = datasette.plugin_config("tracker") or {}
    configured = (config.get("base_url") or "").rstrip("/")
    if configured:
        return configured
    # The address this server listens on, never the request's Host header: a client chooses that,
    # and it became the feed's id and every link in it. Behind a proxy, --base-url sets the name.
    host, port = (request.scope.get("server") or ("127.0.0.1", 8001))[:2]
    host = f"[{host}]" if ":" in str(host) else host
    return f"{request.scheme}://{host}:{port}"


def _feed_title(datasette: Any, database: str, query_name: str, q: str) -> str:
    queries = datasette.metadata("queries", database=database) or {}
    name = (queries.get(query_name) or {}).get("title") or query_name
    return f"{name}: {q.strip()}" if q.strip() else f"{name}: every story"


def _feed(title: str, self_url: str, rows: list[Any]) -> ET.Element:
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", title)
    _text(feed, "id", self_url)
    ET.SubElement(feed, f"{{{ATOM}}}link", href=self_url, rel="self")
    times = [_updated(row) for row in rows]
    _text(feed, "updated", max(times) if times else _now())
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "Privacy-regulation news tracker")
    return feed


def _entry(row: Any, articles: list[Any], base: str, database: str, datasette: Any) -> ET.Element:
    entry = ET.Element(f"{{{ATOM}}}entry")
    _text(entry, "id", f"{TAG}{row['story_id']}")
    _text(entry, "title", row["headline"] or f"Story {row['story_id']}")
    _text(entry, "updated", _updated(row))
    if row["first_seen"]:
        _text(entry, "published", row["first_seen"])
    link = f"{base}{datasette.urls.database(database)}/story?id={row['story_id']}"
    ET.SubElement(entry, f"{{{ATOM}}}link", href=link, rel="alternate")
    _text(entry, "summary", _summary(row))
    content = _text(entry, "content", _content_html(row, articles))
    content.set("type", "html")
    return entry


def _summary(row: Any) -> str:
    n, p = row["n_articles"] or 0, row["n_publishers"] or 0
    summary = (f"{n} article{'' if n == 1 else 's'} from {p} publisher{'' if p == 1 else 's'}, "
               f"first published {row['first_seen'] or '?'}")
    outlets = list_text(row["publishers"])
    return f"{summary}: {outlets}" if outlets else summary


def _content_html(row: Any, articles: list[Any]) -> str:
    items = []
    for a in articles:
        title = escape(a["title"] or a["url"])
        url = http_url(a["url"])
        head = f'<a href="{escape(url)}">{title}</a>' if url else str(title)
        meta = escape(" · ".join(x for x in (a["publisher"], (a["published"] or "")[:10]) if x))
        excerpt = f"<br>{escape(a['excerpt'][:400])}" if a["excerpt"] else ""
        items.append(f"<li>{head} ({meta}){excerpt}</li>")
    more = row["n_articles"] - len(articles) if row["n_articles"] else 0
    tail = f"<p>and {more} more</p>" if more > 0 else ""
    return f"<p>{escape(_summary(row))}</p>{_added_html(row, articles)}<ul>{''.join(items)}</ul>{tail}"


def _added_html(row: Any, articles: list[Any]) -> str:
    """A watch's entry names the articles its latest change brought (`added`, JSON ids)."""
    if "added" not in row.keys() or not row["added"]:
        return ""
    added = set(json.loads(row["added"]))
    titles = [escape(a["title"] or a["url"]) for a in articles if a["id"] in added]
    more = len(added) - len(titles)
    names = "; ".join(str(t) for t in titles) + (f" and {more} more" if more > 0 else "")
    return f"<p>Added: {names}</p>" if names else ""


async def _articles(datasette: Any, database: str, story_ids: list[int]) -> dict[int, list[Any]]:
    if not story_ids:
        return {}
    marks = ",".join("?" * len(story_ids))
    sql = (f"SELECT id, cluster_id, title, url, publisher, published, excerpt FROM ("
           f"SELECT *, row_number() OVER (PARTITION BY cluster_id ORDER BY published, id) AS k "
           f"FROM articles WHERE cluster_id IN ({marks})) WHERE k <= {ARTICLES_PER_ENTRY} "
           f"ORDER BY cluster_id, k")
    result = await datasette.get_database(database).execute(sql, story_ids)
    grouped: dict[int, list[Any]] = {}
    for row in result.rows:
        grouped.setdefault(row["cluster_id"], []).append(row)
    return grouped


def _updated(row: Any) -> str:
    """When the story last changed for a reader: its latest article's publication (it moves when
    the story grows), not when the tracker happened to see it."""
    return row["last_seen"] or row["first_seen"] or row["updated_at"] or "1970-01-01T00:00:00Z"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    child.text = xml_safe(text)  # a stored control character would make the feed not well-formed
    return child

