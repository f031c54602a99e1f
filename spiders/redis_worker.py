"""The distributed worker: the articles spider fed from the Redis queue instead of the database.

`tracker crawl --redis URL` runs this spider (spiders/crawl_process.py picks it when TRACKER_REDIS_URL is
set). Fetching is the single-machine crawl's own: the same spider callbacks, the same downloader
middlewares (address check, robots.txt, retries with back-off, size caps, timeouts, TLS checks),
the same WARC archive and extraction pool. Three things differ, all here:

- `WorkerSpider.start` leases jobs from Redis (at most TRACKER_WORKER_PREFETCH at once), renews the
  leases while it works, claims jobs whose lease ran out, and gives back unfinished ones on a clean
  stop. A job handed out more than TRACKER_MAX_DELIVERIES times is recorded as failed, not fetched.
- `ExtractSendPipeline` sends each attempt (and its extraction) back through Redis instead of saving
  it; the job is acknowledged in the same MULTI as its last attempt's result.
- `SharedHostSlotMiddleware` takes a per-host slot in Redis before every request, so the delay,
  robots.txt Crawl-delay, AutoThrottle and per-host concurrency hold across all workers. It replaces
  this process's own per-host delay (and HostMemoryMiddleware, which needs the database: the shared
  slot outlives a crawl too).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Iterator

import scrapy
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from twisted.python.failure import Failure

from spiders.articles import ArticleSpider
from spiders.pipelines import ExtractSavePipeline
from tracker.crawl.runner import CrawlJob
from tracker.dates import now_iso
from tracker.crawl.distributed import consumer_name, decode_job, encode_result, open_queue
from tracker.extract.pool import ExtractorPool
from tracker.crawl.pages import PageResult
from tracker.crawl.queue import HostPolicy, Lease, QueueClosed, RedisQueue
from tracker.crawl.policy import finite_seconds

logger = logging.getLogger(__name__)

SLOT_POLL_SECONDS = 0.1  # how soon to ask again when all of a host's concurrent slots are taken


@dataclass(frozen=True)
class LeasedJob(CrawlJob):
    """A CrawlJob that knows its queue entry (it travels in request.meta["job"])."""

    entry_id: str = ""
    wire: Any = None  # the job as it came over the wire (token, run id)


@dataclass
class LeasedPage(PageResult):
    """A PageResult that knows its job, its attempt number and whether it is the job's last."""

    entry_id: str = ""
    job_wire: dict[str, Any] = field(default_factory=dict)
    attempt: int = 0
    final: bool = True


class WorkerSpider(ArticleSpider):
    """Takes jobs from the Redis queue; yields one LeasedPage per attempt."""

    name = "articles-worker"
    # Changes to the project's component dicts (merged in update_settings: custom_settings would
    # replace the whole dict, dropping the address check, robots.txt fix, retries and WARC).
    components: dict[str, dict[str, int | None]] = {
        "DOWNLOADER_MIDDLEWARES": {
            "spiders.middlewares.HostMemoryMiddleware": None,
            "spiders.redis_worker.SharedHostSlotMiddleware": 990,  # last: nothing waits after it
        },
        "EXTENSIONS": {"spiders.extensions.CrawlDelayThrottle": None},
        "ITEM_PIPELINES": {
            "spiders.pipelines.ExtractSavePipeline": None,
            "spiders.redis_worker.ExtractSendPipeline": 200,
        },
    }
    queue: RedisQueue
    consumer: str

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        super().update_settings(settings)
        for name, changes in cls.components.items():
            settings.set(name, {**settings.getdict(name), **changes}, priority="spider")
    executor: ThreadPoolExecutor

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_flight: dict[str, Lease] = {}
        self.held_since: dict[str, float] = {}  # entry id -> when this worker took it (monotonic)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> WorkerSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.queue = open_queue(settings.get("TRACKER_REDIS_URL"), settings.get)
        spider.consumer = consumer_name()
        # Redis calls block (and wait out outages) in their own threads, not in DNS's executor.
        spider.executor = ThreadPoolExecutor(8, thread_name_prefix="redis")
        crawler.signals.connect(spider.worker_closed, signal=signals.spider_closed)
        crawler.signals.connect(spider.job_failed, signal=signals.spider_error)
        crawler.signals.connect(spider.job_failed, signal=signals.item_error)
        return spider

    def job_failed(self, failure: Failure, response: Response | Failure | None = None, item: Any = None,
                   **_: Any) -> None:
        """A callback or pipeline failed on a job (a bug, or Redis gone while stopping): stop renewing
        its lease, so that it goes to a worker again (and is given up after too many deliveries)
        rather than being held for ever."""
        request = response.request if isinstance(response, Response) else getattr(response, "request", None)
        job = request.meta.get("job") if request is not None else None
        entry_id = item.entry_id if isinstance(item, LeasedPage) else getattr(job, "entry_id", None)
        if entry_id and self.in_flight.pop(entry_id, None) is not None:
            logger.error("job %s failed in this worker (%s); it goes back after its lease",
                         entry_id, failure.getErrorMessage())

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking queue call in the Redis threads."""
        return await asyncio.get_running_loop().run_in_executor(self.executor,
                                                                 functools.partial(fn, *args))

    async def start(self) -> AsyncIterator[Any]:  # requests, and results for jobs given up
        settings = self.settings
        lease = settings.getfloat("TRACKER_LEASE_SECONDS")
        heartbeat = asyncio.ensure_future(self._renew_leases(lease / 3, settings.getfloat("TRACKER_JOB_MAX_SECONDS")))
        logger.info("worker %s: taking jobs from Redis at %s", self.consumer, self.queue.url)
        try:
            async for lease_ in self._leases(settings.getint("TRACKER_WORKER_PREFETCH"),
                                             settings.getfloat("TRACKER_WORKER_IDLE_EXIT"),
                                             min(lease / 2, 10.0)):
                if lease_.entry_id in self.in_flight:
                    continue  # ours already (Redis was away longer than the lease): keep the one in hand
                self.in_flight[lease_.entry_id] = lease_
                self.held_since[lease_.entry_id] = time.monotonic()
                if lease_.deliveries > self.queue.max_deliveries:
                    yield self.given_up(lease_)
                    continue
                data = lease_.job
                job = decode_job(data)
                yield self.request_for(LeasedJob(job.article_id, job.urls, job.etag, job.last_modified,
                                                 entry_id=lease_.entry_id, wire=data), 0)
        finally:
            heartbeat.cancel()

    async def _leases(self, prefetch: int, idle_exit: float, reclaim_every: float) -> AsyncIterator[Lease]:
        """Leases as room frees up: expired ones first (every `reclaim_every` s), then new ones.
        Ends after `idle_exit` seconds with nothing held and nothing to take (0: never)."""
        idle_since = last_reclaim = time.monotonic()
        last_reclaim -= reclaim_every
        while True:
            room = prefetch - len(self.in_flight)
            if room <= 0:
                await asyncio.sleep(0.1)
                idle_since = time.monotonic()
                continue
            leases: list[Lease] = []
            if time.monotonic() - last_reclaim >= reclaim_every:
                last_reclaim = time.monotonic()
                leases = await self.call(self.queue.reclaim, self.consumer, room)
            if not leases:
                leases = await self.call(self.queue.lease, self.consumer, room, 1000)
            if leases or self.in_flight:
                idle_since = time.monotonic()
            elif idle_exit and time.monotonic() - idle_since >= idle_exit:
                logger.info("worker %s: idle for %.0f s, stopping", self.consumer, idle_exit)
                return
            for item in leases:
                yield item

    async def _renew_leases(self, every: float, max_age: float) -> None:
        while True:
            await asyncio.sleep(every)
            self.drop_stalled(max_age)
            try:
                await self.call(self.queue.renew, self.consumer, list(self.in_flight))
            except QueueClosed:
                return

    def drop_stalled(self, max_age: float, now: float | None = None) -> list[str]:
        """Stop renewing jobs held longer than any fetch can take (`max_age` s; 0: never): a job
        stuck without an error (a bug, a wedged download) would otherwise be renewed for ever. Its
        lease then runs out, another worker claims it, and after too many deliveries it is given up."""
        now = time.monotonic() if now is None else now
        stalled = []
        for entry, since in list(self.held_since.items()):
            if entry not in self.in_flight:
                del self.held_since[entry]  # finished or failed: forget when it was taken
            elif max_age and now - since > max_age:
                del self.in_flight[entry], self.held_since[entry]
                stalled.append(entry)
                logger.error("job %s held for %.0f s without finishing; its lease is left to run out so that "
                             "another worker takes it", entry, now - since)
        return stalled

    def given_up(self, lease: Lease) -> LeasedPage:
        """A failed attempt for a job that was handed out too often (it kills or hangs workers)."""
        job = decode_job(lease.job)
        logger.error("article %d given up after %d deliveries", job.article_id, lease.deliveries - 1)
        return LeasedPage(url=job.urls[0], requested_at=now_iso(), article_id=job.article_id,
                          outcome="network_error", error_class="GivenUp",
                          error_message=f"given up after {lease.deliveries - 1} deliveries: "
                                        "the workers that took it died or hung",
                          entry_id=lease.entry_id, job_wire=lease.job, attempt=0, final=True)

    def parse_page(self, response: Response) -> Iterator[PageResult | scrapy.Request]:
        yield from _tagged(list(super().parse_page(response)), response.meta)

    def on_error(self, failure: Failure) -> Iterator[PageResult | scrapy.Request]:
        yield from _tagged(list(super().on_error(failure)), failure.request.meta)  # type: ignore[attr-defined]

    def worker_closed(self, spider: scrapy.Spider, reason: str) -> None:
        """Give unfinished jobs back at once (else they wait for their lease to run out)."""
        self.queue.close()  # from now on, do not wait for an unreachable Redis
        unfinished = list(self.in_flight.values())
        try:
            self.queue.give_back(unfinished)
            if unfinished:
                logger.info("worker %s: gave back %d unfinished jobs", self.consumer, len(unfinished))
        except QueueClosed:
            logger.warning("worker %s: Redis unreachable; %d unfinished jobs go back when their "
                           "lease runs out", self.consumer, len(unfinished))
        self.executor.shutdown(wait=False, cancel_futures=True)


def _tagged(items: list[Any], meta: dict[str, Any]) -> Iterator[Any]:
    """Mark each attempt with its job and whether it is the job's last (no fallback follows)."""
    final = not any(isinstance(item, scrapy.Request) for item in items)
    job = meta["job"]
    for item in items:
        if isinstance(item, PageResult) and isinstance(job, LeasedJob):
            item = LeasedPage(**vars(item), entry_id=job.entry_id, job_wire=job.wire,
                              attempt=meta["index"], final=final)
        yield item


class ExtractSendPipeline(ExtractSavePipeline):
    """Extract as the single-machine crawl does, then send the attempt to the writer via Redis."""

    crawler: Crawler
    host: str  # this machine's name, prefixed to WARC file names in results

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractSendPipeline:
        pipeline = super().from_crawler(crawler)
        assert isinstance(pipeline, ExtractSendPipeline)
        pipeline.crawler = crawler
        pipeline.host = socket.gethostname()
        return pipeline

    def open_spider(self, spider: scrapy.Spider | None = None) -> None:
        self.pool = ExtractorPool(workers=self.workers, options=self.options)  # no database here

    async def process_item(self, item: PageResult, spider: scrapy.Spider | None = None) -> PageResult:
        worker = self.crawler.spider
        assert isinstance(worker, WorkerSpider) and isinstance(item, LeasedPage)
        extraction = await self.extract(item)
        if item.warc_file:
            item.warc_file = f"{self.host}:{item.warc_file}"  # which machine holds the WARC
        result = encode_result(item, extraction, item.job_wire, item.attempt, item.final, worker.consumer)
        await worker.call(worker.queue.finish, item.entry_id, [result], item.final)
        if item.final:
            worker.in_flight.pop(item.entry_id, None)
        logger.info("%s %s -> sent (attempt %d%s)", item.status or "---", item.url, item.attempt,
                    ", last" if item.final else "")
        item.body = b""
        return item


class SharedHostSlotMiddleware:
    """Per-host politeness across every worker: a slot in Redis before each request (see
    tracker/crawl/queue.py, acquire_host). The delay is the largest of DOWNLOAD_DELAY, the host's
    robots.txt Crawl-delay and the shared AutoThrottle delay; a host with a delay gets one request
    at a time across the cluster, the delay counted from the end of the previous one too (a grant
    is only the right to send: a busy worker may send a little later, and the host must still see
    the delay); a host without one gets CONCURRENT_REQUESTS_PER_DOMAIN across the cluster.
    Requests wait here, so this process's own per-host delay is set to 0."""

    def __init__(self, crawler: Crawler) -> None:
        s = crawler.settings
        self.crawler = crawler
        delay = s.getfloat("DOWNLOAD_DELAY")
        self.policy = HostPolicy(
            concurrency=s.getint("CONCURRENT_REQUESTS_PER_DOMAIN"), delay=delay,
            start_delay=max(s.getfloat("AUTOTHROTTLE_START_DELAY"), delay),
            autothrottle=s.getbool("AUTOTHROTTLE_ENABLED"),
            target_concurrency=s.getfloat("AUTOTHROTTLE_TARGET_CONCURRENCY"),
            max_delay=s.getfloat("AUTOTHROTTLE_MAX_DELAY"), hold=s.getfloat("DOWNLOAD_TIMEOUT") + 30,
            margin=s.getfloat("TRACKER_HOST_SLOT_MARGIN"))
        self.max_crawl_delay = s.getfloat("TRACKER_MAX_CRAWL_DELAY")
        self.user_agent = s.get("USER_AGENT")
        self.crawl_delays: dict[str, float] = {}
        self._tasks: set[asyncio.Future[Any]] = set()
        crawler.signals.connect(self._robots_parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedHostSlotMiddleware:
        if not crawler.settings.get("TRACKER_REDIS_URL"):
            raise NotConfigured("the shared host slot is for distributed workers")
        return cls(crawler)

    def _worker(self) -> WorkerSpider:
        spider = self.crawler.spider
        assert isinstance(spider, WorkerSpider)
        return spider

    async def process_request(self, request: Request, spider: scrapy.Spider | None = None) -> None:
        host = urlparse_cached(request).hostname or ""
        downloader = self.crawler.engine.downloader  # type: ignore[union-attr]
        downloader.per_slot_settings.setdefault(downloader.get_slot_key(request), {"delay": 0.0})
        worker, token = self._worker(), uuid.uuid4().hex
        while True:
            wait = await worker.call(worker.queue.acquire_host, host, token, self.policy,
                                     self.crawl_delays.get(host, 0.0))
            if wait == 0:
                break
            await asyncio.sleep(SLOT_POLL_SECONDS if wait < 0 else min(wait, 5.0))
        request.meta["host_slot"] = (host, token)
        return None

    async def process_response(self, request: Request, response: Response,
                               spider: scrapy.Spider | None = None) -> Response:
        await self._release(request, response.status)
        return response

    async def process_exception(self, request: Request, exception: Exception,
                                spider: scrapy.Spider | None = None) -> None:
        await self._release(request, None)
        return None

    async def _release(self, request: Request, status: int | None) -> None:
        slot = request.meta.pop("host_slot", None)
        if slot is None:
            return
        worker = self._worker()
        latency = request.meta.get("download_latency") if status is not None else None
        await worker.call(worker.queue.release_host, slot[0], slot[1], self.policy, latency, status,
                          self.crawl_delays.get(slot[0], 0.0))

    def _robots_parsed(self, robotparser: Any, request: Request) -> None:
        delay = finite_seconds(robotparser.crawl_delay(self.user_agent))
        if not delay:  # none, 0, or not a usable number ("nan", "inf")
            return
        delay = min(delay, self.max_crawl_delay)
        host = urlparse_cached(request).hostname or ""
        self.crawl_delays[host] = delay
        worker = self._worker()
        task = asyncio.ensure_future(worker.call(worker.queue.set_crawl_delay, host, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
