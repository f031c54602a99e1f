"""Crawling on many machines: `tracker enqueue`, `tracker crawl --redis` workers, `tracker ingest`.

The database stays on one machine. `enqueue_due` pushes its due articles into the Redis queue
(tracker/crawl/queue.py), workers anywhere fetch, archive and extract them with the same Scrapy spider,
middlewares and extraction as the single-machine crawl (spiders/redis_worker.py) and send each
attempt back as a JSON result; `ingest_results` is the single writer that saves them with the same
`save_page` as the single-machine crawl.

What goes over the wire (JSON, see `encode_job` / `encode_result`): a job is the article id, its
URLs in the order to try, its validators (ETag, Last-Modified), a token and the run id; a result is
one attempt's status, headers, final URL, redirects, timings, error, body size and WARC file name,
and the extraction (text and metadata) or the extraction error. Bodies stay in the worker's WARC.

Exactly once: a result's key is the job token and the attempt number; the writer records the key
in the `ingested` table in the same SQLite transaction as the page, and acknowledges the results in
Redis only after that commit. A job fetched twice (its worker killed after sending) is saved once.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import socket
import sqlite3
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from tracker.crawl import defaults
from tracker import store
from tracker.store import articles, fetches
from tracker.cleanup import MAX_TEXT_CHARS
from tracker.urls import make_alias
from tracker import errors
from tracker.dates import epoch_iso
from tracker.crawl.runner import (CrawlJob, CrawlSummary, _tally, crawl_jobs, deadline_of, due_article_ids,
                           spider_command, spider_env)
from tracker.crawl import result_checks
from tracker.crawl.pages import OUTCOME_STATUS, PageResult, save_page
from tracker.crawl.result_checks import BadResult
from tracker.crawl.policy import RecrawlPolicy
from tracker.crawl.queue import RedisQueue

logger = logging.getLogger(__name__)

WIRE_VERSION = 1
PAGE_FIELDS = ("url", "requested_at", "outcome", "status", "final_url", "headers", "elapsed_ms",
               "error_class", "error_message", "redirects", "warc_file")


def open_queue(url: str, get: Callable[[str], Any] | None = None) -> RedisQueue:
    """The queue at `url`, with the TRACKER_REDIS_* settings (`get(name)` or the defaults)."""
    def setting(name: str) -> Any:
        value = get(name) if get else None
        return getattr(defaults, name) if value in (None, "") else value
    return RedisQueue(url, prefix=str(setting("TRACKER_REDIS_PREFIX")),
                      lease=float(setting("TRACKER_LEASE_SECONDS")),
                      max_deliveries=int(setting("TRACKER_MAX_DELIVERIES")))


def consumer_name() -> str:
    """This process in the consumer groups: host and pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


# --- the wire format -------------------------------------------------------------------------------

def encode_job(job: CrawlJob, token: str, run_id: int | None) -> dict[str, Any]:
    return {"v": WIRE_VERSION, "article_id": job.article_id, "urls": list(job.urls), "etag": job.etag,
            "last_modified": job.last_modified, "token": token, "run_id": run_id}


def decode_job(data: dict[str, Any]) -> CrawlJob:
    return CrawlJob(int(data["article_id"]), tuple(data["urls"]), data.get("etag"),
                    data.get("last_modified"))


def encode_result(page: PageResult, extraction: Any, job: dict[str, Any], attempt: int, final: bool,
                  worker: str) -> str:
    """One attempt as JSON: the page without its body, and the extraction or its error."""
    data: dict[str, Any] = {
        "v": WIRE_VERSION, "token": job["token"], "article_id": job["article_id"],
        "run_id": job.get("run_id"), "attempt": attempt, "final": final, "worker": worker,
        "page": {name: getattr(page, name) for name in PAGE_FIELDS},
    }
    data["page"]["body_size"] = len(page.body) if page.body_size is None else page.body_size
    if dataclasses.is_dataclass(extraction) and not isinstance(extraction, type):  # an Extraction
        data["extraction"] = dataclasses.asdict(extraction)
    elif isinstance(extraction, errors.ExtractionError):
        data["extraction_error"] = {"class": type(extraction).__name__, "message": str(extraction)}
    return json.dumps(data, separators=(",", ":"))


def _error_classes() -> dict[str, type[errors.ExtractionError]]:
    from tracker.extract.pool import ExtractionTimeout, WorkerCrashedError

    return {cls.__name__: cls for cls in (errors.ExtractionError, errors.NotHtmlError,
                                          errors.PageTooLargeError, errors.NoTextError, ExtractionTimeout,
                                          WorkerCrashedError)}


@dataclass(frozen=True)
class Result:
    page: PageResult
    extraction: Any
    token: str
    attempt: int
    final: bool

    @property
    def key(self) -> str:
        return f"{self.token}:{self.attempt}"


def decode_result(text: str) -> Result:
    """The attempt a worker sent, its fields checked (tracker/crawl/result_checks.py); raises
    BadResult naming the field on anything else, never another exception: one poison result
    (1e999, nested 100,000 deep) once stopped the writer on every restart."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadResult(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(data, dict) or data.get("v") != WIRE_VERSION:
        raise BadResult(f"not a result of wire version {WIRE_VERSION}")
    result_checks.check_envelope(data)
    try:
        result_checks.check_page(data["page"], frozenset(OUTCOME_STATUS))
        result_checks.check_extraction(data.get("extraction"), MAX_TEXT_CHARS)
        try:
            return _result_of(data)
        except (TypeError, ValueError, KeyError) as exc:
            raise BadResult(f"not a result: {type(exc).__name__}: {exc}") from None
    except BadResult as exc:
        if data["final"]:  # its job is over: the queued mark goes if the token is the job's
            exc.finished = (data["article_id"], data["token"])
        raise


def _result_of(data: dict[str, Any]) -> Result:
    page = PageResult(**data["page"], article_id=data["article_id"], run_id=data.get("run_id"))
    extraction: Any = None
    if data.get("extraction"):
        from tracker.extract.page import Extraction  # trafilatura loads only where results are read

        extraction = Extraction(**data["extraction"])
    elif data.get("extraction_error"):
        error = data["extraction_error"]
        extraction = _error_classes().get(str(error["class"]), errors.ExtractionError)(str(error["message"]))
    return Result(page, extraction, data["token"], data["attempt"], data["final"])


# --- enqueue ---------------------------------------------------------------------------------------

@dataclass
class EnqueueSummary:
    due: int = 0
    added: int = 0

    @property
    def already(self) -> int:
        return self.due - self.added


def enqueue_due(db: store.Database, queue: RedisQueue, limit: int = 0, recrawl_after: str | None = None,
                run_id: int | None = None) -> EnqueueSummary:
    """Push the due articles (the same rule as `tracker crawl`) that are not queued already."""
    jobs = crawl_jobs(db, due_article_ids(db, limit, recrawl_after))
    items = []
    for job in jobs:
        token = f"{job.article_id}-{uuid.uuid4().hex[:12]}"  # this enqueueing of this article
        items.append((job.article_id, token, encode_job(job, token, run_id)))
    added = queue.enqueue(items)
    logger.info("enqueue: %d due, %d added, %d already queued", len(jobs), added, len(jobs) - added)
    return EnqueueSummary(len(jobs), added)


# --- the writer ------------------------------------------------------------------------------------

@dataclass
class IngestSummary:
    results: int = 0
    saved: int = 0
    duplicates: int = 0
    dead: int = 0
    busy_seconds: float = 0.0  # time spent saving and acknowledging (the writer's capacity)
    outcomes: Counter[str] = field(default_factory=Counter)
    seen: list[tuple[int, str]] = field(default_factory=list)
    unsaved: int = 0  # queued articles not saved when the deadline ended the wait
    deadline_reached: bool = False

    @property
    def items_per_second(self) -> float:
        return self.saved / self.busy_seconds if self.busy_seconds else 0.0


@dataclass(frozen=True)
class IngestOptions:
    consumer: str = "writer"
    follow: bool = False  # keep waiting for results (the writer service)
    until_drained: bool = False  # stop when no enqueued job is left unsaved (tracker run --redis)
    deadline: float | None = None  # epoch seconds: with until_drained, stop waiting then (--max-runtime)
    batch: int = 200
    block_ms: int = 1000
    report_every: float = 30.0


def ingest_results(db: store.Database, queue: RedisQueue, policy: RecrawlPolicy,
                   options: IngestOptions = IngestOptions(),
                   progress: Callable[[IngestSummary], None] | None = None) -> IngestSummary:
    """Save results from the workers into SQLite; acknowledge each batch after its commit.
    Starts with this writer's own unacknowledged results (a killed writer's, same name)."""
    summary = IngestSummary()
    forget_old_results(db)
    own_pending, last_report = True, time.monotonic()
    while True:
        entries = queue.results(options.consumer, options.batch, options.block_ms, own_pending)
        if entries:
            save_batch(db, queue, entries, policy, summary)
            if progress:
                progress(summary)
            continue
        if own_pending:
            own_pending = False
            continue
        if options.until_drained:
            counts = queue.counts()
            if counts.queued == 0 and counts.results == 0:
                return summary
            if options.deadline is not None and time.time() >= options.deadline:
                # No worker may be up (or the network is down): a scheduled run must still end.
                # The jobs stay queued; the next run or `tracker ingest` saves their results.
                summary.deadline_reached, summary.unsaved = True, counts.queued
                logger.warning("deadline reached: %d queued articles not saved yet", counts.queued)
                return summary
            if time.monotonic() - last_report >= options.report_every:
                last_report = time.monotonic()
                logger.info("waiting for workers: %d articles queued (%d jobs leased), %d results "
                            "unsaved", counts.queued, counts.leased, counts.results)
        elif not options.follow:
            return summary


# A result is re-read only while it sits unacknowledged in Redis (a writer killed between its
# commit and its acknowledgement reads it again when it restarts): its key need not be kept for
# ever, only far longer than any writer stays down.
INGESTED_KEEP_SECONDS = 30 * 86400


def forget_old_results(db: store.Database, now: float | None = None) -> int:
    """Prune `ingested` keys older than INGESTED_KEEP_SECONDS, so the table does not grow for ever."""
    return fetches.prune_ingested(db, epoch_iso((time.time() if now is None else now) - INGESTED_KEEP_SECONDS))


def save_batch(db: store.Database, queue: RedisQueue, entries: list[tuple[str, str]],
               policy: RecrawlPolicy, summary: IngestSummary) -> None:
    """One SQLite transaction for the batch (a savepoint per result), then the acknowledgement.
    A result that cannot be saved is set aside in the dead-letter stream with its reason."""
    started = time.perf_counter()
    done: list[tuple[int, str]] = []
    dead: list[tuple[str, str]] = []
    decoded: list[tuple[str, str, Result]] = []
    for entry_id, text in entries:
        summary.results += 1
        try:
            decoded.append((entry_id, text, decode_result(text)))
        except BadResult as exc:
            _set_aside(dead, entry_id, text, str(exc))
            if exc.finished:
                done.append(exc.finished)  # compare-and-delete: a forged token clears nothing
    tokens = queue.queued_tokens([int(result.page.article_id or 0) for _, _, result in decoded])
    with store.transaction(db):
        for entry_id, text, result in decoded:
            article_id = int(result.page.article_id or 0)
            if result.final:  # the job is over, saved or set aside (the article stays due then)
                done.append((article_id, result.token))
            _save_one(db, result, tokens.get(article_id), policy, summary,
                      functools.partial(_set_aside, dead, entry_id, text))
    queue.ack_results([entry_id for entry_id, _ in entries], done, dead)
    summary.dead += len(dead)
    summary.busy_seconds += time.perf_counter() - started


def _set_aside(dead: list[tuple[str, str]], entry_id: str, text: str, reason: str) -> None:
    logger.error("result %s set aside in the dead-letter stream: %s", entry_id, reason)
    dead.append((reason, text))


def _save_one(db: store.Database, result: Result, queued_token: str | None, policy: RecrawlPolicy,
              summary: IngestSummary, set_aside: Callable[[str], None]) -> None:
    """Save one decoded result if it answers its job; else set it aside with the reason."""
    if fetches.is_ingested(db, result.key):
        summary.duplicates += 1  # fetched twice (a lease ran out after the first was sent)
        return
    article_id = int(result.page.article_id or 0)
    try:
        result_checks.check_job(result.token, queued_token, result.page.url,
                                _job_urls(db, article_id, result.page.url))
        with store.transaction(db):
            article_id_, outcome = save_page(db, result.page, result.extraction, policy)
            fetches.save_ingested(db, result.key)
    except BadResult as exc:
        set_aside(f"{result.key}: {exc}")
        return
    except (sqlite3.OperationalError, sqlite3.InternalError):
        raise  # the database itself failed (disk, lock): nothing is acknowledged, the batch comes back
    except Exception as exc:  # noqa: BLE001 - one bad result must not stop the writer
        logger.exception("result %s for %s could not be saved", result.key, result.page.url)
        set_aside(f"{result.key}: could not be saved: {type(exc).__name__}: {exc}")
        return
    summary.saved += 1
    summary.outcomes[outcome] += 1
    if article_id_ is not None:
        summary.seen.append((article_id_, outcome))


def _job_urls(db: store.Database, article_id: int, url: str) -> tuple[str, ...]:
    """The URLs a job for `article_id` could have tried: the article's own, or, for an article
    merged into another since it was queued, the URL if it is still some article's alias."""
    if articles.article_exists(db, article_id):
        return crawl_jobs(db, [article_id])[0].urls
    return (url,) if articles.find_article_ids(db, [make_alias(url)]) else ()


def crawl_summary(enqueued: EnqueueSummary, ingested: IngestSummary) -> CrawlSummary:
    """What `tracker run` reports, in the single-machine crawl's terms."""
    summary = CrawlSummary(due=enqueued.due, attempts=ingested.saved, outcomes=dict(ingested.outcomes),
                           not_attempted=ingested.unsaved, deadline_reached=ingested.deadline_reached)
    _tally(summary, ingested.seen)
    return summary


# --- workers ---------------------------------------------------------------------------------------

def crawl_over_redis(db: store.Database, settings: dict[str, str], run_id: int | None,
                     progress: Callable[[str, int, int], None] | None = None) -> CrawlSummary:
    """`tracker run --redis`: enqueue what is due, then save results until every job is saved."""
    queue = open_queue(settings["TRACKER_REDIS_URL"], settings.get)
    queue.ping()
    enqueued = enqueue_due(db, queue, int(settings.get("TRACKER_LIMIT") or 0),
                           settings.get("TRACKER_RECRAWL_AFTER") or None, run_id)
    total = queue.counts().queued

    def report(summary: IngestSummary) -> None:
        if progress:
            progress("crawl", summary.results, max(total, summary.results))

    options = IngestOptions(until_drained=True, deadline=deadline_of(settings, time.time()))
    ingested = ingest_results(db, queue, _policy(settings), options, report)
    return crawl_summary(enqueued, ingested)


def _policy(settings: dict[str, str]) -> RecrawlPolicy:
    from tracker.crawl.policy import policy_from_settings

    return policy_from_settings(lambda name: settings.get(name) or getattr(defaults, name, None))



# --- what the commands call -------------------------------------------------------------------------

def enqueue_from(db_path: Path, url: str, limit: int = 0, recrawl_after: str | None = None) -> EnqueueSummary:
    """`tracker enqueue`: the due articles of the database at `db_path` into the queue at `url`."""
    if recrawl_after:
        from tracker.crawl.policy import parse_duration

        parse_duration(recrawl_after)  # a clear error before anything is queued
    queue = open_queue(url)
    queue.ping()
    db = store.open_db(db_path)
    try:
        return enqueue_due(db, queue, limit, recrawl_after)
    finally:
        db.close()


def ingest_into(db_path: Path, url: str, options: IngestOptions = IngestOptions()) -> IngestSummary:
    """`tracker ingest`: the single writer, from the queue at `url` into the database at `db_path`."""
    queue = open_queue(url)
    queue.ping()
    db = store.open_db(db_path)
    try:
        return ingest_results(db, queue, _policy({}), options)
    finally:
        db.close()


def work(url: str, settings: dict[str, str]) -> None:
    """`tracker crawl --redis`: become a worker of the queue at `url` until stopped (or idle, with
    TRACKER_WORKER_IDLE_EXIT). This process is replaced by the Scrapy one (exec), so that a stop
    signal (systemd's SIGTERM) reaches Scrapy itself: it finishes what is in flight and gives the
    rest back, instead of a parent dying and taking its crawl child with it."""
    open_queue(url, settings.get).ping()
    command = spider_command(dict(settings, TRACKER_REDIS_URL=url))
    os.execve(command[0], command, spider_env())
