"""The article text of a parsed page (the only home of trafilatura): trafilatura in fast mode, in
full, or balanced; split bodies joined first; a fuller JSON-LD articleBody preferred; a first line
repeating the headline dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import trafilatura
from lxml.html import HtmlElement

from tracker.extract.metadata import string_value
from tracker.extract.options import ExtractOptions

TRAFILATURA_VERSION: str = trafilatura.__version__


def parse_html(html: str) -> HtmlElement | None:
    """The page's lxml tree as trafilatura parses it, or None when it is not parseable."""
    return trafilatura.load_html(html)


def extract_plain_text(html: str) -> str | None:
    """Plain `trafilatura.extract(html)` with its defaults: the benchmark's baseline."""
    return trafilatura.extract(html)


def choose_text(tree: HtmlElement, url: str, ld: Mapping[str, Any],
                options: ExtractOptions) -> tuple[str, str]:
    """Pick the article text: trafilatura (fast, then in full if short), its balanced retry, or a
    fuller JSON-LD articleBody."""
    merge_split_bodies(tree)
    text, source = _first_text(tree, url, options)
    if options.favor_precision and len(text) < options.retry_below_chars:
        balanced = _trafilatura_text(tree, url, False, fast=False)
        if len(balanced) > options.retry_gain * len(text):
            text, source = balanced, "trafilatura-balanced"
    ld_body = _jsonld_body(ld, options.jsonld_body_min_chars)
    if ld_body and len(text) < options.jsonld_body_share * len(ld_body):
        return ld_body, "jsonld"
    return text, source


def _first_text(tree: HtmlElement, url: str, options: ExtractOptions) -> tuple[str, str]:
    """trafilatura in the configured mode: fast, then in full (with its fallbacks) if that is short."""
    if options.fast_first:
        text = _trafilatura_text(tree, url, options.favor_precision, fast=True)
        if len(text) >= options.retry_below_chars:
            return text, "trafilatura"
    return _trafilatura_text(tree, url, options.favor_precision, fast=False), "trafilatura-full"


# Class names of article-body containers, as in trafilatura's first content XPaths.
BODY_CLASS = re.compile(r"(?:^|\s)(?:article(?:-|__|_)?body|story-?body|post-?body|body-text"
                        r"|(?:entry|article)-content|article__content)(?:\s|$)", re.I)


def merge_split_bodies(tree: HtmlElement) -> int:
    """Join article bodies split into sibling chunks (ads between them); returns chunks merged.

    trafilatura takes the first element matching its body XPath, so a page that repeats
    <div class="article__body"> around ad slots loses all chunks but the first. Chunks are merged
    only when they are close cousins (common ancestor at most two levels up), so the bodies of
    separate articles on one page (infinite scroll, teasers) stay apart.
    """
    groups: dict[str, list[HtmlElement]] = {}
    for elem in tree.xpath("//div[@class]|//section[@class]|//article[@class]"):
        if BODY_CLASS.search(elem.get("class", "")) and elem.find(".//p") is not None:
            groups.setdefault(elem.get("class", "").strip(), []).append(elem)
    return sum(_merge_chunks(chunks) for chunks in groups.values() if len(chunks) > 1)


def _merge_chunks(chunks: list[HtmlElement]) -> int:
    first = chunks[0]
    near = {id(a) for a in [first.getparent(), *(_ancestor(first, 2),)] if a is not None}
    if any(id(_ancestor(c, 1)) not in near and id(_ancestor(c, 2)) not in near for c in chunks[1:]):
        return 0
    if any(first in c.iterancestors() or c in first.iterancestors() for c in chunks[1:]):
        return 0
    for chunk in chunks[1:]:
        first.extend(list(chunk))
        chunk.getparent().remove(chunk)
    return len(chunks) - 1


def _ancestor(elem: HtmlElement, levels: int) -> HtmlElement | None:
    for _ in range(levels):
        elem = elem.getparent() if elem is not None else None
    return elem


def drop_title_line(text: str, titles: Iterable[str]) -> str:
    """Remove a first line that repeats the headline: the title is a field of its own."""
    first, _, rest = text.partition("\n")
    words = _words(first)
    if not rest.strip() or not words:
        return text
    for title in map(_words, titles):
        if words == title or (len(words) > 15 and words in title):
            return rest.lstrip()
    return text


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _trafilatura_text(tree: HtmlElement, url: str, favor_precision: bool, fast: bool) -> str:
    # Comments are not the article; bare_extraction copies the tree, so it can be reused.
    doc = trafilatura.bare_extraction(tree, url=url, favor_precision=favor_precision, fast=fast,
                                      include_comments=False, include_tables=True)
    # a Document (as_dict is off); getattr keeps the type checker from assuming its dict form
    return (getattr(doc, "text", None) or "").strip() if doc is not None else ""


def _jsonld_body(ld: Mapping[str, Any], min_chars: int) -> str | None:
    """articleBody when it is clearly a full text: long enough and not cut off with an ellipsis."""
    body = string_value(ld.get("articleBody"))
    if not body or len(body) < min_chars or body.rstrip().endswith(("...", "…", "[…]")):
        return None
    return body
