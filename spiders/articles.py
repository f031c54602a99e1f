"""The articles spider: fetch every due article, canonical URL first, then its other aliases."""

from __future__ import annotations

import logging
import time
from typing import Any, AsyncIterator, Iterator

import scrapy
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.http import Response
from twisted.python.failure import Failure

from spiders.faults import DeadlineReached, HostDownError
from spiders.middlewares import ATTEMPT_STARTED, RefusedRequest
from tracker.crawl.runner import CrawlJob, load_due_jobs
from tracker.dates import now_iso
from tracker.crawl.pages import SUCCESS, PageResult, outcome_for_status

logger = logging.getLogger(__name__)

# Every final status reaches the spider (to be recorded), except redirects, which are followed.
HANDLED_STATUSES = [304, *range(400, 600)]
TIMEOUT_NAMES = ("TimeoutError", "DownloadTimeoutError", "TCPTimedOutError")


class ArticleSpider(scrapy.Spider):
    """Reads due articles from the database; yields one PageResult per attempt."""

    name = "articles"

    async def start(self) -> AsyncIterator[Any]:  # Scrapy's own type; the worker spider also yields items
        settings = self.settings
        jobs = load_due_jobs(settings.get("TRACKER_DB"), settings.getint("TRACKER_LIMIT"),
                             settings.get("TRACKER_RECRAWL_AFTER") or None)
        logger.info("%d articles due", len(jobs))
        for job in jobs:
            yield self.request_for(job, 0)

    def request_for(self, job: CrawlJob, index: int) -> scrapy.Request:
        headers = {}
        if index == 0 and job.etag:
            headers["If-None-Match"] = job.etag
        if index == 0 and job.last_modified:
            headers["If-Modified-Since"] = job.last_modified
        return scrapy.Request(
            job.urls[index], callback=self.parse_page, errback=self.on_error, headers=headers,
            dont_filter=True,
            meta={"job": job, "index": index, "requested_at": now_iso(),
                  "handle_httpstatus_list": HANDLED_STATUSES})

    def parse_page(self, response: Response) -> Iterator[PageResult | scrapy.Request]:
        meta = response.meta
        job, index = meta["job"], meta["index"]
        page = PageResult(
            url=job.urls[index], requested_at=meta["requested_at"], article_id=job.article_id,
            status=response.status, final_url=response.url, headers=_headers(response.headers),
            body=response.body, elapsed_ms=_latency(meta), outcome=outcome_for_status(response.status),
            redirects=list(meta.get("redirect_urls", []))[1:],
            request_headers=_headers(response.request.headers) if response.request else {},
            run_id=self.settings.getint("TRACKER_RUN_ID") or None)
        yield page
        if page.outcome not in SUCCESS and response.status != 429:
            yield from self._fallback(job, index)

    def on_error(self, failure: Failure) -> Iterator[PageResult | scrapy.Request]:
        request = failure.request  # type: ignore[attr-defined]
        job, index = request.meta["job"], request.meta["index"]
        exc = failure.value
        if isinstance(exc, DeadlineReached):
            return  # never sent: no attempt to record, the article stays due
        yield PageResult(
            url=job.urls[index], requested_at=request.meta["requested_at"], article_id=job.article_id,
            outcome=classify_error(exc), error_class=type(exc).__name__,
            error_message=describe_error(exc), elapsed_ms=_latency(request.meta),
            run_id=self.settings.getint("TRACKER_RUN_ID") or None)
        yield from self._fallback(job, index)

    def _fallback(self, job: CrawlJob, index: int) -> Iterator[scrapy.Request]:
        if index + 1 < len(job.urls):
            yield self.request_for(job, index + 1)


def classify_error(exc: BaseException) -> str:
    """The outcome of a failed attempt, from the exception that failed it."""
    message = str(exc).lower()
    if isinstance(exc, HostDownError):
        return "host_down"
    if isinstance(exc, RefusedRequest):
        return "refused"
    if isinstance(exc, HttpError):  # only redirects are not handled: one Scrapy would not follow
        return "refused"
    if isinstance(exc, IgnoreRequest) and "robots.txt" in message:
        return "robots"
    # Scrapy cancels a body past DOWNLOAD_MAXSIZE (DownloadCancelledError, no message) and ignores
    # one that decompresses past it (a gzip bomb).
    if isinstance(exc, DownloadCancelledError) or "max size" in message or "maxsize" in message:
        return "too_large"
    if type(exc).__name__ in TIMEOUT_NAMES or "timed out" in message.lower():
        return "timeout"
    return "network_error"


def describe_error(exc: BaseException) -> str:
    """A message that says what happened, for exceptions that carry none."""
    if isinstance(exc, HttpError):
        response = exc.response
        location = (response.headers.get(b"Location") or b"").decode("latin-1")
        return f"{response.status} redirect to {location!r}, not an http(s) URL: not followed"
    if isinstance(exc, DownloadCancelledError) and not str(exc):
        return "download cancelled: body larger than DOWNLOAD_MAXSIZE"
    return str(exc) or repr(exc)


def _headers(headers: Any) -> dict[str, str]:
    out = {}
    for name, values in headers.items():
        if values:
            out[name.decode("latin-1").lower()] = values[-1].decode("latin-1")
    return out


def _latency(meta: dict[str, Any]) -> float | None:
    """The attempt's duration, from its first arrival at the downloader to now (retries and
    timeouts included); Scrapy's download_latency only where that mark is missing."""
    started = meta.get(ATTEMPT_STARTED)
    if started is not None:
        return round((time.monotonic() - started) * 1000, 1)
    latency = meta.get("download_latency")
    return round(latency * 1000, 1) if latency is not None else None
