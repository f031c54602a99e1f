"""Turn one fetched page into article text and metadata: `extract_page`, the stage's entry point.

`extract_page` is pure: bytes in, a frozen `Extraction` out, no module-level state. It refuses
what is not HTML or is too large and decodes the rest (`decode`), parses it and chooses the text
(`text`, the home of trafilatura), and reads the metadata the page states (`metadata`). The pool
that runs it in worker processes with a time budget is `pool`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.errors import NoTextError, NotHtmlError
from tracker.extract.decode import decode_html, refuse_non_html
from tracker.extract.metadata import extract_metadata, find_article_jsonld, read_meta_tags, title_candidates
from tracker.extract.options import ExtractOptions
from tracker.extract.text import TRAFILATURA_VERSION, choose_text, drop_title_line, parse_html

# Stored with every extraction: change the number when extraction output changes, not when code
# only moves between modules.
EXTRACTOR = f"trafilatura {TRAFILATURA_VERSION} + tracker.extract 3"


@dataclass(frozen=True)
class Extraction:
    """What one page yielded. Dates are ISO 8601: "2020-12-07T06:11:00Z" (UTC) or "2020-12-07"."""

    url: str
    text: str
    text_source: str  # "trafilatura" (fast mode), "trafilatura-full", "trafilatura-balanced" or "jsonld"
    title: str | None = None
    author: str | None = None
    published: str | None = None
    published_source: str | None = None  # "jsonld", "meta" or "htmldate"
    updated: str | None = None
    updated_source: str | None = None
    site_name: str | None = None
    language: str | None = None
    description: str | None = None
    canonical_url: str | None = None
    image: str | None = None
    encoding: str | None = None
    extractor: str = EXTRACTOR


def extract_page(body: bytes, url: str, content_type: str | None = None,
                 options: ExtractOptions = ExtractOptions()) -> Extraction:  # noqa: B008 - frozen
    """Extract text and metadata from one fetched page; raises an ExtractionError subclass."""
    refuse_non_html(body, url, content_type)
    html, encoding = decode_html(body, url, content_type, options.max_bytes)
    tree = parse_html(html)
    if tree is None:
        raise NotHtmlError(f"{url}: not parseable as HTML")
    ld = find_article_jsonld(tree)
    meta = read_meta_tags(tree)
    text, text_source = choose_text(tree, url, ld, options)
    text = drop_title_line(text, title_candidates(tree, ld, meta))
    if not text:
        raise NoTextError(f"{url}: no article text found")
    return Extraction(url=url, text=text, text_source=text_source, encoding=encoding,
                      **extract_metadata(tree, url, ld, meta, options))
