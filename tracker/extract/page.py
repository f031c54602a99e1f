"""Turn one fetched page into article text and metadata (the only home of trafilatura).

`extract_page` is pure: bytes in, a frozen `Extraction` out, no module-level state. It decodes the
bytes (BOM, valid UTF-8, HTTP header, <meta charset>, then detection), refuses what is not HTML or is
too large, runs trafilatura, and prefers the page's own JSON-LD and meta tags for metadata because
publishers fill those in on purpose while the heuristics guess.

`ExtractorPool` runs `extract_page` in worker processes with a per-page time budget: trafilatura can
spin for minutes on pathological pages, and a thread cannot be stopped, so a hung worker is killed,
replaced, and its page fails with `ExtractionTimeout`.
"""

from __future__ import annotations

import codecs
import fcntl
import json
import logging
import multiprocessing
import pickle
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date, datetime
from multiprocessing.connection import Connection, wait
from typing import Any

import charset_normalizer
import htmldate
import trafilatura
from lxml.html import HtmlElement

from tracker.dates import format_iso
from tracker.errors import ExtractionError, NoTextError, NotHtmlError, PageTooLargeError  # noqa: F401 - re-exported

logger = logging.getLogger(__name__)

EXTRACTOR = f"trafilatura {trafilatura.__version__} + tracker.extract.page 2"


class ExtractionTimeout(ExtractionError):
    """The page took longer than its time budget; its worker was killed and replaced."""


class WorkerCrashedError(ExtractionError):
    """The worker process died while extracting the page (e.g. out of memory)."""


@dataclass(frozen=True)
class ExtractOptions:
    """How to extract; one frozen object instead of many keyword arguments."""

    max_bytes: int = 5_000_000  # characters of decoded HTML; trafilatura.extract() applies no cap
    time_budget: float = 20.0  # seconds per page, enforced by ExtractorPool
    favor_precision: bool = True  # scored better than balanced mode on the benchmark
    # trafilatura's fast mode skips checking its own result against readability and jusText,
    # about a quarter of extract_page's time on the benchmark (14.6 -> 11.2 ms of CPU a page).
    # Those fallbacks matter only where its own extractor finds little, so a fast text shorter
    # than `retry_below_chars` is redone in full. False: always in full.
    fast_first: bool = True
    # A precision-mode text shorter than this is re-extracted in balanced mode, and the longer one
    # kept when it is `retry_gain` times longer: precision mode sometimes keeps only a stray block.
    retry_below_chars: int = 1000
    retry_gain: float = 2.0
    # JSON-LD articleBody replaces trafilatura's text when that text is under this share of it.
    jsonld_body_share: float = 0.6
    jsonld_body_min_chars: int = 500
    # Latest plausible date for htmldate; None means today (the one input taken from the clock).
    max_date: str | None = None


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
                 options: ExtractOptions = ExtractOptions()) -> Extraction:
    """Extract text and metadata from one fetched page; raises an ExtractionError subclass."""
    refuse_non_html(body, url, content_type)
    html, encoding = decode_html(body, url, content_type, options.max_bytes)
    tree = trafilatura.load_html(html)
    if tree is None:
        raise NotHtmlError(f"{url}: not parseable as HTML")
    ld = find_article_jsonld(tree)
    meta = read_meta_tags(tree)
    text, text_source = choose_text(tree, url, ld, options)
    text = drop_title_line(text, _title_candidates(tree, ld, meta))
    if not text:
        raise NoTextError(f"{url}: no article text found")
    return Extraction(url=url, text=text, text_source=text_source, encoding=encoding,
                      **extract_metadata(tree, url, ld, meta, options))


# --- refusing what is not HTML ---------------------------------------------------------------

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
SNIFF_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "text/plain"})
MAGIC = ((b"%PDF-", "PDF"), (b"\x89PNG", "PNG image"), (b"GIF8", "GIF image"),
         (b"\xff\xd8\xff", "JPEG image"), (b"PK\x03\x04", "ZIP archive"), (b"\x1f\x8b", "gzip data"),
         (b"RIFF", "RIFF media"), (b"OggS", "Ogg media"), (b"ID3", "MP3 audio"))


def refuse_non_html(body: bytes, url: str, content_type: str | None) -> None:
    """Raise NotHtmlError for PDFs, images, JSON...: by declared type, then by the bytes."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime and mime not in HTML_TYPES and mime not in SNIFF_TYPES:
        raise NotHtmlError(f"{url}: content type {mime} is not HTML")
    head = body[:512].lstrip()
    for magic, what in MAGIC:
        if head.startswith(magic):
            raise NotHtmlError(f"{url}: body is {what}, not HTML")
    if mime in SNIFF_TYPES and not head.lstrip(b"\xef\xbb\xbf").startswith(b"<"):
        raise NotHtmlError(f"{url}: body does not look like HTML (content type {mime or 'missing'})")


# --- decoding ---------------------------------------------------------------------------------

BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
# WHATWG: labels for Latin-1 and ASCII mean windows-1252, which is what servers actually send.
WHATWG_ALIASES = {"latin-1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252"}


def decode_html(body: bytes, url: str, content_type: str | None, max_bytes: int) -> tuple[str, str]:
    """Decode body to text and name the encoding used; refuse pages over max_bytes characters."""
    if len(body) > 4 * max_bytes:  # no encoding takes more than 4 bytes a character
        raise PageTooLargeError(f"{url}: {len(body)} bytes is over the {max_bytes} limit")
    html, encoding = _decode(body, content_type)
    if len(html) > max_bytes:
        raise PageTooLargeError(f"{url}: {len(html)} characters of HTML is over the {max_bytes} limit")
    return html, encoding


def _decode(body: bytes, content_type: str | None) -> tuple[str, str]:
    for bom, encoding in BOMS:
        if body.startswith(bom):
            return body.decode(encoding, errors="replace"), encoding
    # Valid UTF-8 with non-ASCII bytes is practically never anything else, whatever the header says
    # (the usual lie is "iso-8859-1" on a UTF-8 page, and Latin-1 decodes anything without error).
    for declared in ("utf-8", _header_charset(content_type), _meta_charset(body)):
        text = _try_decode(body, declared)
        if text is not None:
            return text, declared or "utf-8"
    guess = charset_normalizer.from_bytes(body[:200_000]).best()
    encoding = _normalise_encoding(guess.encoding if guess else None) or "cp1252"
    return body.decode(encoding, errors="replace"), encoding


def _try_decode(body: bytes, encoding: str | None) -> str | None:
    if not encoding:
        return None
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _header_charset(content_type: str | None) -> str | None:
    match = HEADER_CHARSET.search(content_type or "")
    return _normalise_encoding(match.group(1)) if match else None


def _meta_charset(body: bytes) -> str | None:
    match = META_CHARSET.search(body[:4096])
    return _normalise_encoding(match.group(1).decode("ascii", "ignore")) if match else None


def _normalise_encoding(label: str | None) -> str | None:
    try:
        name = codecs.lookup(label).name if label else None
    except LookupError:
        return None
    return WHATWG_ALIASES.get(name, name) if name else None


# --- text --------------------------------------------------------------------------------------

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


def _title_candidates(tree: HtmlElement, ld: Mapping[str, Any], meta: Mapping[str, str]) -> list[str]:
    found = [_text(ld.get("headline")), meta.get("og:title"), meta.get("twitter:title")]
    found += [h.text_content() for h in tree.xpath("//h1|//title")]
    return [title for title in found if title]


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
    body = _text(ld.get("articleBody"))
    if not body or len(body) < min_chars or body.rstrip().endswith(("...", "…", "[…]")):
        return None
    return body


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


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _names(value: Any) -> list[str]:
    """Names from a JSON-LD person/organisation value: a string, a node or a list of either."""
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    if isinstance(value, dict):
        value = value.get("name")
    name = _text(value)
    return [name] if name and not name.startswith("http") else []


def _url(value: Any) -> str | None:
    """A URL from a JSON-LD image/url value: a string, an ImageObject or a list of either."""
    if isinstance(value, list):
        return next((u for u in map(_url, value) if u), None)
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl") or value.get("@id")
    return _text(value)


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
        "title": _clean(_text(ld.get("headline")) or _first(meta, "og:title", "twitter:title")
                        or _heading_or_title(tree)),
        "author": _clean(", ".join(_names(ld.get("author")) or _meta_authors(meta)) or None),
        "published": published, "published_source": published_source,
        "updated": updated, "updated_source": updated_source,
        "site_name": _clean(_first(meta, "og:site_name", "application-name")
                            or next(iter(_names(ld.get("publisher"))), None)),
        "language": _language(ld, meta),
        "description": _clean(_first(meta, "og:description", "description", "twitter:description")
                              or _text(ld.get("description"))),
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
    if moment.tzinfo is None:
        return moment.date().isoformat()
    return format_iso(moment)


def _valid_day(year: str, month: str, day: str) -> str | None:
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def _meta_authors(meta: Mapping[str, str]) -> list[str]:
    author = _first(meta, "author", "article:author", "byl", "dc.creator", "parsely-author")
    if not author or author.startswith("http"):  # article:author is often a profile URL
        return []
    return [re.sub(r"^by\s+", "", author, flags=re.I)]


def _heading_or_title(tree: HtmlElement) -> str | None:
    headings = tree.xpath("//h1")
    if len(headings) == 1:
        return _text(headings[0].text_content())
    titles = tree.xpath("//title")
    return _text(titles[0].text_content()) if titles else None


def _language(ld: Mapping[str, Any], meta: Mapping[str, str]) -> str | None:
    """Primary language subtag, lower case ("en"), from the page's own declarations."""
    label = _text(ld.get("inLanguage")) or _first(meta, "html:lang", "content-language", "og:locale",
                                                   "language", "dc.language")
    match = re.match(r"[A-Za-z]{2,3}\b", label.split(",")[0].strip()) if label else None
    return match.group(0).lower() if match else None


def _clean(value: str | None) -> str | None:
    """Collapse whitespace and unescape the entities some sites double-encode in JSON-LD."""
    if not value:
        return None
    value = re.sub(r"\s+", " ", value.replace("&amp;", "&").replace("&quot;", '"')).strip()
    return value or None


# --- the pool ----------------------------------------------------------------------------------

Page = tuple[bytes, str, "str | None"]

# Each worker's inbound pipe is asked to hold this much (Linux caps it at fs.pipe-max-size, 1 MiB by
# default), so that a page can wait in it while the worker extracts the one before.
PIPE_BYTES = 1 << 20


def _worker_main(inbox: Connection, outbox: Connection, options: ExtractOptions) -> None:
    """Worker process loop: receive a page, send back ("ok", Extraction) or ("error", exception)."""
    while True:
        try:
            page: tuple[bytes, str, str | None] = inbox.recv()  # (body, url, content type)
        except EOFError:
            return
        try:
            outbox.send(("ok", extract_page(*page, options=options)))
        except ExtractionError as exc:
            outbox.send(("error", exc))
        except Exception as exc:  # a library bug on one page must not kill the worker
            logger.exception("extraction failed for %s", page[1])
            outbox.send(("error", ExtractionError(f"{page[1]}: {type(exc).__name__}: {exc}")))


@dataclass
class _Task:
    page: Page
    timeout: float
    future: Future[Extraction] = field(default_factory=Future)
    payload: bytes = b""  # the pickled page, while the dispatcher thread is sending it


@dataclass
class _Worker:
    process: Any  # multiprocessing.Process from the chosen start method's context
    inbox: Connection  # pages to the worker: a one-way pipe, written only by the dispatcher
    outbox: Connection  # results from the worker
    room: int  # bytes the inbox holds without blocking its writer
    tasks: deque[_Task] = field(default_factory=deque)  # sent, in order; the first is running
    deadline: float = 0.0  # of tasks[0]


class ExtractorPool:
    """extract_page in `workers` processes; a page over its time budget gets ExtractionTimeout.

    `submit` never blocks and returns a concurrent.futures.Future, so it can be called from an
    event loop (Scrapy/Twisted) and the future bridged back to it. Use as a context manager.

    A busy worker is sent its next page ahead, to wait in its inbox pipe: otherwise it would sit
    idle between pages until this process's dispatcher thread, which shares the GIL with the
    crawl's event loop, got round to sending one. A page goes ahead only when it fits in the pipe,
    so the dispatcher never blocks on a worker that is stuck on a page and must be killed.
    """

    def __init__(self, workers: int = 2, options: ExtractOptions = ExtractOptions(),
                 timeout: float | None = None) -> None:
        self.options = options
        self.timeout = options.time_budget if timeout is None else timeout
        self.restarts = 0  # workers killed for overrunning their budget or crashing
        # forkserver or fork, both with Process (BaseContext, the declared type, has none)
        self._context: Any = multiprocessing.get_context(_start_method())
        if self._context.get_start_method() == "forkserver":
            # Workers fork from a server that has already imported and warmed up trafilatura:
            # they start at once, and restarts are cheap.
            self._context.set_forkserver_preload(SERVER_PRELOAD)
        self._pending: deque[_Task] = deque()
        self._lock = threading.Lock()
        self._closed = False
        self._draining = True
        self._wake_r, self._wake_w = socket.socketpair()
        self._workers = [self._start_worker() for _ in range(max(1, workers))]
        self._thread = threading.Thread(target=self._run, name="extractor-pool", daemon=True)
        self._thread.start()

    def submit(self, body: bytes, url: str, content_type: str | None = None,
               timeout: float | None = None) -> Future[Extraction]:
        """Queue one page; the future holds its Extraction or raises an ExtractionError."""
        task = _Task((body, url, content_type), self.timeout if timeout is None else timeout)
        with self._lock:
            if self._closed:
                raise RuntimeError("ExtractorPool is closed")
            self._pending.append(task)
        self._wake()
        return task.future

    def map(self, pages: Iterable[Page]) -> Iterator[Extraction | ExtractionError]:
        """Extract pages in order; a failed page yields its error instead of stopping the run."""
        futures = [self.submit(*page) for page in pages]
        for future in futures:
            exc = future.exception()
            yield exc if isinstance(exc, ExtractionError) else future.result()

    def close(self, wait: bool = True) -> None:
        """Stop taking pages; finish queued ones (or fail them if not wait), then stop the workers."""
        with self._lock:
            self._closed = True
            self._draining = wait
        self._wake()
        self._thread.join()

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # dispatcher thread -------------------------------------------------------------------------

    def _start_worker(self) -> _Worker:
        page_r, page_w = self._context.Pipe(duplex=False)
        result_r, result_w = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_worker_main, args=(page_r, result_w, self.options),
                                        daemon=True)
        process.start()
        page_r.close()
        result_w.close()
        return _Worker(process, page_w, result_r, room=_grow_pipe(page_w))

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:  # already closed
            pass

    def _run(self) -> None:
        while not self._finished():
            self._dispatch()
            busy = {w.outbox: w for w in self._workers if w.tasks}
            now = time.monotonic()
            wait_for = min((w.deadline - now for w in busy.values()), default=None)
            ready = wait([self._wake_r, *busy], timeout=None if wait_for is None else max(0.0, wait_for))
            if self._wake_r in ready:
                self._wake_r.recv(4096)
            for conn in busy:
                if conn in ready:
                    self._receive(busy[conn])
            self._kill_overdue()
        self._shutdown()

    def _finished(self) -> bool:
        with self._lock:
            if not self._closed:
                return False
            idle = not self._pending and all(not w.tasks for w in self._workers)
            return idle or not self._draining

    def _dispatch(self) -> None:
        """A page to every idle worker, then one ahead to every busy worker it fits."""
        for ahead in (False, True):
            for worker in self._workers:
                if len(worker.tasks) != int(ahead):
                    continue
                task = self._take(worker.room if ahead else None)
                if task is None:
                    break
                self._send(worker, task)

    def _take(self, room: int | None) -> _Task | None:
        """The next pending page, if its message takes at most `room` bytes (None: any size)."""
        while True:
            with self._lock:
                task = self._pending.popleft() if self._pending else None
            if task is None:
                return None
            if not task.future.running() and not task.future.set_running_or_notify_cancel():
                continue  # cancelled while it waited
            task.payload = task.payload or pickle.dumps(task.page, pickle.HIGHEST_PROTOCOL)
            if room is None or len(task.payload) + 16 <= room:  # 16: the message's length header
                return task
            with self._lock:
                self._pending.appendleft(task)
            return None

    def _send(self, worker: _Worker, task: _Task) -> None:
        if not worker.tasks:
            worker.deadline = time.monotonic() + task.timeout
        worker.tasks.append(task)
        try:
            worker.inbox.send_bytes(task.payload)
            task.payload = b""  # sent: the page is held once, in task.page, for a retry
        except OSError:  # the worker died
            self._replace(worker, WorkerCrashedError(f"{worker.tasks[0].page[1]}: extraction worker died"))

    def _receive(self, worker: _Worker) -> None:
        try:
            status, value = worker.outbox.recv()
        except (EOFError, OSError):
            self._replace(worker, WorkerCrashedError(f"{worker.tasks[0].page[1]}: extraction worker died"))
            return
        task = worker.tasks.popleft()
        if worker.tasks:  # the worker has started the page that waited in its inbox
            worker.deadline = time.monotonic() + worker.tasks[0].timeout
        if status == "ok":
            task.future.set_result(value)
        else:
            task.future.set_exception(value)

    def _kill_overdue(self) -> None:
        now = time.monotonic()
        for worker in self._workers:
            if worker.tasks and worker.deadline <= now:
                task = worker.tasks[0]
                self._replace(worker, ExtractionTimeout(
                    f"{task.page[1]}: extraction over its {task.timeout:g} s budget"))

    def _replace(self, worker: _Worker, error: ExtractionError) -> None:
        """Kill the worker; its running page fails with `error`, pages sent ahead are queued again."""
        logger.warning("%s; restarting the worker", error)
        worker.process.kill()
        worker.process.join()
        worker.inbox.close()
        worker.outbox.close()
        self._workers[self._workers.index(worker)] = self._start_worker()
        self.restarts += 1
        task, *ahead = worker.tasks
        with self._lock:
            self._pending.extendleft(reversed(ahead))
        task.future.set_exception(error)

    def _shutdown(self) -> None:
        with self._lock:
            leftover, self._pending = list(self._pending), deque()
        for task in leftover + [task for w in self._workers for task in w.tasks]:
            task.future.set_exception(ExtractionError(f"{task.page[1]}: pool closed"))
        for worker in self._workers:
            worker.inbox.close()  # the worker sees EOF and returns
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
            worker.outbox.close()
        self._wake_r.close()
        self._wake_w.close()


def _grow_pipe(conn: Connection) -> int:
    """Raise a pipe's capacity to PIPE_BYTES where the OS allows; return its capacity (0: unknown,
    so nothing is sent ahead)."""
    setsize, getsize = getattr(fcntl, "F_SETPIPE_SZ", None), getattr(fcntl, "F_GETPIPE_SZ", None)
    if getsize is None:
        return 0
    try:
        if setsize is not None:
            fcntl.fcntl(conn.fileno(), setsize, PIPE_BYTES)
    except OSError:  # over fs.pipe-max-size or the user's pipe quota: keep the default size
        pass
    try:
        return fcntl.fcntl(conn.fileno(), getsize)
    except OSError:
        return 0


# What the workers' fork server imports: this module, and one warm-up extraction (see there).
SERVER_PRELOAD = ["tracker.extract.server"]
WARM_UP_PAGE = (b"<html><head><title>Warm-up</title></head><body><article><p>A short paragraph, "
                b"published on 7 December 2020.</p></article></body></html>")


def warm_up() -> None:
    """Extract a small built-in page, for what the libraries set up on first use. Its text is
    short, so it takes every path: fast mode, full mode with jusText, the balanced retry."""
    try:
        extract_page(WARM_UP_PAGE, "https://example.org/warm-up", "text/html")
    except ExtractionError:
        pass


def start_worker_server() -> None:
    """Start the server that extraction workers fork from now (it imports trafilatura, ~0.5 s),
    so that it loads while the caller does other start-up work and pools created later start at
    once. Optional: a pool starts it itself when needed. Nothing to do where workers are spawned."""
    context = multiprocessing.get_context(_start_method())
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        context.set_forkserver_preload(SERVER_PRELOAD)
        forkserver.ensure_running()


def _start_method() -> str:
    """forkserver where available: a fork of a threaded (Twisted) process is unsafe, spawn is slow."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def extract_plain_text(html: str) -> str | None:
    """Plain `trafilatura.extract(html)` with its defaults: the benchmark's baseline."""
    return trafilatura.extract(html)
