"""`tracker bench crawl`: the whole crawl (Scrapy child, WARC, extraction pool, SQLite) over the
article-extraction benchmark's 181 real pages, served many times under distinct URLs from
127.0.0.1 with politeness delays off, against plain trafilatura.extract on one core.
"""

from __future__ import annotations

import os
import resource
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

from tracker import store
from tracker.store import articles
from tracker.bench.extract import DEFAULT_CORPUS, load_corpus
from tracker.crawl.runner import crawl_settings, run_crawl
from tracker.extract.text import extract_plain_text
from tracker.urls import make_alias

FAST_SETTINGS = {
    "TRACKER_ALLOWED_NETWORKS": "127.0.0.0/8", "DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "32", "CONCURRENT_REQUESTS_PER_DOMAIN": "32", "LOG_LEVEL": "WARNING",
    "RETRY_TIMES": "0",
}


@dataclass(frozen=True)
class CrawlFigures:
    workers: int
    pages: int
    fetched: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


class _CorpusServer:
    """Serves page i of copy c at /c<c>/<i>.html from memory, in a thread."""

    def __init__(self, bodies: list[bytes]) -> None:
        handler = type("Handler", (_Handler,), {"bodies": bodies})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    bodies: list[bytes] = []
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        try:
            index = int(self.path.rsplit("/", 1)[-1].split(".")[0])
            body = self.bodies[index]
        except (ValueError, IndexError):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def plain_rate(htmls: list[str], repeat: int = 3) -> float:
    """Pages per second of plain trafilatura.extract, one core, after a warm-up page: the fastest
    of `repeat` passes, so that a pass slowed by other work on the machine does not flatter the
    crawl's ratio to it."""
    extract_plain_text(htmls[0])
    return max(len(htmls) / _seconds(lambda: [extract_plain_text(html) for html in htmls])
               for _ in range(max(1, repeat)))


def _seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def crawl_once(base_url: str, n_bodies: int, copies: int, workers: int) -> CrawlFigures:
    """Crawl every page of every copy into a fresh database; time the whole child process."""
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as folder:
        db_path = Path(folder) / "tracker.db"
        db = store.open_db(db_path)
        with store.transaction(db):
            for url in _urls(base_url, n_bodies, copies):
                alias = make_alias(url)
                articles.resolve_article(db, [alias], alias.url, {}, "import")
        db.close()
        settings = crawl_settings(db_path, overrides=dict(FAST_SETTINGS, TRACKER_EXTRACT_WORKERS=str(workers)))
        start = time.perf_counter()
        summary = run_crawl(db_path, settings, log_file=Path(folder) / "crawl.log")
        seconds = time.perf_counter() - start
    return CrawlFigures(workers, summary.attempts, summary.fetched, seconds)


def _urls(base_url: str, n_bodies: int, copies: int) -> Iterator[str]:
    for copy in range(copies):
        for index in range(n_bodies):
            yield f"{base_url}/c{copy}/{index}.html"


def run_crawl_bench(copies: int = 4, corpus: Path = DEFAULT_CORPUS) -> list[str]:
    """Lines of figures: plain trafilatura on one core, then the crawl with 1 and 2 extractors."""
    pages = load_corpus(corpus)
    bodies = [page.body for page in pages]
    lines = [f"corpus: {len(bodies)} pages x {copies} copies = {len(bodies) * copies} URLs on 127.0.0.1",
             f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"]
    plain = plain_rate([body.decode("utf-8") for body in bodies])
    lines.append(f"plain trafilatura.extract, 1 core, fastest of 3 passes: {plain:.1f} pages/s")
    server = _CorpusServer(bodies)
    try:
        for workers in (1, 2):
            figures = crawl_once(server.url, len(bodies), copies, workers)
            lines.append(f"crawl, {workers} extraction worker(s): {figures.pages} pages "
                         f"({figures.fetched} fetched) in {figures.seconds:.1f} s = "
                         f"{figures.rate:.1f} pages/s ({figures.rate / plain:.2f}x plain)")
    finally:
        server.close()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lines.append(f"peak memory of the largest crawl process: {peak:.0f} MB")
    lines.append(f"load average after: {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)")
    return lines
