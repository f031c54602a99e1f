"""Network faults: the host circuit breaker, the run deadline, SIGTERM/SIGINT, no listening port,
and the real duration of an attempt. Every crawl is a real Scrapy child against the local news
site on 127.0.0.1; dead hosts are names that a resolver of ours fails (no real DNS is asked).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import query
from tests.test_crawl import FAST, import_urls, tracker
from tests.test_run import runs, write_seed
from tracker.crawl.policy import parse_retry_after

OUTAGE = ["-s", "TWISTED_DNS_RESOLVER=spiders.resolver.OutageResolver"]


def fetch_rows(db: Path, like: str) -> list[tuple[Any, ...]]:
    return query(db, "SELECT article_id, outcome, error_message, elapsed_ms FROM fetches "
                     "WHERE url LIKE ? ORDER BY id", (like,))


def test_dead_host_stops_after_three_failures_and_every_article_is_recorded(
        newssite: Any, tmp_path: Path) -> None:
    newssite.reset()
    newssite.set_crawl_delay(0)
    db = tmp_path / "t.db"
    dead = [f"http://dead.outage.example/news/{n}.html" for n in range(8)]
    live = ["/news/ok-1.html", "/news/ok-2.html"]
    (tmp_path / "u.jsonl").write_text("".join(f'{{"url": "{u}"}}\n' for u in dead), encoding="utf-8")
    assert tracker(tmp_path, "import", str(tmp_path / "u.jsonl"), "--db", str(db)).returncode == 0
    import_urls(tmp_path, db, newssite, live)
    # one request at a time, so that the count is exact (requests in flight together share a
    # lookup and fail together)
    result = tracker(tmp_path, "crawl", "--db", str(db), *FAST, *OUTAGE, "-s", "CONCURRENT_REQUESTS=1")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = fetch_rows(db, "http://dead.outage.example/%")
    # every article has its attempt recorded; DNS errors are not retried (one row an article)
    assert len({r[0] for r in rows}) == 8 and len(rows) == 8
    outcomes = [r[1] for r in rows]
    # three failed lookups (robots.txt's would count too): the other articles were not sent
    assert outcomes.count("network_error") == 3 and outcomes.count("host_down") == 5, outcomes
    down = [r for r in rows if r[1] == "host_down"]
    assert all("dead.outage.example" in r[2] and "DNS" in r[2] for r in down), down[0][2]
    statuses = query(db, "SELECT status, COUNT(*) FROM articles WHERE url LIKE "
                         "'http://dead.outage.example/%' GROUP BY status")
    assert statuses == [("failed", 8)]  # retried next run with the usual back-off
    due = query(db, "SELECT MIN(next_fetch_at) > strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+50 minutes') "
                    "FROM articles WHERE url LIKE 'http://dead.outage.example/%'")
    assert due == [(1,)]
    ok = query(db, "SELECT COUNT(*) FROM articles WHERE status = 'fetched'")[0][0]
    assert ok == 2  # the live host is not affected
    assert "host_down" in tracker(tmp_path, "stats", "--db", str(db)).stdout


def test_refused_connections_open_the_breaker_counting_each_retry(newssite: Any, tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: every connection is refused
    db = tmp_path / "t.db"
    urls = [f"http://127.0.0.1:{port}/news/{n}.html" for n in range(6)]
    (tmp_path / "u.jsonl").write_text("".join(f'{{"url": "{u}"}}\n' for u in urls), encoding="utf-8")
    assert tracker(tmp_path, "import", str(tmp_path / "u.jsonl"), "--db", str(db)).returncode == 0
    result = tracker(tmp_path, "crawl", "--db", str(db), *FAST, "-s", "RETRY_TIMES=2")
    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = [r[1] for r in fetch_rows(db, f"http://127.0.0.1:{port}/%")]
    assert len(outcomes) == 6
    # robots.txt and its two retries are three failures in a row: nothing else is sent
    assert outcomes.count("host_down") >= 4, outcomes


def test_breaker_can_be_turned_off(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    urls = [f"http://dead.outage.example/news/{n}.html" for n in range(5)]
    (tmp_path / "u.jsonl").write_text("".join(f'{{"url": "{u}"}}\n' for u in urls), encoding="utf-8")
    assert tracker(tmp_path, "import", str(tmp_path / "u.jsonl"), "--db", str(db)).returncode == 0
    result = tracker(tmp_path, "crawl", "--db", str(db), *FAST, *OUTAGE, "-s", "TRACKER_HOST_FAILURES=0")
    assert result.returncode == 0, result.stderr[-3000:]
    assert [r[1] for r in fetch_rows(db, "http://dead.outage.example/%")] == ["network_error"] * 5


def test_deadline_stops_scheduling_and_leaves_the_rest_due(newssite: Any, tmp_path: Path) -> None:
    newssite.reset()
    newssite.set_crawl_delay(0)
    db = tmp_path / "t.db"
    import_urls(tmp_path, db, newssite, [f"/gen/{n}.html" for n in range(300, 330)])
    started = time.monotonic()
    result = tracker(tmp_path, "crawl", "--db", str(db), *FAST, "-s", "DOWNLOAD_DELAY=1",
                     "-s", "AUTOTHROTTLE_START_DELAY=1", "--max-runtime", "4s")
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    fetched = query(db, "SELECT COUNT(*) FROM articles WHERE status = 'fetched'")[0][0]
    untouched = query(db, "SELECT COUNT(*) FROM articles WHERE status = 'new' AND fetch_count = 0")[0][0]
    assert 1 <= fetched < 30 and fetched + untouched == 30
    assert f"deadline reached: {untouched} of 30 due articles not attempted" in result.stdout
    assert took < 30, took  # 30 pages a second apart would take 30 s
    again = tracker(tmp_path, "crawl", "--db", str(db), *FAST, "--limit", "1000")
    assert again.returncode == 0 and f"{untouched} due" in again.stdout  # still due


def test_run_with_a_deadline_completes_with_a_note(newssite: Any, tmp_path: Path) -> None:
    newssite.reset()
    newssite.set_crawl_delay(0)
    seeds, db = tmp_path / "seeds", tmp_path / "t.db"
    write_seed(seeds, "a.md", newssite, "/news/ok-1.html", [f"/gen/{n}.html" for n in range(400, 420)])
    result = subprocess.run([sys.executable, "-m", "tracker", "run", str(seeds), "--db", str(db), *FAST,
                             "-s", "DOWNLOAD_DELAY=1", "-s", "AUTOTHROTTLE_START_DELAY=1",
                             "--max-runtime", "5s"], cwd=tmp_path, text=True, capture_output=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    row = runs(db)[-1]
    assert row["status"] == "completed"
    assert row["note"].startswith("deadline reached:") and "not attempted" in row["note"]
    assert "deadline reached" in result.stderr


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_marks_the_run_interrupted_at_once(newssite: Any, tmp_path: Path, sig: int, code: int) -> None:
    newssite.reset()
    newssite.set_crawl_delay(0)
    seeds, db = tmp_path / "seeds", tmp_path / "t.db"
    # related items are fetched first (no date: newest), in order: the slow page goes first
    write_seed(seeds, "a.md", newssite, "/news/ok-1.html",
               ["/slow/page.html?delay=4", *(f"/gen/{n}.html" for n in range(500, 520))])
    job = subprocess.Popen([sys.executable, "-m", "tracker", "run", str(seeds), "--db", str(db), *FAST,
                            "-s", "DOWNLOAD_DELAY=1", "-s", "AUTOTHROTTLE_START_DELAY=1",
                            "-s", "DOWNLOAD_TIMEOUT=10"],
                           cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (newssite.hits("/slow/page.html")
                                               and _count(db, "SELECT COUNT(*) FROM fetches")):
        time.sleep(0.1)
    assert newssite.hits("/slow/page.html") == 1, "the slow page was never requested"
    job.send_signal(sig)
    signalled = time.monotonic()
    while time.monotonic() - signalled < 3 and _status(db) != "interrupted":
        time.sleep(0.05)
    assert _status(db) == "interrupted"  # at once, not when the crawl has wound down
    _, err = job.communicate(timeout=90)
    assert job.returncode == code, err[-3000:]
    assert "interrupted by SIG" in err
    assert runs(db)[-1]["status"] == "interrupted" and runs(db)[-1]["ended_at"]
    # the slow page in flight was let finish (it answers after 4 s, within its 10 s timeout)
    assert _count(db, "SELECT COUNT(*) FROM fetches WHERE url LIKE '%/slow/page.html%'") == 1
    assert _count(db, "SELECT COUNT(*) FROM articles WHERE status = 'new'") > 0  # still due


def _count(db: Path, sql: str) -> int:
    try:
        return int(query(db, sql)[0][0])
    except Exception:  # the database or table may not exist yet
        return 0


def _status(db: Path) -> str | None:
    try:
        rows = query(db, "SELECT status FROM runs ORDER BY id DESC LIMIT 1")
    except Exception:
        return None
    return rows[0][0] if rows else None


def listening_ports(pid: int) -> list[int]:
    """TCP ports in LISTEN state on sockets that process `pid` holds open (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = []
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _crawl_child(parent: int) -> int | None:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spiders.crawl_process" in cmdline:
            return int(proc.name)
    return None


@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="needs Linux /proc")
def test_no_crawl_listens_on_any_port(newssite: Any, tmp_path: Path) -> None:
    newssite.reset()
    newssite.set_crawl_delay(0)
    db = tmp_path / "t.db"
    import_urls(tmp_path, db, newssite, ["/slow/page.html?delay=6", "/news/ok-1.html"])
    job = subprocess.Popen([sys.executable, "-m", "tracker", "crawl", "--db", str(db), *FAST,
                            "-s", "DOWNLOAD_TIMEOUT=10"], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, seen = time.monotonic() + 60, []
        while time.monotonic() < deadline and not _count(db, "SELECT COUNT(*) FROM fetches"):
            child = _crawl_child(job.pid)
            if child:
                seen.append(listening_ports(child))
            time.sleep(0.2)
        child = _crawl_child(job.pid)
        assert child is not None, "the crawl child was not found while the slow page was in flight"
        seen.append(listening_ports(child))
    finally:
        job.communicate(timeout=90)
    assert seen and all(ports == [] for ports in seen), seen
    assert job.returncode == 0


def test_elapsed_ms_is_the_whole_attempt_with_timeouts_and_retries(newssite: Any, tmp_path: Path) -> None:
    newssite.reset()
    newssite.set_crawl_delay(0)
    db = tmp_path / "t.db"
    import_urls(tmp_path, db, newssite, ["/slow/page.html?delay=5", "/news/ok-1.html"])
    result = tracker(tmp_path, "crawl", "--db", str(db), *FAST, "-s", "DOWNLOAD_TIMEOUT=1",
                     "-s", "RETRY_TIMES=1", "-s", "TRACKER_RETRY_BACKOFF_BASE=0.5")
    assert result.returncode == 0, result.stderr
    rows = fetch_rows(db, "%/slow/page.html%")
    assert [r[1] for r in rows] == ["timeout"]
    # two timed-out tries of 1 s and a 0.5 s pause between them
    assert rows[0][3] is not None and rows[0][3] >= 2400, rows
    ok = fetch_rows(db, "%/news/ok-1.html")
    assert ok[0][1] == "ok" and 0 < ok[0][3] < 2400


@pytest.mark.parametrize("value, seconds", [
    ("5", 5.0), (" 120 ", 120.0), (b"7", 7.0), ("nan", None), ("NaN", None), ("inf", None),
    ("-5", None), ("1e999", None), ("1.5", None), ("garbage", None), ("", None), (None, None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0)])
def test_retry_after_is_digits_or_an_http_date(value: Any, seconds: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 28, tzinfo=timezone.utc)
    assert parse_retry_after(value, now) == seconds


def test_retry_after_nan_neither_stalls_the_crawl_nor_loses_the_attempt(newssite: Any, tmp_path: Path) -> None:
    newssite.reset()
    newssite.set_crawl_delay(0)
    db = tmp_path / "t.db"
    import_urls(tmp_path, db, newssite, ["/flaky/429.html?fail=100&retry_after=nan",
                                         "/flaky/429.html?fail=100&retry_after=1e999",
                                         "/slow/page.html?delay=6", "/news/ok-1.html"])
    started = time.monotonic()
    result = tracker(tmp_path, "crawl", "--db", str(db), *FAST, "-s", "DOWNLOAD_TIMEOUT=1",
                     "-s", "RETRY_TIMES=1", "--max-runtime", "60s")
    assert result.returncode == 0, result.stderr[-3000:]
    assert time.monotonic() - started < 60  # the run ends on time (it hung for 15 minutes)
    assert "cannot convert float NaN" not in result.stderr
    rows = query(db, "SELECT url, status, last_error, next_fetch_at FROM articles ORDER BY url")
    by_path = {row[0].split("/", 3)[3]: row for row in rows}
    for path in ("flaky/429.html?fail=100&retry_after=nan", "flaky/429.html?fail=100&retry_after=1e999"):
        status, error, next_at = by_path[path][1:]
        assert status == "failed" and "429" in error, by_path[path]  # the attempt is saved
        assert next_at is not None and next_at.startswith("20")  # our own back-off: an hour on
    assert by_path["slow/page.html?delay=6"][1] == "failed"  # its timeout fired
    assert by_path["news/ok-1.html"][1] == "fetched"
