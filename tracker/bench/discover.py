"""`tracker bench discover`: discovery over many local feeds. The local news site
(tests/newssite.py) serves `/bench/feed/N.xml?items=K` (K generated articles, a fixed ETag) on
several loopback hosts; `--sources` feeds of `--items` items each are polled by the discovery stage
(the crawl process, as in `tracker run`), then polled again with nothing new: every request then
carries If-None-Match and gets a 304. Last, a whole `tracker run --max-runtime` on a fresh database:
poll, then crawl of the new articles until the deadline, tag and cluster.

Politeness is set for a local benchmark (no download delay, 8 requests at a time per host); the
hosts are distinct so that per-host limits are those of a real crawl of many outlets.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tracker import store
from tracker.bench.distributed import SITE_SCRIPT, _sites
from tracker.crawl.policy import parse_duration
from tracker.discover.poll_stage import DiscoverySummary, discover
from tracker.errors import ConfigError
from tracker.store import sources as stored

SETTINGS = {"TRACKER_ALLOWED_NETWORKS": "127.0.0.0/8", "DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False",
            "CONCURRENT_REQUESTS": "64", "CONCURRENT_REQUESTS_PER_DOMAIN": "8", "LOG_LEVEL": "WARNING",
            "RETRY_TIMES": "0", "TRACKER_EXTRACT_WORKERS": "1"}


@dataclass(frozen=True)
class DiscoverBenchOptions:
    sources: int = 1000
    items: int = 50
    hosts: int = 16
    max_runtime: str = "5m"
    whole_run: bool = True


@dataclass(frozen=True)
class PollFigures:
    seconds: float
    summary: DiscoverySummary
    not_modified: int
    peak_rss_mb: float  # the largest crawl child so far (ru_maxrss of this process's children)


def run_discover_bench(options: DiscoverBenchOptions = DiscoverBenchOptions()) -> list[str]:
    """Lines of figures (see the module docstring)."""
    if not SITE_SCRIPT.is_file():
        raise ConfigError(f"{SITE_SCRIPT}: the local news site is missing (run from a checkout)")
    limit = parse_duration(options.max_runtime).total_seconds()
    lines = [f"{options.sources} sources x {options.items} items on {options.hosts} loopback hosts, "
             f"--max-runtime {options.max_runtime}; load average before: {os.getloadavg()[0]:.1f} "
             f"on {os.cpu_count()} CPUs"]
    with tempfile.TemporaryDirectory(prefix="tracker-bench-discover-") as folder, _sites(options.hosts) as sites:
        root = Path(folder)
        sources = _sources_file(root / "sources.yml", sites, options)
        first = _poll(root / "polls.db", sources, limit, everything=False)
        second = _poll(root / "polls.db", sources, limit, everything=True)
        lines += _poll_lines(first, second, options)
        if options.whole_run:
            lines += _whole_run(root, sources, options.max_runtime, limit)
    lines.append(f"load average after: {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)")
    return lines


def _sources_file(path: Path, sites: list[str], options: DiscoverBenchOptions) -> Path:
    entries = "".join(f"  - url: {sites[n % len(sites)]}/bench/feed/{n}.xml?items={options.items}\n"
                      f"    kind: feed\n    interval: 1h\n" for n in range(options.sources))
    path.write_text("sources:\n" + entries, encoding="utf-8")
    return path


def _poll(db_path: Path, sources: Path, limit: float, everything: bool) -> PollFigures:
    db = store.open_db(db_path)
    settings = dict(SETTINGS, TRACKER_DB=str(db_path), TRACKER_DISCOVERY_SHARE="1",
                    TRACKER_SOURCES_ALL=str(everything), TRACKER_DEADLINE=f"{time.time() + limit:.3f}")
    last = stored.last_poll_id(db)
    started = time.perf_counter()
    summary = discover(db, [sources], settings, db_path.parent / f"poll-{int(everything)}.log")
    seconds = time.perf_counter() - started
    not_modified = sum(1 for row in stored.load_polls_after(db, last) if row["outcome"] == "not_modified")
    db.close()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return PollFigures(seconds, summary, not_modified, peak)


def _poll_lines(first: PollFigures, second: PollFigures, options: DiscoverBenchOptions) -> list[str]:
    a, b = first.summary, second.summary
    return [
        f"first poll: {a.polled} of {a.due} sources polled ({a.failed} failed) in {first.seconds:.1f} s, "
        f"{a.found} items, {a.new_articles} new article URLs = {a.new_articles / first.seconds:.0f} new URLs/s "
        f"(process start included); crawl process peak RSS {first.peak_rss_mb:.0f} MB",
        f"second poll, nothing new: {b.polled} polled, {second.not_modified} answered 304 to a conditional "
        f"request, {b.new_articles} new, in {second.seconds:.1f} s = {second.seconds / first.seconds:.2f} "
        f"of the first poll's time (target < 0.10)",
    ]


def _whole_run(root: Path, sources: Path, max_runtime: str, limit: float) -> list[str]:
    db_path = root / "run.db"
    args = [a for name, value in SETTINGS.items() for a in ("-s", f"{name}={value}")]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tracker", "run", "--db", str(db_path), "--sources", str(sources),
                           "--max-runtime", max_runtime, "-v", *args], cwd=root, capture_output=True, text=True,
                          check=False, timeout=limit * 3 + 120)
    seconds = time.perf_counter() - started
    summary = (done.stdout.strip().splitlines() or ["(no summary)"])[-1]
    notes = [line for line in done.stderr.splitlines()
             if line.startswith(("discovery:", "deadline")) or " stage=" in line or "run=" in line[:60]]
    return [f"whole run (exit {done.returncode}) in {seconds:.1f} s for --max-runtime {max_runtime} "
            f"({'inside' if seconds <= limit else 'OVER'} it): {summary}", *notes]
