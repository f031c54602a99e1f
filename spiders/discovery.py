"""The sources spider: poll the due discovery sources (feeds, news sitemaps, listing pages) through
the same downloader as the articles (robots.txt, SSRF guard, per-host delays, retries, size and
time limits), archive each response to WARC and save the article URLs found.

Sitemaps are read with Scrapy's own sitemap parser (lxml with entities left unresolved, recovering
from broken XML), listing pages with Scrapy's LinkExtractor: no second sitemap library to keep.
Feeds go to feedparser (tracker/discover/feeds.py).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap
from twisted.python.failure import Failure

from spiders.articles import HANDLED_STATUSES, _headers, _latency, classify_error, describe_error
from spiders.faults import DeadlineReached
from spiders.pipelines import warc_folder
from tracker.crawl.pages import PageResult
from tracker.crawl.policy import policy_from_settings
from tracker.crawl.warc import WarcArchive
from tracker.dates import now_iso
from tracker.discover.feeds import parse_feed, refuse_entities
from tracker.discover.items import FoundItem, PollResult, SourceJob, item_date, settle_items
from tracker.discover.poll import load_due_jobs, save_poll_result
from tracker.errors import SourceError
from tracker.store import Database, open_db

logger = logging.getLogger(__name__)


class SourcesSpider(scrapy.Spider):
    """Reads due sources from the database; yields one PollResult per response or error."""

    name = "sources"
    custom_settings = {"ITEM_PIPELINES": {"spiders.discovery.SourcePollPipeline": 100}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One bound method for every request: Scrapy checks each response's callback for a
        # generator `return value` (inspect.getsource + ast.parse, ~3 ms) and caches the answer
        # by the callback object, weakly; a new bound method per request never hits that cache.
        self._on_response = self.parse_source
        self._on_failure = self.on_error

    async def start(self) -> AsyncIterator[Any]:
        db = open_db(self.settings.get("TRACKER_DB"))
        try:
            jobs = load_due_jobs(db, everything=self.settings.getbool("TRACKER_SOURCES_ALL"))
        finally:
            db.close()
        logger.info("%d sources due", len(jobs))
        for job in jobs:
            yield self.request_for(job, job.url, root=True, seen={job.url})

    def request_for(self, job: SourceJob, url: str, root: bool, seen: set[str]) -> scrapy.Request:
        headers = {}
        if root and job.etag:
            headers["If-None-Match"] = job.etag
        if root and job.last_modified:
            headers["If-Modified-Since"] = job.last_modified
        cap = self.settings.getint("TRACKER_SOURCE_MAX_BYTES")
        return scrapy.Request(url, callback=self._on_response, errback=self._on_failure, headers=headers,
                              dont_filter=True,
                              meta={"job": job, "root": root, "seen": seen, "requested_at": now_iso(), "asked": url,
                                    "handle_httpstatus_list": HANDLED_STATUSES,
                                    "download_maxsize": cap, "download_warnsize": cap})

    def parse_source(self, response: Response) -> Iterator[PollResult | scrapy.Request]:
        meta = response.meta
        job: SourceJob = meta["job"]
        result = PollResult(job.source_id, meta["asked"], meta["requested_at"], root=meta["root"],
                            status=response.status,
                            elapsed_ms=_latency(meta), body=response.body, headers=_headers(response.headers),
                            request_headers=_headers(response.request.headers) if response.request else {},
                            final_url=response.url)
        children: list[str] = []
        if response.status == 304:
            result.outcome = "not_modified"
        elif not 200 <= response.status < 300:
            result.outcome = "gone" if response.status in (404, 410) else "http_error"
            result.problems.append(f"HTTP {response.status}")
            result.retry_after = _retry_after(result.headers.get("retry-after"))
        else:
            try:
                children = self.read(job, response, result)
            except SourceError as exc:
                result.outcome = "parse_error"
                result.problems.append(str(exc))
        result.etag, result.last_modified = result.headers.get("etag"), result.headers.get("last-modified")
        requests = list(self._children(job, children, meta["seen"], result))  # notes its problems first
        yield result
        yield from requests

    def read(self, job: SourceJob, response: Response, result: PollResult) -> list[str]:
        """Items into `result`; returns the child sitemaps of a sitemap index."""
        children: list[str] = []
        limit = self.settings.getint("TRACKER_SOURCE_MAX_ITEMS")
        if job.kind == "feed":
            items, problems = parse_feed(response.body, response.url, result.headers.get("content-type"), limit)
        elif job.kind == "sitemap":
            items, children, problems = read_sitemap(response.body, response.url,
                                                     self.settings.getint("TRACKER_SOURCE_MAX_BYTES"))
        else:
            items, problems = read_listing(response, job.link_pattern or ""), []
        result.items, settled = settle_items(items, limit, dated=job.kind != "listing")
        result.problems += problems + settled
        return children

    def _children(self, job: SourceJob, urls: list[str], seen: set[str],
                  result: PollResult) -> Iterator[scrapy.Request]:
        cap = self.settings.getint("TRACKER_SOURCE_MAX_SITEMAPS")
        for url in urls:
            if url in seen:
                result.problems.append(f"sitemap index lists {url}, already read in this poll: not read again")
            elif len(seen) >= cap:
                result.problems.append(f"more than {cap} sitemaps in one poll (TRACKER_SOURCE_MAX_SITEMAPS): "
                                       "the rest not read")
                return
            else:
                seen.add(url)
                yield self.request_for(job, url, root=False, seen=seen)

    def on_error(self, failure: Failure) -> Iterator[PollResult]:
        request = failure.request  # type: ignore[attr-defined]
        exc = failure.value
        if isinstance(exc, DeadlineReached):
            return  # never sent: the source stays due
        yield PollResult(request.meta["job"].source_id, request.meta["asked"], request.meta["requested_at"],
                         root=request.meta["root"], outcome=classify_error(exc),
                         problems=[describe_error(exc)], elapsed_ms=_latency(request.meta))


def read_sitemap(body: bytes, url: str, max_bytes: int) -> tuple[list[FoundItem], list[str], list[str]]:
    """A sitemap's article URLs (with lastmod as their date), or an index's child sitemaps; and
    problems. Gzipped sitemaps are unpacked (within `max_bytes`). SourceError if not a sitemap."""
    if body[:2] == b"\x1f\x8b":
        try:
            body = gunzip(body, max_size=max_bytes)
        except (OSError, ValueError) as exc:  # broken gzip, or past the size cap (a zip bomb)
            raise SourceError(f"{url}: gzipped sitemap not readable within {max_bytes} bytes: {exc}") from exc
    refuse_entities(body, url)
    try:
        sitemap = Sitemap(body)
    except Exception as exc:  # lxml's errors on input that has no root element at all
        raise SourceError(f"{url}: not a sitemap ({type(exc).__name__}: {exc})") from exc
    if sitemap.type == "sitemapindex":
        return [], [entry["loc"] for entry in sitemap if entry.get("loc")], []
    if sitemap.type != "urlset":
        raise SourceError(f"{url}: not a sitemap (root element <{sitemap.type}>)")
    items = [FoundItem(entry["loc"], None, item_date(entry.get("lastmod"))) for entry in sitemap if entry.get("loc")]
    return items, [], []


def read_listing(response: Response, pattern: str) -> list[FoundItem]:
    """Links of a listing page whose URL matches the source's pattern, in page order."""
    if not isinstance(response, TextResponse) or "html" not in (response.headers.get("Content-Type") or b"html").decode(
            "latin-1").lower():
        raise SourceError(f"{response.url}: not an HTML page, cannot list its links")
    links = LinkExtractor(allow=pattern, unique=True).extract_links(response)
    return [FoundItem(link.url, link.text.strip() or None) for link in links]


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


class SourcePollPipeline:
    """Archive each response to WARC (warc/sources/, apart from article pages) and save the poll."""

    def __init__(self, crawler: Crawler) -> None:
        s = crawler.settings
        self.db_path = s.get("TRACKER_DB")
        self.folder = warc_folder(s) / "sources"
        self.max_bytes, self.level = s.getint("TRACKER_WARC_MAX_BYTES"), s.getint("TRACKER_WARC_GZIP_LEVEL")
        self.policy = policy_from_settings(s.get)
        self.run_id = s.getint("TRACKER_RUN_ID") or None
        self.db: Database | None = None
        self.archive: WarcArchive | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourcePollPipeline:
        return cls(crawler)

    def open_spider(self, spider: scrapy.Spider | None = None) -> None:
        self.db = open_db(self.db_path)
        self.archive = WarcArchive(Path(self.folder), self.max_bytes, level=self.level)

    def close_spider(self, spider: scrapy.Spider | None = None) -> None:
        if self.archive is not None:
            self.archive.close()
        if self.db is not None:
            self.db.close()

    def process_item(self, item: PollResult, spider: scrapy.Spider | None = None) -> PollResult:
        assert self.db is not None and self.archive is not None
        warc_file = None
        # A 304 carries nothing to archive (its poll row records it); archiving one costs more
        # than the rest of its handling.
        if item.status is not None and item.status != 304:
            page = PageResult(url=item.url, requested_at=item.requested_at, status=item.status,
                              final_url=item.final_url, headers=item.headers, body=item.body,
                              elapsed_ms=item.elapsed_ms)
            warc_file = self.archive.write(page, item.request_headers)
        saved = save_poll_result(self.db, item, self.policy, self.run_id, warc_file)
        logger.info("%s %s -> %s, %d items, %d new", item.status or "---", item.url, item.outcome,
                    saved.found, saved.new)
        item.body = b""
        return item
