"""The shared crawl queue in Redis: leased jobs, results for the single writer, per-host slots.

The only module that imports the redis client library.

Why our own queue rather than scrapy-redis's scheduler: scrapy-redis pops each request (ZPOP/LPOP),
so a worker killed mid-crawl loses what it held, and its fingerprint dupefilter remembers a URL for
ever, which fights the recrawl policy. Here every piece of work is *leased*, never popped:

- jobs (`<prefix>:jobs`, a Stream read by the consumer group `workers`): one entry per article to
  fetch. A worker reads entries with XREADGROUP; they stay in the group's pending list, owned by
  that worker, until it acknowledges them in the same MULTI that adds the job's result. A worker
  renews its leases (XCLAIM JUSTID) while it works; entries idle longer than the lease (a worker
  killed with -9, a machine gone) are claimed by another worker (XPENDING IDLE + XCLAIM) and
  fetched again. After `max_deliveries` deliveries a job is given up and reported as a failure.
- queued (`<prefix>:queued`, a hash article id -> job token): an article is enqueued only when it
  is not already there, so enqueuing twice does not fetch twice. The writer removes the entry
  after the job's last result is committed to SQLite (compare-and-delete on the token).
- results (`<prefix>:results`, a Stream read by the group `writers`): one entry per fetch attempt.
  The writer acknowledges (XACK + XDEL) only after its SQLite transaction commits; a writer that
  dies leaves them pending, and the next one reads them again (its own pending list first, then
  any entry idle past the writer lease). Results that cannot be saved go to `<prefix>:dead`.
- host slots (`<prefix>:host:<host>` and `...:active`): per-host delay, robots.txt Crawl-delay and
  concurrency shared by every worker, kept on the Redis clock (one clock for all machines).

Every call goes through `_retry`: while Redis is unreachable (restarting, loading its data, network
gone) callers wait and retry with one clear log line, then carry on where they were.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TypeVar, cast

import redis
from redis import exceptions as rx

from tracker.errors import ConfigError, TrackerError

logger = logging.getLogger(__name__)

T = TypeVar("T")
WORKERS, WRITERS = "workers", "writers"
# Errors that mean "Redis is not there right now", not "the request was wrong".
TRANSIENT = (rx.ConnectionError, rx.TimeoutError, rx.BusyLoadingError, rx.TryAgainError,
             rx.ReadOnlyError, rx.MasterDownError)


class QueueClosed(TrackerError):
    """The queue was closed (the process is stopping) while Redis was unreachable."""


@dataclass(frozen=True)
class Lease:
    """One job held by a worker: the stream entry, the job's fields, how often it was handed out."""

    entry_id: str
    job: dict[str, Any]
    deliveries: int = 1


@dataclass(frozen=True)
class QueueCounts:
    queued: int  # articles enqueued whose last result is not committed yet
    jobs: int  # job entries not finished by a worker
    leased: int  # of those, held by a worker now
    results: int  # results not yet committed by the writer


@dataclass(frozen=True)
class HostPolicy:
    """How a worker asks for a host slot: its floor delay, concurrency and AutoThrottle figures."""

    concurrency: int = 2
    delay: float = 1.0  # DOWNLOAD_DELAY: the least delay between two requests to a host
    start_delay: float = 1.0  # AutoThrottle's first delay for a host
    autothrottle: bool = True
    target_concurrency: float = 1.0
    max_delay: float = 60.0
    hold: float = 60.0  # a slot held longer than this (a killed worker) is freed
    margin: float = 0.05  # added to every non-zero delay: the send follows the grant a little later
    ttl: int = 86400  # a host's record outlives the crawl this long (politeness across runs)


_ENQUEUE = """
local added = 0
for i = 1, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('XADD', KEYS[2], '*', 'job', ARGV[i + 2])
    added = added + 1
  end
end
return added
"""

_ACK_RESULTS = """
-- KEYS: results, queued, dead. ARGV: n ids, then ids, then (article id, token) pairs, then
-- (reason, result) pairs of dead letters.
local n = tonumber(ARGV[1])
for i = 2, n + 1 do
  redis.call('XACK', KEYS[1], 'writers', ARGV[i])
  redis.call('XDEL', KEYS[1], ARGV[i])
end
local m = tonumber(ARGV[n + 2])
local j = n + 3
for k = 1, m do
  if redis.call('HGET', KEYS[2], ARGV[j]) == ARGV[j + 1] then redis.call('HDEL', KEYS[2], ARGV[j]) end
  j = j + 2
end
for k = j, #ARGV, 2 do redis.call('XADD', KEYS[3], '*', 'reason', ARGV[k], 'result', ARGV[k + 1]) end
return n
"""

_DELAY = """
local function host_delay(hash, floor, start_delay, autothrottle)
  local crawl = tonumber(redis.call('HGET', hash, 'crawl_delay') or '0')
  local delay = 0
  if autothrottle == '1' then delay = tonumber(redis.call('HGET', hash, 'delay') or start_delay) end
  return math.max(delay, tonumber(floor), crawl)
end
"""

_ACQUIRE = _DELAY + """
-- KEYS: host hash, active zset. ARGV: token, concurrency, floor, start delay, hold, margin, ttl,
-- autothrottle (1: the shared AutoThrottle delay counts, starting at the start delay).
-- A host with a delay gets one request at a time, and its delay counts from the end of the
-- previous request (set by _RELEASE) as well as from the grant: however late a worker sends what
-- it was granted, the next request cannot reach the host sooner than the delay after it.
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local delay = host_delay(KEYS[1], ARGV[3], ARGV[4], ARGV[8])
local conc = tonumber(ARGV[2])
if delay > 0 then conc = 1 end
if conc > 0 and redis.call('ZCARD', KEYS[2]) >= conc then return '-1' end
local nxt = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
if now < nxt then return tostring(nxt - now) end
local gap = 0
if delay > 0 then gap = delay + tonumber(ARGV[6]) end
redis.call('HSET', KEYS[1], 'next', tostring(now + gap), 'last', tostring(now))
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('EXPIRE', KEYS[2], ARGV[7])
return '0'
"""

_RELEASE = _DELAY + """
-- KEYS: host hash, active zset. ARGV: token, latency (-1: none), status, autothrottle (1/0),
-- target concurrency, min delay, max delay, start delay, floor. AutoThrottle's own formula, then
-- the host's delay counted from now (the end of this request).
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 0 end
local latency = tonumber(ARGV[2])
if ARGV[4] == '1' and latency >= 0 then
  local old = tonumber(redis.call('HGET', KEYS[1], 'delay') or ARGV[8])
  local target = latency / tonumber(ARGV[5])
  local new = math.max(target, (old + target) / 2)
  new = math.min(math.max(tonumber(ARGV[6]), new), tonumber(ARGV[7]))
  if ARGV[3] == '200' or new > old then redis.call('HSET', KEYS[1], 'delay', tostring(new)) end
end
local delay = host_delay(KEYS[1], ARGV[9], ARGV[8], ARGV[4])
if delay > 0 then
  local t = redis.call('TIME')
  local done = tonumber(t[1]) + tonumber(t[2]) / 1000000 + delay
  local nxt = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
  if done > nxt then redis.call('HSET', KEYS[1], 'next', tostring(done)) end
end
return 1
"""


def redacted(url: str) -> str:
    """The Redis URL without its password, for log lines and messages."""
    return re.sub(r"//[^@/]*@", "//***@", url)


class RedisQueue:
    """The crawl queue of one Redis database (see the module docstring)."""

    def __init__(self, url: str, prefix: str = "tracker", lease: float = 300.0,
                 max_deliveries: int = 5, retry_cap: float = 5.0) -> None:
        try:
            self.client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=15,
                                               socket_connect_timeout=5, health_check_interval=30)
        except ValueError as exc:
            raise ConfigError(f"--redis {redacted(url)}: {exc}") from None
        self.url = redacted(url)
        self.prefix = prefix
        self.lease_ms = int(lease * 1000)
        self.max_deliveries = max_deliveries
        self.retry_cap = retry_cap
        self.closing = threading.Event()
        self.keys = {name: f"{prefix}:{name}" for name in ("jobs", "queued", "results", "dead")}
        self._enqueue = self.client.register_script(_ENQUEUE)
        self._ack = self.client.register_script(_ACK_RESULTS)
        self._acquire = self.client.register_script(_ACQUIRE)
        self._release = self.client.register_script(_RELEASE)
        self._groups_ready = False

    # --- calling Redis ---------------------------------------------------------------------------

    def _retry(self, what: str, call: Callable[[], T]) -> T:
        """Run `call`, waiting out a Redis outage (one log line when it starts, one every 30 s,
        one when Redis is back). Stops with QueueClosed once `close()` was called."""
        down_since: float | None = None
        last_note = 0.0
        pause = 0.2
        while True:
            try:
                if not self._groups_ready:
                    self._ensure_groups()
                result = call()
            except (rx.AuthenticationError, rx.NoPermissionError) as exc:
                # a ConnectionError to redis-py, but no wait mends a changed password: say so
                raise ConfigError(f"Redis at {self.url} refused {what}: {exc} "
                                  "(check the user and password in the URL)") from exc
            except TRANSIENT as exc:
                now = time.monotonic()
                if down_since is None:
                    down_since = last_note = now
                    logger.warning("Redis at %s unreachable during %s (%s: %s); waiting and retrying",
                                   self.url, what, type(exc).__name__, exc)
                elif now - last_note >= 30:
                    last_note = now
                    logger.warning("Redis at %s still unreachable after %.0f s; retrying", self.url,
                                   now - down_since)
                if self.closing.wait(pause):
                    raise QueueClosed(f"Redis at {self.url} unreachable while stopping ({what})") from exc
                pause = min(pause * 2, self.retry_cap)
                continue
            except rx.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                self._groups_ready = False  # Redis lost its data (restarted without persistence)
                logger.warning("Redis at %s has no consumer groups (restarted empty?); recreating them",
                               self.url)
                continue
            if down_since is not None:
                logger.warning("Redis at %s is back after %.1f s; resuming %s", self.url,
                               time.monotonic() - down_since, what)
            return result

    def _ensure_groups(self) -> None:
        for key, group in ((self.keys["jobs"], WORKERS), (self.keys["results"], WRITERS)):
            try:
                self.client.xgroup_create(key, group, id="0", mkstream=True)
            except rx.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._groups_ready = True

    def ping(self) -> None:
        """Check Redis answers now (a clear error, no waiting: for a command just started)."""
        try:
            self.client.ping()
        except TRANSIENT as exc:
            raise TrackerError(f"Redis at {self.url} does not answer: {exc}") from None

    def close(self) -> None:
        """Stop waiting for Redis: calls in progress give up with QueueClosed."""
        self.closing.set()

    # --- jobs --------------------------------------------------------------------------------------

    def enqueue(self, jobs: Sequence[tuple[int, str, dict[str, Any]]], batch: int = 500) -> int:
        """Add (article id, token, job) unless the article is already queued; returns how many."""
        added = 0
        for start in range(0, len(jobs), batch):
            args: list[Any] = []
            for article_id, token, job in jobs[start:start + batch]:
                args += [str(article_id), token, json.dumps(job, separators=(",", ":"))]
            keys = [self.keys["queued"], self.keys["jobs"]]
            added += int(self._retry("enqueue", functools.partial(self._enqueue, keys=keys, args=args)))
        return added

    def lease(self, consumer: str, count: int, block_ms: int = 1000) -> list[Lease]:
        """Up to `count` new jobs for this worker (waiting up to `block_ms` for one)."""
        def read() -> Any:
            return self.client.xreadgroup(WORKERS, consumer, {self.keys["jobs"]: ">"}, count=count,
                                          block=block_ms)
        return [Lease(entry_id, _job(fields)) for entry_id, fields in _entries(self._retry("lease", read))]

    def reclaim(self, consumer: str, count: int) -> list[Lease]:
        """Jobs whose lease ran out (their worker died or hangs), now leased to `consumer`."""
        def claim() -> list[Lease]:
            stale = self.client.xpending_range(self.keys["jobs"], WORKERS, min="-", max="+",
                                               count=count, idle=self.lease_ms)
            if not stale:
                return []
            times = {p["message_id"]: int(p["times_delivered"]) for p in stale}
            # redis-py types replies loosely; with decode_responses they are (id, {field: value})
            claimed = cast(list[tuple[str, dict[str, str]]], self.client.xclaim(
                self.keys["jobs"], WORKERS, consumer, self.lease_ms, list[Any](times)))
            return [Lease(eid, _job(fields), times.get(eid, 0) + 1) for eid, fields in claimed if fields]
        leases = self._retry("reclaim", claim)
        for lease in leases:
            logger.warning("job %s (article %s) reclaimed after its lease expired (delivery %d)",
                           lease.entry_id, lease.job.get("article_id"), lease.deliveries)
        return leases

    def renew(self, consumer: str, entry_ids: Sequence[str]) -> int:
        """Reset the lease clock of the jobs this worker still holds; returns how many it holds."""
        if not entry_ids:
            return 0
        wanted = set(entry_ids)

        def renew_held() -> int:
            held = [p["message_id"] for p in self.client.xpending_range(
                self.keys["jobs"], WORKERS, min="-", max="+", count=max(len(wanted) * 2, 100),
                consumername=consumer) if p["message_id"] in wanted]
            if held:
                self.client.xclaim(self.keys["jobs"], WORKERS, consumer, 0, list[Any](held), justid=True)
            return len(held)
        return self._retry("lease renewal", renew_held)

    def finish(self, entry_id: str, results: Sequence[str], final: bool) -> None:
        """Add a job's result(s); with `final`, acknowledge and delete the job in the same MULTI."""
        def send() -> None:
            pipe = self.client.pipeline(transaction=True)
            for result in results:
                pipe.xadd(self.keys["results"], {"result": result})
            if final:
                pipe.xack(self.keys["jobs"], WORKERS, entry_id)
                pipe.xdel(self.keys["jobs"], entry_id)
            pipe.execute()
        self._retry("sending a result", send)

    def give_back(self, leases: Sequence[Lease]) -> None:
        """Put unfinished jobs back at once (a worker stopping cleanly), same tokens."""
        def requeue() -> None:
            pipe = self.client.pipeline(transaction=True)
            for lease in leases:
                pipe.xadd(self.keys["jobs"], {"job": json.dumps(lease.job, separators=(",", ":"))})
                pipe.xack(self.keys["jobs"], WORKERS, lease.entry_id)
                pipe.xdel(self.keys["jobs"], lease.entry_id)
            pipe.execute()
        if leases:
            self._retry("giving jobs back", requeue)

    # --- results -----------------------------------------------------------------------------------

    def results(self, consumer: str, count: int, block_ms: int = 1000, own_pending: bool = False,
                writer_lease_ms: int = 60000) -> list[tuple[str, str]]:
        """Results for the writer: its own unacknowledged ones (`own_pending`), else ones another
        writer left idle past `writer_lease_ms`, else new ones (waiting up to `block_ms`)."""
        key = self.keys["results"]

        def read() -> list[tuple[str, str]]:
            if own_pending:
                found = _entries(self.client.xreadgroup(WRITERS, consumer, {key: "0"}, count=count))
            else:
                claimed = self.client.xautoclaim(key, WRITERS, consumer, writer_lease_ms, "0-0",
                                                 count=count)
                found = [(e, f) for e, f in claimed[1] if f]
                if not found:
                    found = _entries(self.client.xreadgroup(WRITERS, consumer, {key: ">"},
                                                            count=count, block=block_ms))
            return [(entry_id, fields.get("result", "")) for entry_id, fields in found]
        return self._retry("reading results", read)

    def queued_tokens(self, article_ids: Sequence[int]) -> dict[int, str | None]:
        """The token of the job queued for each article (None: no job of it is queued)."""
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return {}
        values = self._retry("reading job tokens", lambda: self.client.hmget(self.keys["queued"],
                                                                             [str(i) for i in ids]))
        return {i: None if v is None else str(v) for i, v in zip(ids, values)}

    def ack_results(self, entry_ids: Sequence[str], done: Sequence[tuple[int, str]],
                    dead: Sequence[tuple[str, str]] = ()) -> None:
        """After the SQLite commit: acknowledge and delete results, clear the queued marks of
        finished jobs (only if the token still matches), keep unsaveable results in `dead` as
        (reason, result) entries."""
        args: list[Any] = [len(entry_ids), *entry_ids, len(done)]
        for article_id, token in done:
            args += [str(article_id), token]
        for reason, text in dead:
            args += [reason, text]
        keys = [self.keys["results"], self.keys["queued"], self.keys["dead"]]
        self._retry("acknowledging results", lambda: self._ack(keys=keys, args=args))

    def counts(self) -> QueueCounts:
        """How much work is outstanding."""
        def count() -> QueueCounts:
            pipe = self.client.pipeline(transaction=False)
            pipe.hlen(self.keys["queued"])
            pipe.xlen(self.keys["jobs"])
            pipe.xpending(self.keys["jobs"], WORKERS)
            pipe.xlen(self.keys["results"])
            queued, jobs, pending, results = pipe.execute()
            return QueueCounts(int(queued), int(jobs), int(pending["pending"]), int(results))
        return self._retry("counting", count)

    def clear(self) -> None:
        """Delete every key of this prefix (a benchmark's fresh start; never used by a crawl)."""
        def delete() -> None:
            keys = list(self.client.scan_iter(match=f"{self.prefix}:*", count=1000))
            if keys:
                self.client.delete(*keys)
            self._groups_ready = False
        self._retry("clearing the queue", delete)

    # --- per-host slots ----------------------------------------------------------------------------

    def _host_keys(self, host: str) -> list[str]:
        base = f"{self.prefix}:host:{host}"
        return [base, base + ":active"]

    def acquire_host(self, host: str, token: str, policy: HostPolicy, floor: float) -> float:
        """Take a slot for one request to `host` now (0.0), or the seconds to wait before asking
        again (-1.0: all of the host's concurrent slots are taken). With a delay (DOWNLOAD_DELAY,
        Crawl-delay or AutoThrottle's), one request at a time, the delay counted from the end of
        the previous one too (as Nutch's fetcher.server.delay)."""
        args: list[Any] = [token, policy.concurrency, max(floor, policy.delay), policy.start_delay, policy.hold,
                policy.margin, policy.ttl, int(policy.autothrottle)]
        keys = self._host_keys(host)
        return float(self._retry("taking a host slot", lambda: self._acquire(keys=keys, args=args)))

    def release_host(self, host: str, token: str, policy: HostPolicy, latency: float | None,
                     status: int | None, floor: float = 0.0) -> None:
        """Free the slot; a latency feeds the shared AutoThrottle delay of the host."""
        args = [token, -1 if latency is None else latency, status or 0, int(policy.autothrottle),
                policy.target_concurrency, policy.delay, policy.max_delay, policy.start_delay,
                max(floor, policy.delay)]
        keys = self._host_keys(host)
        self._retry("freeing a host slot", lambda: self._release(keys=keys, args=args))

    def set_crawl_delay(self, host: str, delay: float, ttl: int = 86400) -> None:
        """A host's robots.txt Crawl-delay, for every worker."""
        key = self._host_keys(host)[0]

        def store() -> None:
            pipe = self.client.pipeline(transaction=True)
            pipe.hset(key, "crawl_delay", str(delay))
            pipe.expire(key, ttl)
            pipe.execute()
        self._retry("storing a Crawl-delay", store)


def _entries(reply: Any) -> list[tuple[str, dict[str, str]]]:
    """XREADGROUP's reply (a list of [stream, entries]) as one list of entries."""
    found: list[tuple[str, dict[str, str]]] = []
    for _stream, entries in reply or []:
        found += [(entry_id, fields) for entry_id, fields in entries if fields]
    return found


def _job(fields: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(fields.get("job", "{}")))
