"""AutoThrottle that also honours robots.txt Crawl-delay (Scrapy's robots support ignores it)."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, signals
from scrapy.core.downloader import Slot
from scrapy.crawler import Crawler
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response

from tracker.crawl.policy import finite_seconds

logger = logging.getLogger(__name__)


class CrawlDelayThrottle(AutoThrottle):
    """Per-host delay = max(AutoThrottle's latency-based delay, the host's robots.txt Crawl-delay).

    The Crawl-delay is read when Scrapy parses a host's robots.txt (the robots_parsed signal) and
    applied to that host's download slot at once and after every adjustment."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)  # NotConfigured unless AUTOTHROTTLE_ENABLED
        self.max_crawl_delay = crawler.settings.getfloat("TRACKER_MAX_CRAWL_DELAY")
        self.user_agent = crawler.settings.get("USER_AGENT")
        self.crawl_delays: dict[str, float] = {}
        crawler.signals.connect(self._robots_parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlDelayThrottle:
        return cls(crawler)

    def _robots_parsed(self, robotparser: Any, request: Request) -> None:
        delay = finite_seconds(robotparser.crawl_delay(self.user_agent))
        if not delay:  # none, 0, or not a usable number ("nan", "inf")
            return
        if delay > self.max_crawl_delay:
            logger.warning("%s asks for Crawl-delay %s s; capped at %s s", request.url, delay,
                           self.max_crawl_delay)
            delay = self.max_crawl_delay
        key, slot = self._slot_for(request)
        self.crawl_delays[key] = float(delay)
        if slot is not None:
            slot.delay = max(slot.delay, float(delay))

    def _slot_for(self, request: Request) -> tuple[str, Slot | None]:
        downloader = self.crawler.engine.downloader  # type: ignore[union-attr]
        key = downloader.get_slot_key(request)
        return key, downloader.slots.get(key)

    def _response_downloaded(self, response: Response, request: Request, spider: Any = None) -> None:
        super()._response_downloaded(response, request, spider)
        key, slot = self._slot_for(request)
        floor = self.crawl_delays.get(key)
        if floor and slot is not None:
            slot.delay = max(slot.delay, floor)
