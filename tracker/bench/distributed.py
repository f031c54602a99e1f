"""`tracker bench distributed`: the local news site (tests/newssite.py) served on many loopback host
names (127.0.0.2, 127.0.0.3, ...: distinct hosts for politeness) with a per-page latency, crawled
through a local redis-server by 1, 2 and 4 `tracker crawl --redis` workers while this process is
the writer. Prints pages/s for each and the writer's items/s.

Each worker is capped at CONCURRENT_REQUESTS (4 by default), as one machine is by its own limits,
so a latency-bound crawl shows what adding workers gives; per-host politeness (2 at a time per host,
across the cluster) is not the bound with 16 hosts.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tracker import store
from tracker.store import articles
from tracker.config import PROJECT_ROOT
from tracker.crawl.distributed import IngestOptions, IngestSummary, enqueue_due, ingest_results, open_queue
from tracker.errors import ConfigError
from tracker.crawl.policy import RecrawlPolicy
from tracker.urls import make_alias

SITE_SCRIPT = PROJECT_ROOT / "tests" / "newssite.py"


@dataclass(frozen=True)
class BenchOptions:
    hosts: int = 16
    pages: int = 10  # per host
    latency: float = 0.5  # seconds before each page is answered
    concurrency: int = 4  # CONCURRENT_REQUESTS of each worker
    workers: tuple[int, ...] = (1, 2, 4)


@dataclass(frozen=True)
class Figures:
    workers: int
    pages: int
    seconds: float  # from starting the workers to the last result committed
    steady_seconds: float  # from the first result committed to the last
    writer: IngestSummary

    @property
    def rate(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    @property
    def steady_rate(self) -> float:
        return self.pages / self.steady_seconds if self.steady_seconds else 0.0


def run_distributed_bench(options: BenchOptions = BenchOptions()) -> list[str]:
    """Lines of figures (see the module docstring)."""
    if not SITE_SCRIPT.is_file():
        raise ConfigError(f"{SITE_SCRIPT}: the local news site is missing (run from a checkout)")
    lines = [f"{options.hosts} hosts x {options.pages} pages, {options.latency:.2f} s a page, "
             f"{options.concurrency} requests at a time per worker, 2 per host across the cluster",
             f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"]
    with tempfile.TemporaryDirectory(prefix="tracker-bench-dist-") as folder, \
            _redis(Path(folder)) as url, _sites(options.hosts) as sites:
        base = None
        for count in options.workers:
            figures = _crawl(Path(folder) / f"run{count}", url, sites, options, count)
            base = base or figures.steady_rate
            lines.append(
                f"{count} worker(s): {figures.pages} pages in {figures.seconds:.1f} s = "
                f"{figures.rate:.1f} pages/s with start-up; {figures.steady_rate:.1f} pages/s steady "
                f"({figures.steady_rate / base:.2f}x one worker); writer {figures.writer.items_per_second:.0f} "
                f"items/s while saving ({figures.writer.busy_seconds:.1f} s busy)")
    lines.append(f"load average after: {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)")
    return lines


def _crawl(folder: Path, url: str, sites: list[str], options: BenchOptions, count: int) -> Figures:
    folder.mkdir()
    db = store.open_db(folder / "tracker.db")
    with store.transaction(db):
        for page_url in _urls(sites, options):
            alias = make_alias(page_url)
            articles.resolve_article(db, [alias], alias.url, {}, "import")
    queue = open_queue(url)
    queue.clear()
    pages = enqueue_due(db, queue).added
    started = time.perf_counter()
    workers = [_worker(folder / f"w{i}", url, options) for i in range(count)]
    marks: list[float] = []
    try:
        summary = ingest_results(db, queue, RecrawlPolicy(), IngestOptions(until_drained=True, batch=50),
                                 lambda s: marks.append(time.perf_counter()))
        ended = time.perf_counter()
    finally:
        for worker in workers:
            _stop(worker)
        db.close()
    first = marks[0] if marks else started
    return Figures(count, pages, ended - started, max(ended - first, 1e-9), summary)


def _urls(sites: list[str], options: BenchOptions) -> Iterator[str]:
    number = 0
    for _ in range(options.pages):
        for site in sites:
            number += 1
            yield f"{site}/gen/{number}.html?delay={options.latency}"


def _worker(folder: Path, url: str, options: BenchOptions) -> subprocess.Popen[bytes]:
    folder.mkdir()
    settings = {"TRACKER_ALLOWED_NETWORKS": "127.0.0.0/8", "DOWNLOAD_DELAY": "0",
                "AUTOTHROTTLE_ENABLED": "False", "CONCURRENT_REQUESTS": str(options.concurrency),
                "CONCURRENT_REQUESTS_PER_DOMAIN": "2", "TRACKER_WORKER_PREFETCH": str(options.concurrency * 2),
                "TRACKER_EXTRACT_WORKERS": "1", "TRACKER_WORKER_IDLE_EXIT": "2", "LOG_LEVEL": "WARNING",
                "RETRY_TIMES": "0"}
    args = [a for name, value in settings.items() for a in ("-s", f"{name}={value}")]
    log = (folder / "worker.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "tracker", "crawl", "--redis", url, "--db",
                             str(folder / "unused.db"), *args], cwd=folder, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    try:
        worker.wait(timeout=15)  # it exits by itself once idle
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _redis(folder: Path) -> Iterator[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise ConfigError("redis-server is not installed (Debian: apt-get install redis-server)")
    port = _free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                                "--save", "", "--appendonly", "no", "--loglevel", "warning"],
                               stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for_redis(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_redis(url: str) -> None:
    queue = open_queue(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            queue.ping()
            return
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def _sites(hosts: int) -> Iterator[list[str]]:
    """One news-site server per loopback address 127.0.0.2 ... (each its own host)."""
    processes = []
    try:
        for index in range(hosts):
            processes.append(subprocess.Popen(
                [sys.executable, "-u", str(SITE_SCRIPT), "--host", f"127.0.0.{index + 2}", "--port", "0",
                 "--crawl-delay", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
        urls = []
        for process in processes:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            if not line.startswith("http://"):
                raise ConfigError(f"the news site did not start on a loopback address: {line!r}")
            urls.append(line)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)
