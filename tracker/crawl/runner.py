"""Crawl orchestration: what is due, running the Scrapy crawl in its own process, WARC replay.

Scrapy's reactor runs once per process, so `run_crawl` starts `python -m spiders.crawl_process` as a child
(with the project's settings module named explicitly, whatever the current directory). Replay and
WARC import need no network and no Scrapy: they feed archived responses to the same save path.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from tracker import store
from tracker.store import articles, fetches
from tracker.config import PROJECT_ROOT
from tracker.dates import format_iso
from tracker.crawl.pages import SUCCESS
from tracker.errors import CrawlError, ExtractionError
from tracker.crawl.policy import RecrawlPolicy, parse_duration

logger = logging.getLogger(__name__)

SETTINGS_MODULE = "spiders.settings"
# Fetch order among an article's aliases: its own URL first, AMP and Google's AMP cache last.
KIND_ORDER = {"web": 0, "canonical": 1, "original": 2, "redirect": 3, "import": 4, "merged": 5,
              "amp": 6, "cdn_amp": 7}


@dataclass(frozen=True)
class CrawlJob:
    """One article to fetch: URLs in the order to try, and validators for a conditional request."""

    article_id: int
    urls: tuple[str, ...]
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class CrawlSummary:
    """Attempts by outcome, and articles by how their attempts ended: fetched (one attempt
    succeeded), refused (refused and none succeeded), failed (the rest)."""

    due: int = 0
    attempts: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    fetched: int = 0
    failed: int = 0
    refused: int = 0
    exit_code: int = 0
    not_attempted: int = 0  # due articles with no attempt in this crawl (still due)
    deadline_reached: bool = False

    @property
    def note(self) -> str | None:
        """What a run stopped by its deadline left for the next one, or None."""
        if not self.deadline_reached:
            return None
        return (f"deadline reached: {self.not_attempted} of {self.due} due articles not attempted "
                f"(still due for the next run)")


class RunInterrupted(BaseException):
    """SIGTERM or SIGINT arrived: the run stops (a BaseException, like KeyboardInterrupt, so that
    no `except Exception` swallows it)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


@contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM (systemd stop, kill) and SIGINT (Ctrl-C) both raise RunInterrupted in the main
    thread, so the two stop a run the same way. Elsewhere than the main thread: no change."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise RunInterrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def due_article_ids(db: store.Database, limit: int = 0, recrawl_after: str | None = None,
                    now: datetime | None = None) -> list[int]:
    """Articles due: never fetched, or past their next visit (retryable failures back off), or,
    with `recrawl_after`, last fetched longer ago than that. Newest stories first."""
    now = now or datetime.now(timezone.utc)
    recrawl_before = format_iso(now - parse_duration(recrawl_after)) if recrawl_after else None
    return fetches.due_article_ids(db, format_iso(now), recrawl_before, limit)


def crawl_jobs(db: store.Database, article_ids: Iterable[int]) -> list[CrawlJob]:
    """The CrawlJob of each article: its URL first, then its aliases by kind."""
    jobs = []
    for article_id in article_ids:
        url, etag, last_modified = fetches.load_fetch_target(db, article_id)
        aliases = articles.load_aliases(db, article_id)
        ordered = [url] + [u for u, k in sorted(aliases, key=lambda a: (KIND_ORDER.get(a[1], 5), a[0]))]
        jobs.append(CrawlJob(article_id, tuple(dict.fromkeys(ordered)), etag, last_modified))
    return jobs


def load_due_jobs(db_path: str, limit: int = 0, recrawl_after: str | None = None) -> list[CrawlJob]:
    """Open the database and list the due jobs (used by the spider at start)."""
    db = store.open_db(db_path)
    try:
        return crawl_jobs(db, due_article_ids(db, limit, recrawl_after))
    finally:
        db.close()




# --- running the crawl in a child process ----------------------------------------------------------

@dataclass(frozen=True)
class CrawlFlags:
    """The crawl options of `tracker crawl` and `tracker run`, as typed: one object from the CLI
    to the crawl instead of five arguments (and one translation into settings, `overrides`)."""

    limit: int = 0
    recrawl_after: str | None = None
    allow_private: bool = False
    max_runtime: str | None = None
    settings: tuple[tuple[str, str], ...] = ()  # -s NAME=VALUE, in order; they win over the flags

    def overrides(self) -> dict[str, str]:
        """The flags as TRACKER_ settings, then the explicit -s ones."""
        settings = {"TRACKER_LIMIT": str(self.limit or 0)}
        if self.recrawl_after:
            settings["TRACKER_RECRAWL_AFTER"] = self.recrawl_after
        if self.max_runtime:
            settings["TRACKER_MAX_RUNTIME"] = self.max_runtime
        if self.allow_private:
            settings["TRACKER_ALLOW_PRIVATE"] = "True"
        settings.update(self.settings)
        return settings


def crawl_settings(db_path: Path, overrides: dict[str, str] | None = None,
                   run_id: int | None = None) -> dict[str, str]:
    """The -s settings of the crawl process: the database, the run, then `overrides` (flags and
    NAME=VALUE settings). Durations are checked here, with a clear message, not in the child."""
    settings = {"TRACKER_DB": str(db_path)}
    if run_id:
        settings["TRACKER_RUN_ID"] = str(run_id)
    settings.update(overrides or {})
    for name in ("TRACKER_RECRAWL_AFTER", "TRACKER_MAX_RUNTIME"):
        if settings.get(name):
            parse_duration(settings[name])
    return settings


def deadline_of(settings: dict[str, str], started: float) -> float | None:
    """The crawl's deadline (epoch seconds): TRACKER_DEADLINE, or TRACKER_MAX_RUNTIME after
    `started`, whichever comes first; None without either."""
    ends = []
    if settings.get("TRACKER_DEADLINE"):
        ends.append(float(settings["TRACKER_DEADLINE"]))
    if settings.get("TRACKER_MAX_RUNTIME"):
        ends.append(started + parse_duration(settings["TRACKER_MAX_RUNTIME"]).total_seconds())
    return min(ends) if ends else None


def run_crawl(db_path: Path, settings: dict[str, str], log_file: Path | None = None,
              progress: Callable[[str, int, int], None] | None = None,
              on_interrupt: Callable[[], None] | None = None) -> CrawlSummary:
    """Run the spider in a child process over the due articles; summarise the attempts it made.
    `progress(stage, done, total)` is called as attempts land in the database. On SIGTERM or
    SIGINT, `on_interrupt()` is called at once, then the child is stopped as gently as Scrapy
    allows (in-flight pages finish) and RunInterrupted is raised."""
    started = time.time()
    deadline = deadline_of(settings, started)
    db = store.open_db(db_path)
    summary = CrawlSummary(due=len(due_article_ids(db, int(settings.get("TRACKER_LIMIT", 0) or 0),
                                                   settings.get("TRACKER_RECRAWL_AFTER"))))
    last_id = fetches.last_fetch_id(db)

    def attempts() -> Counter[str]:
        return Counter(fetches.count_outcomes_after(db, last_id))

    if summary.due:
        watch = (lambda: progress("crawl", sum(attempts().values()), summary.due)) if progress else None
        with interruptible():
            summary.exit_code = _run_child(settings, log_file, watch, on_interrupt)
    outcomes = attempts()
    summary.outcomes = dict(outcomes)
    summary.attempts = sum(outcomes.values())
    tried = _tally(summary, fetches.load_outcomes_after(db, last_id))
    summary.not_attempted = max(0, summary.due - tried)
    summary.deadline_reached = bool(deadline and time.time() >= deadline and summary.not_attempted)
    db.close()
    if summary.exit_code != 0:
        raise CrawlError(f"the crawl process failed with exit status {summary.exit_code}"
                         + (f" (see {log_file})" if log_file else ""))
    return summary


def run_crawl_process(settings: dict[str, str], log_file: Path | None = None,
                      on_interrupt: Callable[[], None] | None = None) -> int:
    """Run the crawl process once with these settings (another spider, e.g. the discovery poll,
    via TRACKER_SPIDER) and return its exit status; interrupted like run_crawl."""
    with interruptible():
        return _run_child(settings, log_file, None, on_interrupt)


def _tally(summary: CrawlSummary, attempts: Iterable[tuple[int, str]]) -> int:
    """Count articles by how their attempts ended (see CrawlSummary); returns how many had one."""
    by_article: dict[int, set[str]] = {}
    for article_id, outcome in attempts:
        by_article.setdefault(article_id, set()).add(outcome)
    for seen in by_article.values():
        if seen & SUCCESS:
            summary.fetched += 1
        elif "refused" in seen:
            summary.refused += 1
        else:
            summary.failed += 1
    return len(by_article)


def spider_command(settings: dict[str, str]) -> list[str]:
    """The command line of the crawl process (`python -m spiders.crawl_process -s NAME=VALUE ...`)."""
    cmd = [sys.executable, "-m", "spiders.crawl_process"]
    for name, value in settings.items():
        cmd += ["-s", f"{name}={value}"]
    return cmd


def spider_env() -> dict[str, str]:
    """Its environment: the settings module named, the project importable from anywhere."""
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE=SETTINGS_MODULE)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def _run_child(settings: dict[str, str], log_file: Path | None,
               watch: Callable[[], None] | None = None,
               on_interrupt: Callable[[], None] | None = None) -> int:
    cmd, env = spider_command(settings), spider_env()
    log = None
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log = log_file.open("ab")
    try:
        # Its own session: a terminal's Ctrl-C reaches this process only, which passes on one
        # SIGTERM (Scrapy takes a second one as "stop now, uncleanly").
        child = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT if log else None,
                                 preexec_fn=_die_with_parent, start_new_session=True)
        return _wait(child, watch, on_interrupt)
    finally:
        if log is not None:
            log.close()


# How long an interrupted crawl may take to finish its in-flight pages (DOWNLOAD_TIMEOUT is 30 s;
# systemd's default stop timeout is 90 s).
STOP_GRACE_SECONDS = 60.0


def _wait(child: subprocess.Popen[bytes], watch: Callable[[], None] | None,
          on_interrupt: Callable[[], None] | None = None) -> int:
    try:
        while True:
            try:
                return child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if watch:
                    watch()
    except BaseException:
        child.terminate()  # interrupted (Ctrl-C, SIGTERM): Scrapy stops scheduling, in-flight finish
        with _signals_ignored():  # a second signal must not abandon the child half-way
            if on_interrupt:
                on_interrupt()
            try:
                child.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        raise


@contextmanager
def _signals_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _die_with_parent() -> None:
    """In the child: be killed if the parent dies (even by kill -9), so that no orphan crawl
    writes on after the job that owned the lock is gone."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: the lock still protects the next run's start


# --- replay and import of WARC files ---------------------------------------------------------------

def replay_warcs(db: store.Database, paths: Iterable[str | os.PathLike[str]], create: bool,
                 policy: RecrawlPolicy | None = None, workers: int = 2) -> CrawlSummary:
    """Run archived responses through extraction and saving, with no network. `create` makes
    articles of pages not yet known (WARC import); replay only updates known articles."""
    from tracker.extract.pool import ExtractorPool  # trafilatura loads only where it is needed
    from tracker.crawl.pages import save_page
    from tracker.crawl.warc import iter_warc_pages

    policy = policy or RecrawlPolicy()
    outcomes: Counter[str] = Counter()
    summary = CrawlSummary()
    seen: list[tuple[int, str]] = []
    with ExtractorPool(workers=workers) as pool:
        for page, future in _windowed(pool, (p for path in paths for p in iter_warc_pages(path))):
            extraction = _result(future) if future is not None else None
            article_id, outcome = save_page(db, page, extraction, policy, create=create)
            outcomes[outcome] += 1
            if article_id is not None:
                seen.append((article_id, outcome))
    summary.attempts, summary.outcomes = sum(outcomes.values()), dict(outcomes)
    _tally(summary, seen)
    return summary


def _windowed(pool: Any, pages: Iterator[Any], window: int = 16) -> Iterator[tuple[Any, Future[Any] | None]]:
    """Keep `window` pages in extraction at once, yielding them in order."""
    pending: list[tuple[Any, Future[Any] | None]] = []
    for page in pages:
        future = pool.submit(page.body, page.final_url or page.url, page.content_type) \
            if page.outcome == "ok" else None
        pending.append((page, future))
        if len(pending) >= window:
            yield pending.pop(0)
    yield from pending


def _result(future: Future[Any]) -> Any:
    try:
        return future.result()
    except ExtractionError as exc:
        return exc
