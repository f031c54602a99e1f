"""A DNS resolver for `tracker bench outage`: every name fails, as in a network outage or for the
dead domains of old news. Installed in the crawl child by the setting
TWISTED_DNS_RESOLVER = "spiders.resolver.OutageResolver"; nothing leaves the machine. Literal
addresses (the local benchmark site on 127.0.0.1) resolve to themselves, as with any resolver.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from scrapy.crawler import Crawler
from twisted.internet import defer, threads
from twisted.internet.abstract import isIPAddress
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer


@implementer(IResolverSimple)
class OutageResolver:
    """Answers every name lookup with DNSLookupError; a literal IPv4 address with itself
    (Twisted's connections pass those through the resolver too). At once by default; with
    TRACKER_OUTAGE_DNS_SECONDS, each failure takes that long in the reactor's thread pool, as
    a lookup that times out does in Scrapy's threaded resolver (a DNS server that answers nothing)."""

    def __init__(self, reactor: Any, seconds: float = 0.0) -> None:
        self.reactor = reactor
        self.seconds = seconds

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> OutageResolver:
        return cls(reactor, crawler.settings.getfloat("TRACKER_OUTAGE_DNS_SECONDS", 0.0))

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:  # noqa: N802
        if isIPAddress(name):
            return defer.succeed(name)
        failure = DNSLookupError(f"{name}: no answer (simulated outage)")
        if self.seconds <= 0:
            return defer.fail(failure)
        waited = threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(),
                                           time.sleep, self.seconds)
        return waited.addCallback(_raise, failure)


def _raise(_: Any, failure: Exception) -> str:
    raise failure
