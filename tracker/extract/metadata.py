"""Metadata a publisher states on purpose: the page's JSON-LD article node and its meta tags, then
heuristics (htmldate, the only home of htmldate) for a publication date neither states.

Why ours and not trafilatura's `extract_metadata` (slower, and no better where checked): docs/decisions.md.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

import htmldate
from lxml.html import HtmlElement

from tracker.dates import format_iso
from tracker.extract.options import ExtractOptions

logger = logging.getLogger(__name__)

# --- JSON-LD -----------------------------------------------------------------------------------

ARTICLE_TYPES = frozenset({"Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle",
                           "OpinionNewsArticle", "BackgroundNewsArticle", "ReviewNewsArticle",
                           "AskPublicNewsArticle", "BlogPosting", "LiveBlogPosting", "SocialMediaPosting",
                           "ScholarlyArticle", "TechArticle", "Report", "SatiricalArticle"})


def find_article_jsonld(tree: HtmlElement) -> dict[str, Any]:
    """The page's main article node from its JSON-LD scripts (including @graph lists), or {}."""
    candidates = [node for script in tree.xpath('//script[@type="application/ld+json"]')
                  for node in _walk_nodes(_load_json(script.text_content()))
                  if ARTICLE_TYPES & _types(node)]
    # Several article nodes: the one with a body or headline is the page's own, not a teaser.
    return max(candidates, key=lambda n: (bool(n.get("articleBody")), bool(n.get("headline"))),
               default={})


def _load_json(raw: str) -> Any:
    try:
        return json.loads(raw, strict=False)  # strict=False: raw newlines in strings are common
    except ValueError:
        logger.debug("unparseable JSON-LD script skipped")
        return None


def _walk_nodes(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _walk_nodes(item)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
            if isinstance(data.get(key), (list, dict)):
                yield from _walk_nodes(data[key])


def _types(node: Mapping[str, Any]) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.rsplit("/", 1)[-1] for k in kinds if isinstance(k, str)}


def string_value(value: Any) -> str | None:
    """A JSON-LD value as stripped text, or None when it is empty or not a string."""
    return value.strip() or None if isinstance(value, str) else None


def _names(value: Any) -> list[str]:
    """Names from a JSON-LD person/organisation value: a string, a node or a list of either."""
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    if isinstance(value, dict):
        value = value.get("name")
    name = string_value(value)
    return [name] if name and not name.startswith("http") else []


def _url(value: Any) -> str | None:
    """A URL from a JSON-LD image/url value: a string, an ImageObject or a list of either."""
    if isinstance(value, list):
        return next((u for u in map(_url, value) if u), None)
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl") or value.get("@id")
    return string_value(value)


# --- meta tags ---------------------------------------------------------------------------------

def read_meta_tags(tree: HtmlElement) -> dict[str, str]:
    """<meta> name/property/itemprop -> content (first wins), plus canonical link and html lang."""
    tags: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop") or meta.get("http-equiv")
        content = (meta.get("content") or "").strip()
        if key and content:
            tags.setdefault(key.strip().lower(), content)
    canonical = tree.xpath('//link[@rel="canonical"]/@href')
    if canonical:
        tags["link:canonical"] = canonical[0].strip()
    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if lang:
        tags["html:lang"] = lang.strip()
    return tags


def _first(meta: Mapping[str, str], *keys: str) -> str | None:
    return next((meta[k] for k in keys if meta.get(k)), None)


# --- metadata ----------------------------------------------------------------------------------

PUBLISHED_META = ("article:published_time", "og:published_time", "datepublished", "pubdate",
                  "publishdate", "date", "dc.date.issued", "dc.date", "dcterms.created", "sailthru.date",
                  "parsely-pub-date")
UPDATED_META = ("article:modified_time", "og:updated_time", "datemodified", "dcterms.modified",
                "last-modified", "lastmod")


def extract_metadata(tree: HtmlElement, url: str, ld: Mapping[str, Any], meta: Mapping[str, str],
                     options: ExtractOptions) -> dict[str, Any]:
    """Metadata fields of Extraction (each a str or None): JSON-LD first, then meta tags, then
    heuristics."""
    published, published_source = find_published(tree, url, ld, meta, options)
    updated, updated_source = find_updated(ld, meta)
    return {
        "title": _clean(string_value(ld.get("headline")) or _first(meta, "og:title", "twitter:title")
                        or _heading_or_title(tree)),
        "author": _clean(", ".join(_names(ld.get("author")) or _meta_authors(meta)) or None),
        "published": published, "published_source": published_source,
        "updated": updated, "updated_source": updated_source,
        "site_name": _clean(_first(meta, "og:site_name", "application-name")
                            or next(iter(_names(ld.get("publisher"))), None)),
        "language": _language(ld, meta),
        "description": _clean(_first(meta, "og:description", "description", "twitter:description")
                              or string_value(ld.get("description"))),
        "canonical_url": _first(meta, "link:canonical", "og:url") or _url(ld.get("url")),
        "image": _url(ld.get("image")) or _first(meta, "og:image", "twitter:image", "twitter:image:src"),
    }


def find_published(tree: HtmlElement, url: str, ld: Mapping[str, Any], meta: Mapping[str, str],
                   options: ExtractOptions) -> tuple[str | None, str | None]:
    """Publication date and where it came from: "jsonld", "meta" or "htmldate" (heuristics)."""
    for value, source in ((ld.get("datePublished") or ld.get("dateCreated"), "jsonld"),
                          (_first(meta, *PUBLISHED_META), "meta")):
        iso = normalise_date(value)
        if iso:
            return iso, source
    found = htmldate.find_date(tree, url=url, original_date=True, extensive_search=True,
                               max_date=options.max_date or date.today().isoformat())
    return (found, "htmldate") if found else (None, None)


def find_updated(ld: Mapping[str, Any], meta: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Last-modified date from JSON-LD or meta tags; heuristics would only echo the published one."""
    for value, source in ((ld.get("dateModified"), "jsonld"), (_first(meta, *UPDATED_META), "meta")):
        iso = normalise_date(value)
        if iso:
            return iso, source
    return None, None


ISO_DAY = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")


def normalise_date(value: Any) -> str | None:
    """ISO 8601: "2020-12-07T06:11:00Z" when the time and its zone are known, else "2020-12-07".

    A time without a zone is reduced to its day: converting it to UTC would be a guess.
    """
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        day = ISO_DAY.match(value)
        return _valid_day(*day.groups()) if day else None
    if moment.year < MIN_YEAR:
        return None
    if moment.tzinfo is None:
        return moment.date().isoformat()
    return format_iso(moment)


# Placeholders, not dates: CMSs fill an empty JSON-LD date with "0001-01-01T00:00:00Z"
# (five benchmark pages), which the stored format would write as "1-01-01T00:00:00Z".
MIN_YEAR = 1900


def _valid_day(year: str, month: str, day: str) -> str | None:
    try:
        found = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return found.isoformat() if found.year >= MIN_YEAR else None


def _meta_authors(meta: Mapping[str, str]) -> list[str]:
    author = _first(meta, "author", "article:author", "byl", "dc.creator", "parsely-author")
    if not author or author.startswith("http"):  # article:author is often a profile URL
        return []
    return [re.sub(r"^by\s+", "", author, flags=re.I)]


def _heading_or_title(tree: HtmlElement) -> str | None:
    headings = tree.xpath("//h1")
    if len(headings) == 1:
        return string_value(headings[0].text_content())
    titles = tree.xpath("//title")
    return string_value(titles[0].text_content()) if titles else None


def _language(ld: Mapping[str, Any], meta: Mapping[str, str]) -> str | None:
    """Primary language subtag, lower case ("en"), from the page's own declarations."""
    label = string_value(ld.get("inLanguage")) or _first(meta, "html:lang", "content-language", "og:locale",
                                                   "language", "dc.language")
    match = re.match(r"[A-Za-z]{2,3}\b", label.split(",")[0].strip()) if label else None
    return match.group(0).lower() if match else None


def _clean(value: str | None) -> str | None:
    """Collapse whitespace and unescape the entities some sites double-encode in JSON-LD and meta
    tags ("&amp;", "&quot;", and numeric ones such as "&#8216;", which six benchmark titles kept)."""
    if not value:
        return None
    value = re.sub(r"\s+", " ", html.unescape(value)).strip()
    return value or None


def title_candidates(tree: HtmlElement, ld: Mapping[str, Any], meta: Mapping[str, str]) -> list[str]:
    """Headlines the page states (JSON-LD, Open Graph, Twitter, <h1>, <title>), for drop_title_line."""
    found = [string_value(ld.get("headline")), meta.get("og:title"), meta.get("twitter:title")]
    found += [h.text_content() for h in tree.xpath("//h1|//title")]
    return [title for title in found if title]
