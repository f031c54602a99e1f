"""RSS, Atom and RDF feeds: bytes in, the items out. The one home of feedparser.

feedparser (rather than fastfeedparser or our own XML walk) because it has parsed the broken feeds
of real sites for twenty years: undeclared encodings, unescaped HTML, a dozen date formats, a
lenient fallback parser for XML that is not well-formed. What it must not be given is a document
that declares entities (expanded, a few hundred bytes become gigabytes): refused before parsing.
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any
from urllib.parse import urljoin

import feedparser

from tracker.discover.items import FoundItem, item_date
from tracker.errors import SourceError
from tracker.cleanup import clean_text

logger = logging.getLogger(__name__)

# Where an XML document's DTD may declare entities: the prolog, before the root element.
PROLOG_BYTES = 65536
_ITEM_START = re.compile(rb"<(?:item|entry)[\s>/]")
# The end tags that close a feed cut short before an item, by root element.
_CLOSE = ((b"<feed", b"</feed>"), (b"<rdf:RDF", b"</rdf:RDF>"), (b"<rss", b"</channel></rss>"))


def refuse_entities(body: bytes, url: str) -> None:
    """SourceError if the document declares entities (billion laughs, external entities)."""
    if b"<!ENTITY" in body[:PROLOG_BYTES]:
        raise SourceError(f"{url}: declares XML entities (entity expansion refused): not parsed")


def parse_feed(body: bytes, url: str, content_type: str | None = None,
               max_items: int = 0) -> tuple[list[FoundItem], list[str]]:
    """The items of a feed, newest first as the feed lists them, and problems worth recording
    (XML the lenient parser had to repair, items past `max_items` left unread). SourceError when
    it is not a feed at all."""
    refuse_entities(body, url)
    body, cut = _first_items(body, max_items)
    parsed = feedparser.parse(io.BytesIO(body), response_headers=_headers(url, content_type),
                              sanitize_html=False, resolve_relative_uris=False)
    if not parsed.get("version"):  # HTML, JSON, an error page: nothing feedparser knows
        raise SourceError(f"{url}: not a feed ({_why(parsed, content_type)})")
    items = [item for entry in parsed.entries if (item := _item(entry, url))]
    problems = [cut] if cut else []
    if parsed.get("bozo") and _is_syntax_error(parsed.get("bozo_exception")):
        problems.append(f"malformed XML ({parsed.bozo_exception}); {len(items)} items recovered")
    return items, problems


def _first_items(body: bytes, max_items: int) -> tuple[bytes, str | None]:
    """The feed cut before its (max_items + 1)th item and closed again, so that a feed of 100,000
    items costs the parsing of `max_items` (feedparser takes ~0.1 ms an item); and the note."""
    if not max_items:
        return body, None
    starts = [m.start() for m, _ in zip(_ITEM_START.finditer(body), range(max_items + 1))]
    if len(starts) <= max_items:
        return body, None
    total = len(starts) + sum(1 for _ in _ITEM_START.finditer(body, starts[-1] + 1))
    head = body[:PROLOG_BYTES]
    close = next((end for root, end in _CLOSE if root in head), b"</channel></rss>")
    return (body[:starts[-1]] + close,
            f"{total} items, only the first {max_items} read (TRACKER_SOURCE_MAX_ITEMS)")


def _headers(url: str, content_type: str | None) -> dict[str, str]:
    """The response headers feedparser uses for the base URL and the declared charset."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    return headers


def _why(parsed: Any, content_type: str | None) -> str:
    if content_type and "html" in content_type.lower():
        return f"served as {content_type}"
    exception = parsed.get("bozo_exception")
    return str(exception) if exception else "no RSS, Atom or RDF root element"


def _is_syntax_error(exc: Any) -> bool:
    """A real XML error, not feedparser's note that the declared charset was overridden."""
    return exc is not None and not isinstance(exc, (feedparser.CharacterEncodingOverride,
                                                    feedparser.NonXMLContentType))


def _item(entry: Any, base: str) -> FoundItem | None:
    link = entry.get("link") or next((li.get("href") for li in entry.get("links", []) if li.get("href")), None)
    if not link:
        return None
    published = entry.get("published_parsed") or entry.get("updated_parsed")
    date = item_date(_struct_iso(published)) if published else None
    return FoundItem(urljoin(base, link.strip()), clean_text(entry.get("title")), date)


def _struct_iso(value: Any) -> str | None:
    """feedparser's UTC time.struct_time as ISO text."""
    try:
        return "%04d-%02d-%02dT%02d:%02d:%02dZ" % tuple(value[:6])
    except (TypeError, ValueError):
        return None
