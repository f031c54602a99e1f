"""The distributed crawl end to end: a real redis-server, `tracker crawl --redis` workers (real Scrapy
child processes), the single writer, against the local news site on 127.0.0.1.

Leases, delays and idle exits are short here (settings below) so that each test takes seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.conftest import query
from tests.redis_fixture import RedisServer, free_port, redis_server  # noqa: F401
from tracker.store import open_db
from tracker.crawl.distributed import (IngestOptions, IngestSummary, encode_result, enqueue_due, ingest_results,
                                 open_queue, save_batch)
from tracker.extract.page import Extraction
from tracker.crawl.pages import PageResult
from tracker.crawl.policy import RecrawlPolicy
from tracker.crawl.queue import QueueCounts

WORKER = {"TRACKER_ALLOWED_NETWORKS": "127.0.0.0/8", "DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False",
          "TRACKER_RETRY_BACKOFF_BASE": "0.05", "DOWNLOAD_TIMEOUT": "5", "TRACKER_EXTRACT_WORKERS": "1",
          "TRACKER_WORKER_IDLE_EXIT": "3", "TRACKER_LEASE_SECONDS": "3", "TRACKER_WORKER_PREFETCH": "4",
          "CONCURRENT_REQUESTS": "4", "CONCURRENT_REQUESTS_PER_DOMAIN": "8", "LOG_LEVEL": "INFO"}


def tracker(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracker", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout, check=False)


def settings_args(**overrides: str) -> list[str]:
    args: list[str] = []
    for name, value in {**WORKER, **overrides}.items():
        args += ["-s", f"{name}={value}"]
    return args


class Worker:
    """`tracker crawl --redis` in its own process group (kill -9 takes the Scrapy child with it)."""

    def __init__(self, tmp: Path, url: str, name: str, **overrides: str) -> None:
        self.folder = tmp / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log = self.folder / "worker.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tracker", "crawl", "--redis", url, "--db",
                 str(self.folder / "unused.db"), *settings_args(**overrides)],
                cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self, timeout: float = 90) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        """SIGTERM to the worker process, as systemd stops it (KillMode=mixed): what is in flight
        finishes, unfinished jobs are given back."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=60)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # what is left of its group (extraction server)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def sent(self) -> int:
        return self.text().count("-> sent")

    def ready(self) -> bool:
        return "taking jobs from Redis" in self.text()


def start_workers(tmp: Path, url: str, count: int, **overrides: str) -> list[Worker]:
    """Workers that have all started (so that each gets a share of what is enqueued next)."""
    overrides.setdefault("TRACKER_WORKER_IDLE_EXIT", "30")  # stopped by the test, not by idling
    workers = [Worker(tmp, url, f"w{i}", **overrides) for i in range(1, count + 1)]
    wait_for(lambda: all(w.ready() for w in workers), what="the workers to start")
    return workers


def import_pages(tmp: Path, db: Path, site: Any, paths: list[str]) -> None:
    jsonl = tmp / "urls.jsonl"
    jsonl.write_text("".join(json.dumps({"url": site.url_for(p)}) + "\n" for p in paths), encoding="utf-8")
    result = tracker(tmp, "import", str(jsonl), "--db", str(db))
    assert result.returncode == 0, result.stderr


def drain(db_path: Path, url: str) -> IngestSummary:
    """Run the writer (in this process) until no enqueued article is left unsaved."""
    db = open_db(db_path)
    try:
        return ingest_results(db, open_queue(url), RecrawlPolicy(), IngestOptions(until_drained=True))
    finally:
        db.close()


def fetch_counts(db: Path) -> dict[str, int]:
    """Fetch rows per site path (query string dropped)."""
    counts: dict[str, int] = {}
    for url, in query(db, "SELECT url FROM fetches"):
        path = "/" + url.split("/", 3)[3].split("?")[0]
        counts[path] = counts.get(path, 0) + 1
    return counts


def wait_for(check: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def gen_paths(n: int, delay: float = 0.0, start: int = 1) -> list[str]:
    return [f"/gen/{i}.html" + (f"?delay={delay}" if delay else "") for i in range(start, start + n)]


@pytest.fixture
def site(fresh_newssite: Any) -> Any:
    fresh_newssite.set_crawl_delay(0)
    return fresh_newssite


def test_two_workers_and_the_writer_fetch_and_save_every_page_once(
        site: Any, redis_server: RedisServer, tmp_path: Path) -> None:
    db = tmp_path / "data" / "tracker.db"
    pages = gen_paths(16, delay=0.1)
    import_pages(tmp_path, db, site, [*pages, "/private/page.html", "/gone/404.html", "/redirect/a"])
    workers = start_workers(tmp_path, redis_server.url, 2)
    first = tracker(tmp_path, "enqueue", "--redis", redis_server.url, "--db", str(db))
    again = tracker(tmp_path, "enqueue", "--redis", redis_server.url, "--db", str(db))
    assert "19 due: 19 enqueued" in first.stdout, first.stderr
    assert "19 due: 0 enqueued, 19 already queued" in again.stdout  # no writer yet: all still queued
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    run = tracker(tmp_path, "run", str(seeds), "--redis", redis_server.url, "--db", str(db), "-v")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "19 due, 17 fetched, 2 failed" in run.stdout  # 16 pages and the redirect; 404 and robots
    for worker in workers:
        worker.stop()
        assert worker.sent() > 0, "both workers took part"
    assert sum(w.sent() for w in workers) == 19
    counts = fetch_counts(db)
    for path in [p.split("?")[0] for p in pages] + ["/gone/404.html", "/redirect/a", "/private/page.html"]:
        assert counts.get(path) == 1, (path, counts)
    for path in [p.split("?")[0] for p in pages]:
        assert site.hits(path) == 1, path
    assert site.hits("/private/page.html") == 0  # robots.txt obeyed by the workers
    statuses = dict(query(db, "SELECT url, status FROM articles"))
    assert sum(1 for s in statuses.values() if s == "fetched") == 17  # 16 pages and the redirect
    warc = query(db, "SELECT warc_file FROM fetches WHERE url LIKE '%/gen/1.html%'")[0][0]
    host, name = warc.split(":", 1)
    assert host and any((w.folder / "warc" / name).is_file() for w in workers)
    assert query(db, "SELECT COUNT(*) FROM article_versions")[0][0] == 17
    assert query(db, "SELECT status FROM runs")[0][0] == "completed"


def test_a_killed_worker_s_jobs_go_to_another_worker_after_the_lease(
        site: Any, redis_server: RedisServer, tmp_path: Path) -> None:
    db = tmp_path / "data" / "tracker.db"
    pages = gen_paths(10, delay=1.0)
    import_pages(tmp_path, db, site, pages)
    assert "10 enqueued" in tracker(tmp_path, "enqueue", "--redis", redis_server.url, "--db", str(db)).stdout
    doomed = Worker(tmp_path, redis_server.url, "doomed")
    wait_for(lambda: len([e for e in site.log() if e["path"].startswith("/gen/")]) >= 2, what="fetches")
    doomed.kill()  # mid-fetch: its leased jobs have no result
    queue = open_queue(redis_server.url)
    assert queue.counts().leased >= 2
    survivor = Worker(tmp_path, redis_server.url, "survivor")
    drain(db, redis_server.url)
    assert survivor.wait() == 0
    assert "reclaimed after its lease expired" in survivor.text()
    counts = fetch_counts(db)
    assert sorted(counts.values()) == [1] * 10, counts  # every page saved once
    hits = sum(site.hits(p.split("?")[0]) for p in pages)
    assert hits > 10  # the killed worker's pages were fetched again by the survivor


def test_a_writer_killed_mid_drain_loses_nothing_and_saves_nothing_twice(
        site: Any, redis_server: RedisServer, tmp_path: Path) -> None:
    db = tmp_path / "data" / "tracker.db"
    pages = gen_paths(60)
    import_pages(tmp_path, db, site, pages)
    tracker(tmp_path, "enqueue", "--redis", redis_server.url, "--db", str(db))
    assert Worker(tmp_path, redis_server.url, "w", TRACKER_WORKER_PREFETCH="64",
                  CONCURRENT_REQUESTS="16").wait() == 0
    assert open_queue(redis_server.url).counts().results == 60
    writer = subprocess.Popen([sys.executable, "-m", "tracker", "ingest", "--redis", redis_server.url,
                               "--db", str(db), "--batch", "1"], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def saved() -> int:
        try:
            return int(query(db, "SELECT COUNT(*) FROM fetches")[0][0])
        except Exception:  # noqa: BLE001 - the file may be mid-creation
            return 0

    wait_for(lambda: saved() >= 3, what="the writer to start saving")
    writer.kill()
    writer.wait(timeout=10)
    at_kill = saved()
    assert 0 < at_kill < 60, "the writer was killed mid-drain"
    drain(db, redis_server.url)
    assert sorted(fetch_counts(db).values()) == [1] * 60
    assert open_queue(redis_server.url).counts() == QueueCounts(queued=0, jobs=0, leased=0, results=0)


def _three_articles_queued(tmp_path: Path, redis_server: RedisServer) -> tuple[Any, Any]:  # noqa: F811
    """A database of three imported articles, all three queued: (db, queue)."""
    from tracker.store import transaction
    from tracker.store.articles import resolve_article
    from tracker.urls import make_alias

    db = open_db(tmp_path / "tracker.db")
    with transaction(db):
        for i in range(3):
            alias = make_alias(f"https://news.example/story-{i}.html")
            resolve_article(db, [alias], alias.url, {}, "import")
    queue = open_queue(redis_server.url)
    assert enqueue_due(db, queue).added == 3
    return db, queue


def test_results_committed_but_not_acknowledged_are_not_saved_again(
        redis_server: RedisServer, tmp_path: Path) -> None:
    """The writer dies between its SQLite commit and its XACK: the next writer skips those."""
    db, queue = _three_articles_queued(tmp_path, redis_server)
    for lease in queue.lease("test-worker", 10):
        job = lease.job
        page = PageResult(url=job["urls"][0], requested_at="2025-01-01T00:00:00Z", status=200,
                          body=b"x" * 100, headers={"content-type": "text/html"})
        extraction = Extraction(url=page.url, text=f"Text of {page.url}, long enough.", text_source="test",
                                title=f"Story {job['article_id']}")
        queue.finish(lease.entry_id, [encode_result(page, extraction, job, 0, True, "test-worker")], True)

    class DiesBeforeAck:
        def __getattr__(self, name: str) -> Any:
            return getattr(queue, name)

        def ack_results(self, *args: Any) -> None:
            raise KeyboardInterrupt("killed after the commit")

    with pytest.raises(KeyboardInterrupt):
        save_batch(db, DiesBeforeAck(), queue.results("writer", 10), RecrawlPolicy(),  # type: ignore[arg-type]
                   IngestSummary())
    assert db.conn.execute("SELECT COUNT(*) FROM fetches").fetchone()[0] == 3  # committed
    assert queue.counts().results == 3  # but not acknowledged
    summary = ingest_results(db, queue, RecrawlPolicy(), IngestOptions(batch=10))
    assert (summary.saved, summary.duplicates) == (0, 3)
    assert db.conn.execute("SELECT COUNT(*) FROM fetches").fetchone()[0] == 3
    assert db.conn.execute("SELECT COUNT(*) FROM article_versions").fetchone()[0] == 3
    assert queue.counts().queued == 0 and queue.counts().results == 0


def test_workers_and_writer_wait_for_redis_to_come_back(
        site: Any, redis_server: RedisServer, tmp_path: Path) -> None:
    db = tmp_path / "data" / "tracker.db"
    pages = gen_paths(16, delay=0.4)
    import_pages(tmp_path, db, site, pages)
    tracker(tmp_path, "enqueue", "--redis", redis_server.url, "--db", str(db))
    worker = Worker(tmp_path, redis_server.url, "w", CONCURRENT_REQUESTS="2", TRACKER_WORKER_PREFETCH="2")
    writer_log = (tmp_path / "writer.log").open("wb")
    writer = subprocess.Popen([sys.executable, "-m", "tracker", "ingest", "--follow", "--redis",
                               redis_server.url, "--db", str(db)], cwd=tmp_path, stdout=writer_log,
                              stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: len(fetch_counts(db)) >= 3 if db.exists() else False, what="first results")
        redis_server.stop()
        time.sleep(2.0)
        redis_server.start()
        wait_for(lambda: sum(fetch_counts(db).values()) >= 16, timeout=90, what="all results")
        assert worker.wait() == 0
    finally:
        writer.terminate()
        writer.wait(timeout=30)
        writer_log.close()
    assert sorted(fetch_counts(db).values()) == [1] * 16
    for text in (worker.text(), (tmp_path / "writer.log").read_text()):
        assert "unreachable" in text and "is back after" in text


def test_two_workers_keep_one_slow_host_s_delay_between_them(
        site: Any, redis_server: RedisServer, tmp_path: Path) -> None:
    site.set_crawl_delay(0.6)
    db = tmp_path / "data" / "tracker.db"
    pages = gen_paths(8, delay=0.3)
    import_pages(tmp_path, db, site, pages)
    polite = {"DOWNLOAD_DELAY": "0.3", "CONCURRENT_REQUESTS_PER_DOMAIN": "2", "TRACKER_WORKER_PREFETCH": "2"}
    workers = start_workers(tmp_path, redis_server.url, 2, **polite)
    tracker(tmp_path, "enqueue", "--redis", redis_server.url, "--db", str(db))
    drain(db, redis_server.url)
    for worker in workers:
        worker.stop()
        assert worker.sent() > 0, "both workers fetched from the host"
    log = site.log()
    pages_at = sorted(e["time"] for e in log if e["path"].startswith("/gen/"))
    every_at = sorted(e["time"] for e in log)
    assert len(pages_at) == 8 and sorted(fetch_counts(db).values()) == [1] * 8
    assert min(b - a for a, b in zip(pages_at, pages_at[1:])) >= 0.6  # robots.txt Crawl-delay
    assert min(b - a for a, b in zip(every_at, every_at[1:])) >= 0.3  # DOWNLOAD_DELAY, robots.txt too


def test_worker_and_writer_units_verify(tmp_path: Path) -> None:
    """The systemd units run the commands above; systemd-analyze verifies them where it exists."""
    import configparser
    import shlex
    import shutil

    from tracker.config import PROJECT_ROOT

    expected = {"tracker-worker.service": ["crawl", "--redis", "${TRACKER_REDIS_URL}"],
                "tracker-writer.service": ["ingest", "--follow", "--redis", "${TRACKER_REDIS_URL}"]}
    for name, command in expected.items():
        text = (PROJECT_ROOT / "deploy" / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("/opt/privacy-news-tracker", str(PROJECT_ROOT)))
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.read(tmp_path / name)
        exec_start = shlex.split(unit["Service"]["ExecStart"])
        assert Path(exec_start[0]).name == "tracker" and exec_start[1:] == command
        assert unit["Service"]["Restart"] == "always" and "\nEnvironment=TRACKER_REDIS_URL=" in text
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed: units parsed only")
    verify = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / n) for n in expected)],
                            capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stderr


def test_an_unreachable_or_bad_redis_url_is_one_clear_error(tmp_path: Path) -> None:
    down = tracker(tmp_path, "enqueue", "--redis", f"redis://127.0.0.1:{free_port()}/0", "--db",
                   str(tmp_path / "t.db"))
    assert down.returncode == 1 and down.stderr.startswith("Error: Redis at redis://127.0.0.1:")
    assert "does not answer" in down.stderr and len(down.stderr.strip().splitlines()) == 1
    bad = tracker(tmp_path, "ingest", "--redis", "http://nowhere", "--db", str(tmp_path / "t.db"))
    assert bad.returncode == 1 and "Error: --redis http://nowhere" in bad.stderr


def test_a_job_handed_out_too_often_is_recorded_as_failed_not_fetched(
        site: Any, redis_server: RedisServer, tmp_path: Path) -> None:
    """TRACKER_MAX_DELIVERIES=0 makes every delivery one too many: nothing is fetched, each job is
    recorded as a failed attempt (retried later with back-off) and leaves the queue."""
    db = tmp_path / "data" / "tracker.db"
    import_pages(tmp_path, db, site, gen_paths(3))
    tracker(tmp_path, "enqueue", "--redis", redis_server.url, "--db", str(db))
    assert Worker(tmp_path, redis_server.url, "w", TRACKER_MAX_DELIVERIES="0").wait() == 0
    drain(db, redis_server.url)
    assert sum(site.hits(p) for p in gen_paths(3)) == 0
    rows = query(db, "SELECT outcome, error_class FROM fetches")
    assert rows == [("network_error", "GivenUp")] * 3
    assert {s for s, in query(db, "SELECT status FROM articles")} == {"failed"}


def test_a_result_crosses_the_wire_whole() -> None:
    """encode_result -> JSON -> decode_result gives save_page what the worker had (bar the body)."""
    from tracker.crawl.distributed import decode_result
    from tracker.errors import NotHtmlError

    job = {"token": "7-abc", "article_id": 7, "run_id": 3}
    page = PageResult(url="https://news.example/a", requested_at="2025-01-01T00:00:00Z", status=200,
                      final_url="https://news.example/b", headers={"etag": '"x"'}, body=b"y" * 1234,
                      elapsed_ms=12.5, redirects=["https://news.example/a2"], warc_file="vm:f.warc.gz")
    extraction = Extraction(url=page.url, text="Body text", text_source="trafilatura", title="T",
                            published="2025-01-01")
    back = decode_result(encode_result(page, extraction, job, 1, False, "w1"))
    assert (back.key, back.final, back.attempt) == ("7-abc:1", False, 1)
    assert back.page.body == b"" and back.page.body_size == 1234
    assert (back.page.article_id, back.page.run_id, back.page.redirects) == (7, 3, ["https://news.example/a2"])
    assert back.page.headers == {"etag": '"x"'} and back.page.warc_file == "vm:f.warc.gz"
    assert back.extraction == extraction
    error = decode_result(encode_result(page, NotHtmlError("a PDF"), job, 0, True, "w1")).extraction
    assert isinstance(error, NotHtmlError) and str(error) == "a PDF"
    with pytest.raises(ValueError):
        decode_result(json.dumps({"v": 99}))


def test_host_slots_hold_concurrency_delay_and_free_a_dead_worker_s_slot(redis_server: RedisServer) -> None:
    """The shared slot itself: two holders at most with concurrency 2, a slot never released (its
    worker killed) freed after `hold`, the Crawl-delay shared and counted from the last response."""
    from tracker.crawl.queue import HostPolicy

    queue = open_queue(redis_server.url)
    policy = HostPolicy(concurrency=2, delay=0.0, autothrottle=False, hold=0.5, margin=0.0)
    assert queue.acquire_host("a.example", "t1", policy, 0.0) == 0
    assert queue.acquire_host("a.example", "t2", policy, 0.0) == 0
    assert queue.acquire_host("a.example", "t3", policy, 0.0) == -1  # both slots taken
    assert queue.acquire_host("b.example", "t4", policy, 0.0) == 0  # another host is not held up
    queue.release_host("a.example", "t1", policy, 0.1, 200)
    assert queue.acquire_host("a.example", "t3", policy, 0.0) == 0
    assert queue.acquire_host("a.example", "t5", policy, 0.0) == -1
    time.sleep(0.6)  # t2 and t3 were never released: their holders are gone
    assert queue.acquire_host("a.example", "t5", policy, 0.0) == 0
    queue.set_crawl_delay("c.example", 0.4)  # a host with a delay: one request at a time
    assert queue.acquire_host("c.example", "t6", policy, 0.0) == 0
    assert queue.acquire_host("c.example", "t7", policy, 0.0) == -1  # another worker waits
    time.sleep(0.3)  # t6's response takes 0.3 s: the delay counts from its end
    queue.release_host("c.example", "t6", policy, 0.3, 200)
    wait = queue.acquire_host("c.example", "t7", policy, 0.0)
    assert 0.3 < wait <= 0.4


def test_a_worker_stopped_with_sigterm_gives_its_jobs_back_at_once(
        site: Any, redis_server: RedisServer, tmp_path: Path) -> None:
    db = tmp_path / "data" / "tracker.db"
    import_pages(tmp_path, db, site, gen_paths(6, delay=1.0))
    tracker(tmp_path, "enqueue", "--redis", redis_server.url, "--db", str(db))
    worker = Worker(tmp_path, redis_server.url, "stopping", CONCURRENT_REQUESTS="1",
                    TRACKER_LEASE_SECONDS="300")  # no lease runs out during this test
    wait_for(lambda: any(e["path"].startswith("/gen/") for e in site.log()), what="a first fetch")
    worker.stop()  # as systemd stops it: the fetch in progress finishes, the rest goes back
    assert "gave back" in worker.text()
    counts = open_queue(redis_server.url).counts()
    assert counts.leased == 0 and counts.jobs >= 4
    Worker(tmp_path, redis_server.url, "next").wait()
    drain(db, redis_server.url)
    assert sorted(fetch_counts(db).values()) == [1] * 6


def test_run_over_redis_with_no_worker_ends_at_its_deadline(
        tmp_path: Path, site: Any, redis_server: RedisServer) -> None:
    # A scheduled `tracker run --redis` must end on time even when no worker is up: it stops
    # waiting at --max-runtime, the run is `completed` with a note, and the jobs stay queued.
    db = tmp_path / "t.db"
    import_pages(tmp_path, db, site, gen_paths(3))
    (tmp_path / "no-seeds").mkdir()
    started = time.monotonic()
    result = tracker(tmp_path, "run", str(tmp_path / "no-seeds"), "--db", str(db), "--redis", redis_server.url,
                     "--max-runtime", "3s", timeout=90)
    took = time.monotonic() - started
    assert took < 60, result.stderr
    status, note = query(db, "SELECT status, note FROM runs ORDER BY id DESC LIMIT 1")[0]
    assert (result.returncode, status) == (0, "completed"), result.stderr
    assert "deadline reached: 3 of 3 due articles not attempted" in note
    assert open_queue(redis_server.url).counts().queued == 3
    assert query(db, "SELECT COUNT(*) FROM fetches")[0][0] == 0


def test_a_job_held_too_long_is_no_longer_renewed() -> None:
    """A live worker that holds a job past TRACKER_JOB_MAX_SECONDS stops renewing it (stuck, not
    slow), so its lease runs out and another worker claims it; jobs within the limit keep theirs."""
    from spiders.redis_worker import WorkerSpider

    worker = WorkerSpider()
    worker.in_flight = {"1-0": object(), "2-0": object()}  # type: ignore[dict-item]
    worker.held_since = {"1-0": 100.0, "2-0": 1000.0, "3-0": 50.0}  # 3-0 finished already
    assert worker.drop_stalled(1800, now=2000.0) == ["1-0"]
    assert list(worker.in_flight) == ["2-0"] and worker.held_since == {"2-0": 1000.0}
    assert worker.drop_stalled(0, now=1e9) == [] and list(worker.in_flight) == ["2-0"]  # 0: never


def test_the_writer_forgets_result_keys_after_thirty_days(tmp_path: Path) -> None:
    """`ingested` holds one key per saved worker result; keys older than the keep period go, so
    the table does not grow for ever, and recent ones (still useful against a re-read) stay."""
    from tracker.crawl.distributed import INGESTED_KEEP_SECONDS, forget_old_results
    from tracker.store import fetches, transaction

    db = open_db(tmp_path / "tracker.db")
    with transaction(db):
        fetches.save_ingested(db, "job-a:0")
        fetches.save_ingested(db, "job-b:0")
    with transaction(db):
        db.conn.execute("UPDATE ingested SET ingested_at = '2020-01-01T00:00:00Z' WHERE key = 'job-a:0'")
    now = time.time()
    assert forget_old_results(db, now) == 1
    assert not fetches.is_ingested(db, "job-a:0") and fetches.is_ingested(db, "job-b:0")
    assert forget_old_results(db, now + INGESTED_KEEP_SECONDS + 60) == 1
    assert query(tmp_path / "tracker.db", "SELECT COUNT(*) FROM ingested") == [(0,)]


def test_poison_and_forged_results_are_set_aside_and_every_good_one_is_saved(
        redis_server: RedisServer, tmp_path: Path) -> None:  # noqa: F811
    """Results that overflow, nest too deep, answer no job, name another article or carry
    hostile fields go to the dead-letter stream with their reason; the writer saves the rest."""
    db, queue = _three_articles_queued(tmp_path, redis_server)
    jobs = {lease.job["article_id"]: lease.job for lease in queue.lease("test-worker", 10)}

    def result(of: int, **changes: Any) -> dict[str, Any]:
        job = jobs[of]
        page = PageResult(url=job["urls"][0], requested_at="2025-01-01T00:00:00Z", status=200,
                          body=b"x" * 100, headers={"content-type": "text/html"},
                          warc_file="worker-1:tracker-00001.warc.gz")
        extraction = Extraction(url=page.url, text=f"Text of {page.url}, long enough.", text_source="test",
                                title=f"Story {of}", image="/img/relative.png")  # as pages have
        final = changes.pop("final", True)
        data = json.loads(encode_result(page, extraction, job, 0, final, "test-worker"))
        for name, value in changes.items():
            if name.startswith("page_"):
                data["page"][name[5:]] = value
            else:
                data[name] = value
        return data

    one, two, three = sorted(jobs)
    # not final (a worker's first tries): the good results after them still answer open jobs
    poison = [json.dumps(result(one, article_id=1e999)), json.dumps(result(one, attempt=1e999)),
              '{"v": 1, "page": ' + "[" * 100_000 + "]" * 100_000 + "}",
              json.dumps(result(one, article_id=999, token="forged-token", final=False)),
              json.dumps(result(one, article_id=two, final=False)),  # one's token, another's id
              json.dumps(result(one, page_url=jobs[two]["urls"][0], final=False)),  # another's URL
              json.dumps(result(one, page_warc_file="host:../../../../../etc/passwd", final=False)),
              json.dumps(result(one, page_final_url="javascript:alert(1)", final=False)),
              json.dumps(result(one, page_requested_at="garbage", final=False)),
              json.dumps(result(one, page_status=float("inf"), final=False))]
    good = [json.dumps(result(n)) for n in (one, two, three)]
    for text in [*poison, *good]:
        queue.client.xadd(queue.keys["results"], {"result": text})
    summary = ingest_results(db, queue, RecrawlPolicy(), IngestOptions(batch=4))
    assert (summary.saved, summary.dead) == (3, len(poison))
    reasons = [fields["reason"] for _, fields in queue.client.xrange(queue.keys["dead"])]
    assert len(reasons) == len(poison)
    for expected in ("article_id:", "attempt:", "not JSON: RecursionError", "no job of this article",
                     "not the token of the job", "not one of this article's URLs", "page.warc_file:",
                     "page.final_url:", "page.requested_at:", "page.status:"):
        assert sum(expected in reason for reason in reasons) == 1, (expected, reasons)
    # nothing merged, nothing hostile stored, every good result saved once
    assert query(tmp_path / "tracker.db", "SELECT COUNT(*), COUNT(DISTINCT id) FROM articles") == [(3, 3)]
    assert query(tmp_path / "tracker.db", "SELECT DISTINCT warc_file, status, requested_at FROM fetches") == [
        ("worker-1:tracker-00001.warc.gz", 200, "2025-01-01T00:00:00Z")]
    assert query(tmp_path / "tracker.db", "SELECT COUNT(*) FROM articles WHERE status = 'fetched'") == [(3,)]
    # nothing is left pending: a restarted writer finds no poison to choke on
    assert queue.counts().results == 0 and queue.counts().queued == 0
    assert ingest_results(db, queue, RecrawlPolicy(), IngestOptions()).results == 0


def test_a_writer_whose_redis_password_changed_stops_with_one_line(
        redis_server: RedisServer, tmp_path: Path) -> None:  # noqa: F811
    db_path = tmp_path / "tracker.db"
    open_db(db_path).close()
    queue = open_queue(redis_server.url)
    writer = subprocess.Popen([sys.executable, "-m", "tracker", "ingest", "--follow", "--redis", redis_server.url,
                               "--db", str(db_path)], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(queue.client.client_list()) > 1, what="the writer to connect")
        time.sleep(1.5)  # it waits for results now (reads block for 1 s at a time)
        # a new password, and the writer's connection dropped (as by a Redis restart): it reconnects
        queue.client.config_set("requirepass", "changed-password")
        queue.client.client_kill_filter(_type="normal", skipme=True)
        _, err = writer.communicate(timeout=60)  # it waited for ever
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert writer.returncode == 1 and "Traceback" not in err, err[-2000:]
    errors = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "check the user and password" in errors[0], err[-2000:]
