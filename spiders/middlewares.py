"""Downloader middlewares: refuse non-public targets, retry with back-off, time each attempt."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import CannotResolveHostError, DownloadCancelledError, IgnoreRequest
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IResolutionReceiver
from zope.interface import implementer

from spiders.faults import is_dns_failure
from tracker.crawl.policy import parse_retry_after
from tracker.store import open_db
from tracker.store.fetches import load_hosts, save_hosts

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedRequest(IgnoreRequest):
    """A request the tracker will not send (bad scheme, non-public address)."""


def is_public(address: str) -> bool:
    """True for a globally routable unicast address (not loopback, private, link-local, ...)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class PublicAddressMiddleware:
    """Only http(s) to public addresses: checked after DNS before each request (redirects come back
    through here as new requests) and again on the address a response actually came from, which
    defeats DNS rebinding. TRACKER_ALLOW_PRIVATE or TRACKER_ALLOWED_NETWORKS open it up."""

    def __init__(self, allow_all: bool, allowed: list[Network], cache_seconds: float = 0.0) -> None:
        self.allow_all = allow_all
        self.allowed = allowed
        # host -> (expiry on the monotonic clock, addresses): one lookup per host and TTL instead
        # of one per request (a thread hop each). Safe: the response's own peer address is
        # checked in process_response whatever the cache says.
        self.cache_seconds = cache_seconds
        self._resolved: dict[str, tuple[float, list[str]]] = {}
        # host -> the lookup in progress: requests for a host that arrive together share one
        # lookup, so a name that times out costs one timeout, not one per waiting request.
        self._pending: dict[str, asyncio.Future[list[str]]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PublicAddressMiddleware:
        settings = crawler.settings
        networks = [ipaddress.ip_network(n, strict=False)
                    for n in settings.getlist("TRACKER_ALLOWED_NETWORKS")]
        return cls(settings.getbool("TRACKER_ALLOW_PRIVATE"), networks,
                   settings.getfloat("TRACKER_DNS_CHECK_CACHE_SECONDS"))

    def allows(self, address: str) -> bool:
        if self.allow_all or is_public(address):
            return True
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        return any(ip in network for network in self.allowed)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        parts = urlparse_cached(request)
        if parts.scheme not in ("http", "https"):
            raise RefusedRequest(f"refused {request.url}: only http and https are fetched")
        host = parts.hostname or ""
        addresses = await self.resolve(host, parts.port)
        if not addresses:
            # Failed here rather than left to the download, which would ask the resolver again.
            raise CannotResolveHostError(f"DNS lookup failed: no address for {host!r}")
        for address in addresses:
            if not self.allows(address):
                raise RefusedRequest(f"refused {request.url}: {host} resolves to {address}, "
                                     f"a non-public address (use --allow-private to fetch it)")
        return None

    async def resolve(self, host: str, port: int | None) -> list[str]:
        """The host's addresses, from the cache while fresh. A failure ([]) is cached as long:
        in a real outage each lookup may wait out the system resolver's timeout, and a host's
        robots.txt and articles asked again one by one (1.8 lookups an article, 192 s for the
        shared seeds here)."""
        now = time.monotonic()
        cached = self._resolved.get(host)
        if cached and cached[0] > now:
            return cached[1]
        pending = self._pending.get(host)
        if pending is None:
            pending = asyncio.ensure_future(_resolve(host, port))
            self._pending[host] = pending
            pending.add_done_callback(lambda _: self._pending.pop(host, None))
        addresses = await asyncio.shield(pending)  # one waiter cancelled does not cancel the rest
        if self.cache_seconds > 0:
            self._resolved[host] = (now + self.cache_seconds, addresses)
        return addresses

    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Response:
        address = getattr(response, "ip_address", None)
        if address is not None and not self.allows(str(address)):
            raise RefusedRequest(f"refused {request.url}: answered from {address}, a non-public address")
        return response


async def _resolve(host: str, port: int | None) -> list[str]:
    """The addresses the download will connect to: asked of the resolver Scrapy installed on the
    reactor (TWISTED_DNS_RESOLVER), the one its connections use, so that the check sees the same
    answer (and shares its cache), and a resolver set for a run governs both. [] if it fails."""
    if not host:
        return []
    try:
        ipaddress.ip_address(host)
        return [host]  # a literal address is connected to as it is
    except ValueError:
        pass
    from twisted.internet import reactor

    receiver = _Addresses()
    reactor.nameResolver.resolveHostName(receiver, host, port or 80)  # type: ignore[attr-defined]
    return await maybe_deferred_to_future(receiver.done)


@implementer(IResolutionReceiver)
class _Addresses:
    """Collects a hostname resolution's addresses; `done` fires with them (none on failure)."""

    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.done: Deferred[list[str]] = Deferred()

    def resolutionBegan(self, resolution: Any) -> None:  # noqa: N802 - Twisted's interface
        pass

    def addressResolved(self, address: Any) -> None:  # noqa: N802
        self.addresses.append(str(address.host))

    def resolutionComplete(self) -> None:  # noqa: N802
        self.done.callback(sorted(set(self.addresses)))


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries, with a pause before each: the server's Retry-After when it gives one,
    else TRACKER_RETRY_BACKOFF_BASE doubled per attempt, capped at TRACKER_RETRY_BACKOFF_MAX."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("TRACKER_RETRY_BACKOFF_BASE")
        self.cap = settings.getfloat("TRACKER_RETRY_BACKOFF_MAX")

    def _delay(self, request: Request, response: Response | None = None) -> float:
        retries = request.meta.get("retry_times", 0)
        delay = self.base * (2 ** retries)
        if response is not None:
            retry_after = parse_retry_after(response.headers.get(b"Retry-After"))
            delay = delay if retry_after is None else retry_after
        return min(max(delay, 0.0), self.cap)

    # Scrapy (2.13+) takes coroutine middleware methods; RetryMiddleware declares them plain.
    async def process_response(self, request: Request, response: Response,  # type: ignore[override]
                               spider: Spider | None = None) -> Request | Response:
        result = super().process_response(request, response)
        if isinstance(result, Request):
            await asyncio.sleep(self._delay(request, response))
        return result

    async def process_exception(self, request: Request, exception: Exception,  # type: ignore[override]
                                spider: Spider | None = None) -> Request | Response | None:
        if is_dns_failure(exception):
            return None  # a name that did not resolve will not a second later: no retries
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await asyncio.sleep(self._delay(request))
        return result


class HostMemoryMiddleware:
    """Per-host politeness across runs: the time of the last request to each host and its delay
    are kept in the database, so a new run's first request to a host still waits out the delay
    the previous run owed it (an hourly job must not burst a host it just left)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.db_path = crawler.settings.get("TRACKER_DB")
        self.default_delay = crawler.settings.getfloat("DOWNLOAD_DELAY")
        self.previous: dict[str, tuple[float, float]] = {}
        self.seen: dict[str, float] = {}
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostMemoryMiddleware:
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        db = open_db(self.db_path)
        self.previous = load_hosts(db)
        db.close()

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        host = urlparse_cached(request).hostname or ""
        if host not in self.seen and host in self.previous:
            last, delay = self.previous[host]
            wait = last + delay - time.time()
            if wait > 0:
                await asyncio.sleep(min(wait, 600.0))
        self.seen[host] = time.time()
        return None

    def spider_closed(self, spider: Spider) -> None:
        slots = self.crawler.engine.downloader.slots if self.crawler.engine else {}
        hosts = {host: (at, max(self.default_delay, getattr(slots.get(host), "delay", 0.0)))
                 for host, at in self.seen.items()}
        db = open_db(self.db_path)
        save_hosts(db, hosts)
        db.close()


class WaitingRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, fixed for requests that arrive while a host's robots.txt is
    being fetched. Scrapy 2.19 has them all await the same Deferred through Deferred.asFuture,
    whose callback returns None: the first waiter gets the parser, every other one None, which
    means "no robots.txt, fetch anything". Each waiter here waits for the fetch to end, then
    reads the parser (or None after a failed fetch) that Scrapy stored for the host."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        pending = self._parsers.get(netloc)
        if not isinstance(pending, Deferred):
            return await super().robot_parser(request)  # fetches robots.txt, or has it already
        ended: Deferred[None] = Deferred()
        pending.addBoth(_relay, ended)
        await maybe_deferred_to_future(ended)
        parser = self._parsers.get(netloc)  # the parser now (None if robots.txt failed)
        return None if isinstance(parser, Deferred) else parser


    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        """Parse the first ROBOTS_MAX_BYTES only, as Google does (RFC 9309 asks for at least
        500 KiB): a longer file is cut at its last whole line within them."""
        body = response.body
        if len(body) > ROBOTS_MAX_BYTES:
            cut = body.rfind(b"\n", 0, ROBOTS_MAX_BYTES)
            body = body[:cut + 1 if cut >= 0 else ROBOTS_MAX_BYTES]
            logger.warning("%s: robots.txt of %d bytes; only its first %d are read", response.url,
                           len(response.body), len(body))
            response = response.replace(body=body)
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        """A robots.txt that could not be read whole for its size (cut off at DOWNLOAD_MAXSIZE)
        means "disallow all" for this run: fetching as if there were none would ignore it. Other
        failures (DNS, refused, timeout) stay "no robots.txt": the page's own request meets the
        same failure and is recorded as what it is."""
        if not _cut_off(exc):
            super()._robots_error(exc, netloc)
            return
        logger.warning("robots.txt of %s could not be read (%s): nothing on it is fetched", netloc, exc)
        pending = self._parsers[netloc]
        parser = build_from_crawler(self._parserimpl, self.crawler, DISALLOW_ALL)
        self._parsers[netloc] = parser
        if isinstance(pending, Deferred):
            pending.callback(parser)


# Google reads the first 500 KiB of a robots.txt; RFC 9309 asks crawlers for at least that.
ROBOTS_MAX_BYTES = 500 * 1024
DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


def _cut_off(exc: Exception) -> bool:
    """Scrapy cancels a download that passes DOWNLOAD_MAXSIZE, and ignores a response that
    decompresses past it, saying "max size" either way."""
    text = str(exc).lower()
    return (isinstance(exc, (CancelledError, DownloadCancelledError))
            or "max size" in text or "maxsize" in text)


def _relay(result: Any, ended: Deferred[None]) -> Any:
    ended.callback(None)
    return result  # unchanged, for the callbacks after this one


class AttemptClockMiddleware:
    """Downloader middleware, first in line: notes when an attempt first reaches the downloader.
    Retries are copies of the request and keep the mark, so the spider's elapsed_ms covers the
    whole attempt (robots.txt wait, timeouts, retries and their back-off), not just the time to
    the last response's headers (Scrapy's download_latency, absent after an error)."""

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        request.meta.setdefault(ATTEMPT_STARTED, time.monotonic())
        return None


ATTEMPT_STARTED = "tracker_attempt_started"
