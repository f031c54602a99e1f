"""Network faults: a per-host circuit breaker and a whole-run deadline.

A crawl of old news meets many dead hosts, and a network outage makes every host dead. Without a
breaker each of a dead host's articles is tried (and retried) on its own, one host slot at a time:
an hourly run then takes an hour. Crawlers that run unattended stop at a host that keeps failing
(Apache Nutch's fetcher.max.exceptions.per.queue, Heritrix's failed DNS lookups); so do we.

- HostCircuitBreaker (first downloader middleware): once a host has failed TRACKER_HOST_FAILURES
  times in a row at the connection level, every later request for it in this run fails at once
  with HostDownError, before any DNS lookup, robots.txt wait or download slot.
- HostFailureCounter (just above the retry middleware): sees every attempt's outcome, retries
  and robots.txt fetches included, and counts or resets the host's run of failures.
- RunDeadline (extension): at TRACKER_MAX_RUNTIME after the crawl opened, or at the absolute
  TRACKER_DEADLINE (epoch seconds, set by `tracker run` for the whole job), stops scheduling:
  the spider is closed with reason "deadline", in-flight pages finish within their own timeout,
  and what was never requested stays due for the next run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import (CannotResolveHostError, DownloadConnectionRefusedError,
                               DownloadFailedError, DownloadTimeoutError, IgnoreRequest,
                               NotConfigured)
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import error as tx_error
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure

from tracker.crawl.policy import parse_duration

logger = logging.getLogger(__name__)

# Failures that say the host (or the way to it) is down, not that one page is bad. TLS errors
# arrive as DownloadFailedError (Twisted's ResponseNeverReceived) or as OpenSSL's own class.
CONNECTION_FAILURES: tuple[type[BaseException], ...] = (
    CannotResolveHostError, DownloadConnectionRefusedError, DownloadTimeoutError,
    DownloadFailedError, tx_error.ConnectError, tx_error.ConnectionLost, tx_error.ConnectionDone,
    tx_error.TimeoutError, TimeoutError, ConnectionError,
)
DNS_FAILURES: tuple[type[BaseException], ...] = (CannotResolveHostError, tx_error.DNSLookupError)
RESET_RULES = ("response", "success")

DEADLINE_REASON = "deadline"


class DeadlineReached(IgnoreRequest):
    """A request dropped unsent at the run's deadline: not an attempt, nothing is recorded."""


class HostDownError(IgnoreRequest):
    """A request not sent because its host failed too often in a row in this run."""

    def __init__(self, host: str, failures: int, last_error: str) -> None:
        super().__init__(f"host_down: {host} failed {failures} times in a row in this run "
                         f"(last: {last_error}); not requested")
        self.host = host


def is_connection_failure(exc: BaseException) -> bool:
    """True for DNS, refused, reset, TLS and timeout failures (not for a bad page)."""
    return isinstance(exc, CONNECTION_FAILURES) or "SSL" in type(exc).__module__ + type(exc).__name__


def is_dns_failure(exc: BaseException) -> bool:
    """A name that did not resolve: retrying it a second later does not help."""
    return isinstance(exc, DNS_FAILURES)


@dataclass
class HostHealth:
    """Consecutive connection-level failures per host, shared by the breaker and the counter."""

    limit: int
    reset_on: str = "response"
    failures: dict[str, int] = field(default_factory=dict)
    last_error: dict[str, str] = field(default_factory=dict)

    def is_down(self, host: str) -> bool:
        return self.failures.get(host, 0) >= self.limit

    def failed(self, host: str, exc: BaseException) -> None:
        count = self.failures.get(host, 0) + 1
        self.failures[host] = count
        self.last_error[host] = f"{type(exc).__name__}: {exc}"[:300]
        if count == self.limit:
            logger.warning("host %s failed %d times in a row (last: %s): its other requests in "
                           "this run are recorded as host_down", host, count, self.last_error[host])

    def answered(self, host: str, status: int) -> None:
        if self.reset_on == "response" or status < 500:
            self.failures.pop(host, None)

    def error_for(self, host: str) -> HostDownError:
        return HostDownError(host, self.failures.get(host, 0), self.last_error.get(host, "?"))

    @classmethod
    def of(cls, crawler: Crawler) -> HostHealth:
        """The crawler's one HostHealth (the two middlewares are built separately by Scrapy)."""
        health = getattr(crawler, "_tracker_host_health", None)
        if health is None:
            limit = crawler.settings.getint("TRACKER_HOST_FAILURES")
            if limit <= 0:
                raise NotConfigured("TRACKER_HOST_FAILURES is 0: no host circuit breaker")
            reset_on = crawler.settings.get("TRACKER_HOST_FAILURES_RESET") or "response"
            if reset_on not in RESET_RULES:
                raise ValueError(f"TRACKER_HOST_FAILURES_RESET={reset_on!r}: use one of {RESET_RULES}")
            health = cls(limit, reset_on)
            crawler._tracker_host_health = health  # type: ignore[attr-defined]
        return health


def _host(request: Request) -> str:
    return urlparse_cached(request).hostname or ""


class HostCircuitBreaker:
    """Downloader middleware, first in line: requests for a host that is down fail at once."""

    def __init__(self, health: HostHealth) -> None:
        self.health = health

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostCircuitBreaker:
        return cls(HostHealth.of(crawler))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        host = _host(request)
        if self.health.is_down(host):
            raise self.health.error_for(host)
        return None


class HostFailureCounter:
    """Downloader middleware next to the download: counts each attempt's connection failure
    (before the retry middleware turns it into a retry) and resets a host that answers."""

    def __init__(self, health: HostHealth) -> None:
        self.health = health

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostFailureCounter:
        return cls(HostHealth.of(crawler))

    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Response:
        self.health.answered(_host(request), response.status)
        return response

    def process_exception(self, request: Request, exception: Exception,
                          spider: Spider | None = None) -> None:
        if is_connection_failure(exception):
            self.health.failed(_host(request), exception)
        return None


class RunDeadline:
    """Extension: closes the spider (reason "deadline") when the run's time is up."""

    def __init__(self, crawler: Crawler, max_runtime: float | None, deadline: float | None) -> None:
        self.crawler = crawler
        self.max_runtime = max_runtime
        self.deadline = deadline
        self.call: object = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunDeadline:
        raw = crawler.settings.get("TRACKER_MAX_RUNTIME")
        max_runtime = parse_duration(raw).total_seconds() if raw else None
        deadline = crawler.settings.getfloat("TRACKER_DEADLINE") or None
        if max_runtime is None and deadline is None:
            raise NotConfigured("no TRACKER_MAX_RUNTIME or TRACKER_DEADLINE")
        return cls(crawler, max_runtime, deadline)

    def spider_opened(self, spider: Spider) -> None:
        from twisted.internet import reactor as twisted_reactor

        reactor: Any = twisted_reactor  # the installed reactor; its module attribute is untyped
        ends = [t for t in (self.deadline,
                            time.time() + self.max_runtime if self.max_runtime else None) if t]
        delay = max(0.0, min(ends) - time.time())
        logger.info("run deadline in %.0f s: no new request after that", delay)
        self.call = reactor.callLater(delay, self._stop)

    def _stop(self) -> None:
        engine = self.crawler.engine
        if engine is None or engine.spider is None:
            return
        logger.warning("run deadline reached: no new requests; in-flight pages finish, "
                       "the rest stays due for the next run")
        stop_crawl(self.crawler, DEADLINE_REASON)

    def spider_closed(self, spider: Spider) -> None:
        if self.call is not None and self.call.active():  # type: ignore[attr-defined]
            self.call.cancel()  # type: ignore[attr-defined]


def stop_crawl(crawler: Crawler, reason: str) -> None:
    """Stop the crawl as the deadline and SIGTERM/SIGINT do: no new request is sent, pages in
    flight finish within their own timeout, the spider closes with `reason`.

    Closing stops the scheduler, but Scrapy would still send every request already handed to
    the downloader and waiting in a host's queue for its politeness delay (up to the 32 of
    CONCURRENT_REQUESTS): those are dropped unsent (DeadlineReached, recorded as nothing), now
    and as more arrive from the middlewares (robots.txt waits) until the spider is closed."""
    engine = crawler.engine
    if engine is None or engine.spider is None:
        return
    drain = LoopingCall(_drop_queued, engine.downloader)
    drain.start(0.5, now=True)
    closed = deferred_from_coro(engine.close_spider_async(reason=reason))
    closed.addBoth(_stop_looping, drain)


def _drop_queued(downloader: Any) -> None:
    for slot in list(downloader.slots.values()):
        while slot.queue:
            request, waiting = slot.queue.popleft()
            waiting.errback(Failure(DeadlineReached(f"not sent: the run is stopping ({request.url})")))


def _stop_looping(result: Any, call: LoopingCall) -> Any:
    if call.running:
        call.stop()
    return result


def install_stop_signals(crawler: Crawler) -> None:
    """In the crawl process, instead of Scrapy's handlers: the first SIGTERM or SIGINT stops the
    crawl like the deadline (reason "shutdown"); a second one stops the reactor at once."""
    from scrapy.utils.ossignal import install_shutdown_handlers
    from twisted.internet import reactor as twisted_reactor

    reactor: Any = twisted_reactor  # the installed reactor; its module attribute is untyped

    def second(signum: int, frame: Any) -> None:
        reactor.callFromThread(reactor.stop)

    def first(signum: int, frame: Any) -> None:
        install_shutdown_handlers(second)
        reactor.callFromThread(stop_crawl, crawler, "shutdown")

    reactor.addSystemEventTrigger(
        "after", "startup", install_shutdown_handlers, first)
