"""`tracker bench serve`: latency of the real Datasette server over a large synthetic database.

Builds (or reuses) a database of N synthetic articles grouped into stories, starts `tracker serve`
on it as a child process on a free port, and times the pages analysts use most: the home page, the
stories list, a story page, story and article searches, a facet on publisher. Prints p50/p95/max
per page.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from tracker import store
from tracker.store import articles, bulk
from tracker.store.lensfacets import refresh_lens_facets
from tracker.store import stories as stored_stories
from tracker.bench.serve_enforcement import add_enforcement, enforcement_cases
from tracker.dates import epoch_iso

logger = logging.getLogger(__name__)

TOPICS = ["Privacy", "Facial recognition", "Surveillance", "GDPR", "AI", "Biometrics", "Policing",
          "Data protection", "Cybersecurity", "Health data", "Children", "Advertising"]
SUBJECTS = ["facial recognition", "data protection", "surveillance cameras", "biometric data",
            "cookie consent", "location tracking", "health records", "encryption", "ad tracking",
            "children's data", "smart speakers", "police databases", "credit scoring", "spyware"]
ACTORS = ["EU regulators", "The ICO", "Congress", "Police", "A court", "Lawmakers", "Campaigners",
          "The FTC", "Ministers", "A watchdog", "Retailers", "Schools", "Airports", "Banks"]
VERBS = ["ban", "fine", "probe", "defend", "restrict", "approve", "challenge", "expand", "review",
         "suspend", "question", "audit"]
FILLER = ("the a of to in and for on with that by as at from is was said will would could new "
          "government company data people public rules law plan report year week city state system "
          "technology users service court officials privacy group says told after before under").split()
SEARCH_WORDS = ["facial recognition", "surveillance", "biometric", "cookie consent", "location",
                "encryption", "spyware", "credit scoring", "smart speakers", "health records"]
LANGUAGES = ["en"] * 16 + ["fr", "de", "es", "it"]


@dataclass(frozen=True)
class BenchOptions:
    """How big a database and how many timed requests per page."""

    articles: int = 1_000_000
    db_path: Path | None = None  # default: a file under the system temp folder, kept for reruns
    requests: int = 40
    seed: int = 1


@dataclass(frozen=True)
class Timing:
    """Latencies (ms) of one page."""

    name: str
    path: str
    ms: list[float]

    def line(self) -> str:
        q = statistics.quantiles(self.ms, n=20, method="inclusive")
        return (f"{self.name:22} p50 {statistics.median(self.ms):7.1f} ms   p95 {q[18]:7.1f} ms   "
                f"max {max(self.ms):7.1f} ms   ({len(self.ms)} requests, e.g. {self.path})")


# --- The synthetic database ------------------------------------------------------------------------

def _publishers(rng: random.Random) -> list[str]:
    return [f"{rng.choice(['Daily', 'Tech', 'Global', 'City', 'Policy'])} "
            f"{rng.choice(['Herald', 'Wire', 'Times', 'Post', 'Review', 'Report'])} {i}" for i in range(600)]


def _stories(n_articles: int, rng: random.Random) -> Iterator[tuple[int, int, float]]:
    """(story id, its size, its start as epoch seconds) until n_articles are covered."""
    start, end = 1_546_300_800.0, 1_609_459_200.0  # 2019 and 2020
    done, story = 0, 0
    while done < n_articles:
        story += 1
        size = min(n_articles - done, 1 + int(rng.expovariate(1 / 3)))
        yield story, size, rng.uniform(start, end)
        done += size


def synthetic_stories(n_articles: int, seed: int) -> Iterator[tuple[tuple, list[tuple]]]:
    """(cluster row, its article rows): stories of 1-30 articles about an actor, verb and subject."""
    rng = random.Random(seed)
    publishers = _publishers(rng)
    weights = [1 / (i + 1) for i in range(len(publishers))]
    article_id = 0
    for story, size, began in _stories(n_articles, rng):
        subject = rng.choice(SUBJECTS)
        headline = f"{rng.choice(ACTORS)} {rng.choice(VERBS)} {subject} plan {story}"
        times = sorted(began + rng.uniform(0, 4 * 86400) for _ in range(size))
        names = rng.choices(publishers, weights, k=size)
        rows = [_article(article_id + k + 1, story, headline, subject, when, publisher, rng)
                for k, (when, publisher) in enumerate(zip(times, names))]
        article_id += size
        yield (story, headline, epoch_iso(times[0]), epoch_iso(times[-1]), size, len(set(names)),
               json.dumps(list(dict.fromkeys(names)))), rows


def _article(article_id: int, story: int, headline: str, subject: str, when: float, publisher: str,
             rng: random.Random) -> tuple:
    title = headline if rng.random() < 0.3 else f"{headline} ({rng.choice(FILLER)} {rng.choice(FILLER)})"
    text = " ".join(rng.choices(FILLER, k=40)) + f" {subject} " + " ".join(rng.choices(FILLER, k=20))
    topics = json.dumps(rng.sample(TOPICS, 2))
    domain = publisher.lower().replace(" ", "") + ".example"
    return (article_id, f"https://{domain}/{story}/{article_id}", title, text[:120], text,
            epoch_iso(when), publisher, domain, rng.choice(LANGUAGES), topics, story, "fetched",
            epoch_iso(when), 1, epoch_iso(when), epoch_iso(when))


# A small synthetic taxonomy for the lens pages: kind -> (tag, label), the first ones most common.
LENS_TAGS = {
    "regulator": [("ico", "Information Commissioner's Office (UK)"), ("cnil", "CNIL (France)"),
                  ("ftc", "Federal Trade Commission (US)"), ("garante", "Garante (Italy)"),
                  ("dpc-ie", "Data Protection Commission (Ireland)"), ("aepd", "AEPD (Spain)")],
    "law": [("gdpr", "General Data Protection Regulation (GDPR)"), ("ccpa", "CCPA (California)"),
            ("bipa", "Biometric Information Privacy Act (Illinois)"), ("ai-act", "AI Act (EU)"),
            ("coppa", "COPPA (US)")],
    "action": [("fine", "Fine"), ("lawsuit", "Lawsuit"), ("investigation", "Investigation"),
               ("ban", "Ban"), ("settlement", "Settlement")],
    "jurisdiction": [(c, c.upper()) for c in ("eu", "gb", "us", "fr", "de", "it", "ie", "us-il", "us-ca")],
    "technology": [("facial-recognition", "Facial recognition"), ("biometrics", "Biometrics"),
                   ("cookies", "Cookies"), ("location-data", "Location data"), ("spyware", "Spyware")],
    "company": [(f"company-{i}", f"Company {i}") for i in range(30)],
}
LENS_ODDS = {"regulator": 0.35, "law": 0.45, "action": 0.4, "jurisdiction": 0.6, "technology": 0.5,
             "company": 0.5}  # share of stories naming one entry of each kind


def synthetic_lens(sizes: list[tuple[int, int]], seed: int) -> Iterator[tuple[list[tuple], list[tuple]]]:
    """Per batch of stories: tag rows of their articles (each carries each of its story's tags 4
    times in 5) and (relevance, article id) pairs, higher with a regulator or law."""
    rng = random.Random(seed + 1)
    article_id, tags, relevances = 0, [], []
    for _, size in sizes:
        chosen = [(kind, *rng.choices(entries, [1 / (i + 1) for i in range(len(entries))])[0])
                  for kind, entries in LENS_TAGS.items() if rng.random() < LENS_ODDS[kind]]
        for _ in range(size):
            article_id += 1
            mine = [(article_id, kind, tag, label, 1) for kind, tag, label in chosen if rng.random() < 0.8]
            kinds = {row[1] for row in mine}
            relevance = min(1.0, 0.05 + 0.35 * ("regulator" in kinds) + 0.3 * ("law" in kinds)
                            + 0.15 * ("action" in kinds) + rng.uniform(0, 0.15))
            tags += mine
            relevances.append((round(relevance, 3), article_id))
        if len(relevances) >= 20_000:
            yield tags, relevances
            tags, relevances = [], []
    if relevances:
        yield tags, relevances


def build_database(path: Path, n_articles: int, seed: int) -> None:
    """A fresh tracker database of n synthetic articles, tagged, with its stored lens: one
    transaction per step, indexes and FTS built once."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = store.open_db(path)
    bulk.save_stories(db, _batches(synthetic_stories(n_articles, seed), 5_000))
    bulk.save_lens(db, synthetic_lens(bulk.story_sizes(db), seed))
    refresh_lens_facets(db, everything=True)
    db.close()


def _batches(items: Iterator[tuple[tuple, list[tuple]]], size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def existing_articles(path: Path) -> int:
    """Articles in a database left by an earlier run (0 if none)."""
    if not path.exists():
        return 0
    return articles.count_articles(store.open_db(path, create=False))


# --- The server and the timings --------------------------------------------------------------------

def start_server(db_path: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`tracker serve` on a free port; returns the process and its base URL (read from its log)."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tracker", "serve", "--db", str(db_path),
                                 "--port", "0"], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        found = re.search(r"Uvicorn running on (http://\S+)", log_path.read_text(errors="replace"))
        if found:
            return proc, found.group(1).rstrip("/")
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"tracker serve did not start: {log_path.read_text(errors='replace')[-2000:]}")


def time_page(base: str, name: str, paths: Callable[[int], str], n: int) -> Timing:
    """Fetch n pages (plus 3 untimed warm-ups) one after another; each must answer 200."""
    ms = []
    for i in range(-3, n):
        path = paths(i)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(base + path, timeout=60) as response:
                response.read()
        except urllib.error.HTTPError as exc:  # name the page: a 400 is a timed-out query
            raise RuntimeError(f"{path}: HTTP {exc.code} {exc.read()[:300]!r}") from exc
        if i >= 0:
            ms.append((time.perf_counter() - started) * 1000)
    return Timing(name, paths(0), ms)


def page_cases(db_name: str, n_stories: int, rng: random.Random) -> dict[str, Callable[[int], str]]:
    """The pages timed: name -> path of the i-th request (random stories and search words).

    Search words each match about one article in 14 (a subject); "data" also fills every text,
    so it is timed apart as the worst case: a search matching all million articles.
    """
    q = urllib.parse.quote
    return {
        "home page": lambda i: "/",
        "stories list": lambda i: f"/{db_name}/stories",
        "story page": lambda i: f"/{db_name}/story?id={rng.randint(1, n_stories)}",
        "search stories": lambda i: f"/{db_name}/search_stories?q={q(rng.choice(SEARCH_WORDS))}",
        "search stories, newest": lambda i: (f"/{db_name}/search_stories?q={q(rng.choice(SEARCH_WORDS))}"
                                             "&sort=newest"),
        "search, empty query": lambda i: f"/{db_name}/search_stories?q=",
        "publisher facet": lambda i: f"/{db_name}/articles?_facet=publisher",
        "full-text search": lambda i: f"/{db_name}/articles?_search={q(rng.choice(SEARCH_WORDS))}",
        "search, ranked query": lambda i: f"/{db_name}/search?q={q(rng.choice(SEARCH_WORDS))}",
        "search, every article": lambda i: f"/{db_name}/articles?_search=data",
        **lens_cases(db_name, rng),
    }


def lens_cases(db_name: str, rng: random.Random) -> dict[str, Callable[[int], str]]:
    """The lens pages: as opened (two facets), with one to three filters (tags drawn at random,
    common and rare alike), and the articles page with filters and two facets."""
    def tag(kind: str) -> str:
        return rng.choice(LENS_TAGS[kind])[0]

    def year() -> str:
        return f"_since={rng.choice(['2019', '2020'])}-{rng.randint(1, 12):02d}-01"

    stories, lens_articles = f"/{db_name}/story_lens", f"/{db_name}/article_lens"
    return {
        "lens: stories": lambda i: stories,
        "lens: + 2 facets": lambda i: f"{stories}?_facet_tag=action&_facet_tag=company",
        "lens: 1 filter": lambda i: f"{stories}?_law={tag('law')}",
        "lens: 2 filters": lambda i: f"{stories}?_regulator={tag('regulator')}&_action={tag('action')}",
        "lens: 3 filters": lambda i: (f"{stories}?_regulator={tag('regulator')}&_law={tag('law')}"
                                      f"&_min_relevance=0.5"),
        "lens: 3 filters, dates": lambda i: f"{stories}?_law={tag('law')}&_company={tag('company')}&{year()}",
        "lens: articles": lambda i: lens_articles,
        "lens: articles, 3 filt": lambda i: (f"{lens_articles}?_jurisdiction={tag('jurisdiction')}"
                                             f"&_technology={tag('technology')}&{year()}"
                                             "&_facet_tag=law&_facet_tag=regulator"),
    }


def run_bench(options: BenchOptions) -> list[str]:
    """Build or reuse the database, serve it, time each page; returns the report lines."""
    import tempfile

    path = options.db_path or Path(tempfile.gettempdir()) / f"tracker-bench-lens-{options.articles}.db"
    lines = []
    if existing_articles(path) != options.articles:
        started = time.perf_counter()
        build_database(path, options.articles, options.seed)
        lines.append(f"built {path}: {options.articles:,} articles in {time.perf_counter() - started:.0f} s")
    else:
        lines.append(f"reusing {path} ({options.articles:,} articles)")
    db = store.open_db(path, create=False)
    n_stories = stored_stories.last_cluster_id(db)
    n_decisions = add_enforcement(db, options.articles, options.seed)  # the enforcement pages' record
    db.close()
    lines.append(f"{n_stories:,} stories, {n_decisions:,} decisions, {path.stat().st_size / 1e9:.2f} GB")
    proc, base = start_server(path, path.with_suffix(".serve.log"))
    lines.append(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    try:
        rng = random.Random(options.seed)
        pages = {**page_cases(path.stem, n_stories, rng), **enforcement_cases(path.stem, n_decisions, rng)}
        for name, paths in pages.items():
            lines.append(time_page(base, name, paths, options.requests).line())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    lines.append(f"load average after: {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)")
    return lines
