"""Crawl orchestration: what is due, running the Scrapy crawl in its own process, WARC replay.

Scrapy's reactor runs once per process, so `run_crawl` starts `python -m spiders.run` as a child
(with the project's settings module named explicitly, whatever the current directory). Replay and
WARC import need no network and no Scrapy: they feed archived responses to the same save path.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from tracker import db as store
from tracker.config import PROJECT_ROOT
from tracker.errors import CrawlError, ExtractionError
from tracker.policy import RecrawlPolicy, parse_duration

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
    due: int = 0
    attempts: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    exit_code: int = 0

    @property
    def fetched(self) -> int:
        return sum(self.outcomes.get(k, 0) for k in ("ok", "unchanged", "not_modified"))

    @property
    def failed(self) -> int:
        return self.attempts - self.fetched - self.outcomes.get("refused", 0)


def due_article_ids(db: store.Database, limit: int = 0, recrawl_after: str | None = None,
                    now: datetime | None = None) -> list[int]:
    """Articles due: never fetched, or past their next visit (retryable failures back off), or,
    with `recrawl_after`, last fetched longer ago than that. Newest stories first."""
    now = now or datetime.now(timezone.utc)
    params: list[Any] = [_iso(now)]
    extra = ""
    if recrawl_after:
        extra = " OR (last_fetch_at IS NOT NULL AND last_fetch_at <= ? AND status != 'refused')"
        params.append(_iso(now - parse_duration(recrawl_after)))
    sql = (f"SELECT id FROM articles WHERE status = 'new' OR next_fetch_at <= ?{extra} "
           "ORDER BY status = 'new' DESC, COALESCE(published, first_seen) DESC, id")
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [row[0] for row in db.conn.execute(sql, params)]


def crawl_jobs(db: store.Database, article_ids: Iterable[int]) -> list[CrawlJob]:
    """The CrawlJob of each article: its URL first, then its aliases by kind."""
    jobs = []
    for article_id in article_ids:
        row = db.conn.execute("SELECT url, etag, last_modified FROM articles WHERE id = ?",
                              [article_id]).fetchone()
        aliases = db.conn.execute("SELECT url, kind FROM urls WHERE article_id = ?", [article_id]).fetchall()
        ordered = [row[0]] + [u for u, k in sorted(aliases, key=lambda a: (KIND_ORDER.get(a[1], 5), a[0]))]
        jobs.append(CrawlJob(article_id, tuple(dict.fromkeys(ordered)), row[1], row[2]))
    return jobs


def load_due_jobs(db_path: str, limit: int = 0, recrawl_after: str | None = None) -> list[CrawlJob]:
    """Open the database and list the due jobs (used by the spider at start)."""
    db = store.open_db(db_path)
    try:
        return crawl_jobs(db, due_article_ids(db, limit, recrawl_after))
    finally:
        db.close()


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- running the crawl in a child process ----------------------------------------------------------

def crawl_settings(db_path: Path, limit: int = 0, recrawl_after: str | None = None,
                   allow_private: bool = False, overrides: dict[str, str] | None = None,
                   run_id: int | None = None) -> dict[str, str]:
    """The -s settings for one run: CLI flags first, then explicit NAME=VALUE overrides."""
    settings = {"TRACKER_DB": str(db_path), "TRACKER_LIMIT": str(limit or 0)}
    if recrawl_after:
        parse_duration(recrawl_after)  # fail here, with a clear message, not in the child
        settings["TRACKER_RECRAWL_AFTER"] = recrawl_after
    if allow_private:
        settings["TRACKER_ALLOW_PRIVATE"] = "True"
    if run_id:
        settings["TRACKER_RUN_ID"] = str(run_id)
    settings.update(overrides or {})
    return settings


def run_crawl(db_path: Path, settings: dict[str, str], log_file: Path | None = None) -> CrawlSummary:
    """Run the spider in a child process over the due articles; summarise the attempts it made."""
    db = store.open_db(db_path)
    summary = CrawlSummary(due=len(due_article_ids(db, int(settings.get("TRACKER_LIMIT", 0) or 0),
                                                   settings.get("TRACKER_RECRAWL_AFTER"))))
    started = store.now_iso()
    last_id = db.conn.execute("SELECT COALESCE(MAX(id), 0) FROM fetches").fetchone()[0]
    if summary.due:
        summary.exit_code = _run_child(settings, log_file)
    outcomes = Counter(dict(db.conn.execute(
        "SELECT outcome, COUNT(*) FROM fetches WHERE id > ? GROUP BY outcome", [last_id]).fetchall()))
    summary.outcomes = dict(outcomes)
    summary.attempts = sum(outcomes.values())
    db.close()
    logger.info("crawl started %s: %d due, %d attempts", started, summary.due, summary.attempts)
    if summary.exit_code not in (0,):
        raise CrawlError(f"the crawl process failed with exit status {summary.exit_code}"
                         + (f" (see {log_file})" if log_file else ""))
    return summary


def _run_child(settings: dict[str, str], log_file: Path | None) -> int:
    cmd = [sys.executable, "-m", "spiders.run"]
    for name, value in settings.items():
        cmd += ["-s", f"{name}={value}"]
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE=SETTINGS_MODULE)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    if log_file is None:
        return subprocess.run(cmd, env=env, check=False).returncode
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        return subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=False).returncode


# --- replay and import of WARC files ---------------------------------------------------------------

def replay_warcs(db: store.Database, paths: Iterable[str | os.PathLike[str]], create: bool,
                 policy: RecrawlPolicy | None = None, workers: int = 2) -> CrawlSummary:
    """Run archived responses through extraction and saving, with no network. `create` makes
    articles of pages not yet known (WARC import); replay only updates known articles."""
    from tracker.extract import ExtractorPool  # trafilatura loads only where it is needed
    from tracker.pages import save_page
    from tracker.warc import iter_warc_pages

    policy = policy or RecrawlPolicy()
    outcomes: Counter[str] = Counter()
    with ExtractorPool(workers=workers) as pool:
        for page, future in _windowed(pool, (p for path in paths for p in iter_warc_pages(path))):
            extraction = _result(future) if future is not None else None
            _, outcome = save_page(db, page, extraction, policy, create=create)
            outcomes[outcome] += 1
    return CrawlSummary(attempts=sum(outcomes.values()), outcomes=dict(outcomes))


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
