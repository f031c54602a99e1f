"""`tracker bench tag`: tagging speed on N synthetic articles built from the shared seeds.

Each synthetic article takes one seed item's title and another's excerpt (so the mix of beat and
off-beat news is the seeds' own) and, one time in ten, an enforcement sentence with a varying
amount, so that the description, context and fine paths run as they would on privacy coverage.
Articles are made inside the worker processes from their index: the figures are the tagger's (the
automaton, the rules, fines and relevance), not pickling. The amounts found are then reconciled
into the enforcement record (tracker/lens/decisions.py) and written to a fresh database, timed
apart. `tracker tag` on a database adds the reads and writes; a last figure times that on a smaller
database.
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from tracker.config import PROJECT_ROOT
from tracker.lens.decisions import Mention, number, reconcile
from tracker.lens.tag_stage import Tagger
from tracker.lens.taxonomy import Taxonomy, load_taxonomy

SEEDS = PROJECT_ROOT.parent / "shared" / "seeds"
TASK = 5000  # articles per worker task
EXTRA = (
    "The Information Commissioner's Office said it intends to fine the company £{n}m over the breach.",
    "Regulators fined the firm €{n} million under the GDPR for unlawful processing of data.",
    "The company agreed to pay ${n} million to settle a class action under Illinois' biometric privacy law.",
    "Italy's data protection authority ordered the app to stop processing Italian users' data.",
    "The startup raised ${n} million in funding to build facial recognition for retail stores.",
)
DB_ARTICLES = 20_000  # size of the database the stage is timed on

_items: list[tuple[str, str, str]] = []
_tagger: Tagger | None = None


def seed_items(folder: Path = SEEDS) -> list[tuple[str, str, str]]:
    """(title, excerpt, published) of every seed item with a title."""
    from tracker.seeds.files import SeedDoc, find_seed_files, parse_seed_files

    files = [path for path, _explicit in find_seed_files([folder])]
    items = []
    for doc in parse_seed_files(files):
        if isinstance(doc, SeedDoc):
            for item in (doc.item, *doc.related):
                if item.fields.get("title"):
                    items.append((item.fields["title"], item.fields.get("excerpt") or "",
                                  item.fields.get("published") or ""))
    return items


def synthetic(items: list[tuple[str, str, str]], i: int) -> tuple[int, str, str, None, str, None]:
    """Article number i: a row as the tag stage reads it (id, title, excerpt, text, published, hash)."""
    n = len(items)
    title, _, published = items[i % n]
    excerpt = items[(i * 7919 + 13) % n][1]
    if i % 10 == 0:
        excerpt = f"{excerpt} {EXTRA[(i // 10) % len(EXTRA)].format(n=1 + i % 97)}"
    return (i, title, excerpt, None, published, None)


def _init(taxonomy: Taxonomy, items: list[tuple[str, str, str]]) -> None:
    global _tagger, _items
    _tagger, _items = Tagger(taxonomy), items


def _run(span: tuple[int, int]) -> tuple[tuple[int, int, int, int, int, float], list[Mention]]:
    assert _tagger is not None
    cpu = time.process_time()
    tagged = tags = fines = relevant = 0
    mentions: list[Mention] = []
    for i in range(*span):
        row = synthetic(_items, i)
        result = _tagger.tag_row(row)
        assert result is not None
        tagged += bool(result.tags)
        tags += len(result.tags)
        fines += len(result.fines)
        relevant += result.relevance >= 0.5
        mentions += [Mention(i, f["amount"], f["currency"], f["amount_eur"], f["kind"], f["regulator"],
                             f["company"], f["law"], row[4] or None, f["evidence"]) for f in result.fines]
    return (span[1] - span[0], tagged, tags, fines, relevant, time.process_time() - cpu), mentions


def run_tag_bench(articles: int, workers: int | None = None, seeds: Path = SEEDS) -> list[str]:
    """Tag `articles` synthetic articles made from the seeds under `seeds`, in `workers` processes;
    lines of figures."""
    workers = workers or os.cpu_count() or 1
    taxonomy, items = load_taxonomy(), seed_items(seeds)
    spans = [(i, min(i + TASK, articles)) for i in range(0, articles, TASK)]
    load = os.getloadavg()
    started = time.perf_counter()
    mentions: list[Mention] = []
    figures = []
    with ProcessPoolExecutor(max_workers=workers, initializer=_init, initargs=(taxonomy, items)) as pool:
        for part, found in pool.map(_run, spans):
            figures.append(part)
            mentions += found
    totals = [sum(x) for x in zip(*figures)] if figures else [0] * 6
    took = time.perf_counter() - started
    n, tagged, tags, fines, relevant, cpu = totals
    lines = [f"taxonomy: {len(taxonomy.entries)} entries; {len(items)} seed items as material",
             f"tagged {n:,} synthetic articles in {took:.1f} s with {workers} workers: "
             f"{n / took:,.0f} articles/s (pool start and automaton builds included)",
             f"  CPU time in the workers: {cpu:.1f} s, {cpu / max(n, 1) * 1e6:.0f} us an article; on "
             f"{workers} otherwise idle cores that is {cpu / workers:.0f} s of wall time",
             f"  {tagged:,} with a tag, {tags:,} tags, {fines:,} fines, {relevant:,} with relevance >= 0.5"]
    lines += _record_figures(mentions, taxonomy)
    lines += _stage_figures(min(articles, DB_ARTICLES), items, workers)
    end = os.getloadavg()
    lines.append(f"load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after "
                 f"{end[0]:.2f} {end[1]:.2f} {end[2]:.2f} (2 cores shared with other work: figures vary)")
    return lines


def _record_figures(mentions: list[Mention], taxonomy: Taxonomy) -> list[str]:
    """Time the enforcement record's reconciliation of every amount found, and its writing."""
    from tracker import store
    from tracker.lens.fines import FineFinder
    from tracker.lens.record import decision_row, names_of, report_rows
    from tracker.store import decisions as stored

    names, finder = names_of(taxonomy), FineFinder()
    started = time.perf_counter()
    decisions = reconcile(mentions, names, finder.to_eur)
    number(decisions, {}, 1)
    took = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="tracker-bench-record-") as tmp:
        db = store.open_db(Path(tmp) / "record.db")
        started = time.perf_counter()
        with store.transaction(db):
            stored.replace_decisions(db, [decision_row(d, names) for d in decisions],
                                     [r for d in decisions for r in report_rows(d)])
        wrote = time.perf_counter() - started
        db.close()
    return [f"enforcement record: {len(mentions):,} amounts reconciled into {len(decisions):,} decisions "
            f"({len({d.case for d in decisions}):,} cases) in {took:.1f} s; written in {wrote:.1f} s"]


def _stage_figures(n: int, items: list[tuple[str, str, str]], workers: int) -> list[str]:
    """Time `tracker tag` itself (read, tag, write) on a fresh database of n synthetic articles."""
    from tracker import store
    from tracker.dates import now_iso
    from tracker.lens.tag_stage import tag_articles
    from tracker.store import bulk

    if n == 0:
        return []
    with tempfile.TemporaryDirectory(prefix="tracker-bench-tag-") as tmp:
        db = store.open_db(Path(tmp) / "bench.db")
        rows: list[dict[str, Any]] = []
        for i in range(n):
            _, title, excerpt, _, published, _ = synthetic(items, i)
            rows.append({"url": f"https://example.org/{i}", "title": title, "excerpt": excerpt,
                         "published": published or None, "status": "new", "first_seen": now_iso(),
                         "updated_at": now_iso()})
        bulk.save_articles(db, rows)
        started = time.perf_counter()
        summary = tag_articles(db, workers=workers)
        took = time.perf_counter() - started
        db.close()
    return [f"tracker tag on a {n:,}-article database: {took:.1f} s, {n / took:,.0f} articles/s "
            f"({summary.tags:,} tags, {summary.fines:,} fines and {summary.decisions:,} decisions written)"]
