"""`tracker bench outage`: the crawl when the network fails, with no real network.

1. Outage: every shared seed (../shared/seeds) loaded into a fresh database, then the crawl with
   the project's real settings (politeness, retries, timeouts) and a DNS resolver that fails every
   lookup (spiders.resolver.OutageResolver, installed in the crawl child by TWISTED_DNS_RESOLVER).
   Figures: wall time, and how many articles have a recorded attempt. Goal: all, under 2 minutes.
2. Mixed: the benchmark pages served from 127.0.0.1 (tracker.bench.crawl's server), crawled
   alone, then again beside 200 dead hosts (names that never resolve). Figures: the live pages'
   throughput in both runs. Goal: the mixed run within 20% of the all-live one.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tracker import store
from tracker.store import articles as stored_articles
from tracker.store import fetches
from tracker.bench.crawl import FAST_SETTINGS, _CorpusServer, _urls
from tracker.bench.extract import DEFAULT_CORPUS, load_corpus
from tracker.config import PROJECT_ROOT
from tracker.crawl.runner import crawl_settings, run_crawl
from tracker.seeds.files import load_seeds
from tracker.urls import make_alias

DEFAULT_SEEDS = PROJECT_ROOT.parent / "shared" / "seeds"
OUTAGE_RESOLVER = {"TWISTED_DNS_RESOLVER": "spiders.resolver.OutageResolver"}


@dataclass(frozen=True)
class OutageFigures:
    articles: int
    attempted: int
    attempts: int
    host_down: int
    seconds: float


def run_outage(seeds: Path = DEFAULT_SEEDS, overrides: dict[str, str] | None = None) -> OutageFigures:
    """Load the seeds into a fresh database and crawl it with every DNS lookup failing."""
    with tempfile.TemporaryDirectory(prefix="tracker-outage-") as folder:
        db_path = Path(folder) / "tracker.db"
        db = store.open_db(db_path)
        load_seeds(db, [seeds])
        articles = stored_articles.count_articles(db)
        settings = crawl_settings(db_path, overrides=dict(OUTAGE_RESOLVER, LOG_LEVEL="WARNING",
                                                         **(overrides or {})))
        start = time.perf_counter()
        summary = run_crawl(db_path, settings, log_file=Path(folder) / "crawl.log")
        seconds = time.perf_counter() - start
        attempted = fetches.count_attempted_articles(db)
        db.close()
    return OutageFigures(articles, attempted, summary.attempts,
                         summary.outcomes.get("host_down", 0), seconds)


@dataclass(frozen=True)
class MixedFigures:
    live: int
    dead: int
    live_fetched: int
    seconds: float

    @property
    def live_rate(self) -> float:
        return self.live_fetched / self.seconds if self.seconds else 0.0


def run_mixed(base_url: str, n_bodies: int, copies: int, dead_hosts: int,
              per_dead_host: int = 3) -> MixedFigures:
    """Crawl the live pages and `dead_hosts` hosts that never resolve, into a fresh database."""
    live = list(_urls(base_url, n_bodies, copies))
    dead = [f"http://dead-{h}.outage.example/news/{i}.html"
            for h in range(dead_hosts) for i in range(per_dead_host)]
    # Interleaved, as in a real due list: dead hosts are met all along the crawl.
    urls = [url for _, url in sorted([(i / len(live), url) for i, url in enumerate(live)]
                                     + [(i / len(dead), url) for i, url in enumerate(dead)])]
    with tempfile.TemporaryDirectory(prefix="tracker-mixed-") as folder:
        db_path = Path(folder) / "tracker.db"
        db = store.open_db(db_path)
        with store.transaction(db):
            for url in dict.fromkeys(urls):
                alias = make_alias(url)
                stored_articles.resolve_article(db, [alias], alias.url, {}, "import")
        settings = crawl_settings(db_path, overrides=dict(FAST_SETTINGS, **OUTAGE_RESOLVER))
        start = time.perf_counter()
        run_crawl(db_path, settings, log_file=Path(folder) / "crawl.log")
        seconds = time.perf_counter() - start
        fetched = stored_articles.count_fetched_under(db, base_url)
        db.close()
    return MixedFigures(len(live), len(set(dead)), fetched, seconds)


def run_outage_bench(seeds: Path = DEFAULT_SEEDS, copies: int = 2, dead_hosts: int = 200,
                     corpus: Path = DEFAULT_CORPUS, dns_seconds: float = 0.0) -> list[str]:
    """Lines of figures for both cases, with the load average before and after."""
    lines = [f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"]
    outage = run_outage(seeds, {"TRACKER_OUTAGE_DNS_SECONDS": str(dns_seconds)})
    lines.append(f"outage (every DNS lookup fails after {dns_seconds:g} s, default crawl settings): "
                 f"{outage.attempted} of {outage.articles} articles with a recorded attempt in "
                 f"{outage.seconds:.1f} s ({outage.attempts} attempts, {outage.host_down} of them "
                 f"host_down)")
    if copies > 0:
        lines += _mixed_lines(copies, dead_hosts, corpus)
    lines.append(f"load average after: {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)")
    return lines


def _mixed_lines(copies: int, dead_hosts: int, corpus: Path, repeat: int = 2) -> list[str]:
    lines = []
    bodies = [page.body for page in load_corpus(corpus)]
    server = _CorpusServer(bodies)
    try:
        # Alternated, the fastest of each kept: other work on the machine comes and goes, and a
        # single pair of runs measured that more than the dead hosts (+102% in one pair).
        runs = [run_mixed(server.url, len(bodies), copies, dead)
                for _ in range(repeat) for dead in (0, dead_hosts)]
    finally:
        server.close()
    alone = min(runs[0::2], key=lambda r: r.seconds)
    mixed = min(runs[1::2], key=lambda r: r.seconds)
    change = (mixed.live_rate / alone.live_rate - 1) * 100 if alone.live_rate else 0.0
    lines.append(f"mixed case, fastest of {repeat} alternated runs each:")
    lines.append(f"live only: {alone.live_fetched} of {alone.live} live pages fetched in "
                 f"{alone.seconds:.1f} s = {alone.live_rate:.1f} pages/s")
    lines.append(f"live + {mixed.dead} URLs on {dead_hosts} dead hosts: {mixed.live_fetched} of "
                 f"{mixed.live} live pages fetched in {mixed.seconds:.1f} s = "
                 f"{mixed.live_rate:.1f} live pages/s ({change:+.0f}% against live only)")
    return lines
