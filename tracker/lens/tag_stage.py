"""`tracker tag`: the lens stage. Tags articles with the taxonomy, finds fines, scores relevance,
and stores them (`article_tags`, `fines`, `articles.relevance`, `articles.tagged_at`); then brings
the enforcement record (`decisions`, tracker/lens/record.py) up to date with the fines.

Incremental: an article is looked at again when it changed since it was last looked at (its
`updated_at`, set whenever its title, excerpt or text changes, is later than `tag_checked_at`, or
another article was merged into it since; in `tracker run` the stages run one after another under
the run lock, so nothing changes an article within the second it is checked), and retagged only
when the hash of its text and the taxonomy's fingerprint differ from the stored `tag_hash`. A
changed taxonomy (another fingerprint than the one in `lens`) or `--rebuild` retags every article.
`tagged_at` moves only when an article's tags or relevance change, so that clustering reclusters
just those.

The taxonomy is loaded and validated before anything is written: a broken one raises a
TaxonomyError and changes nothing stored. Writes go in batches, one transaction each; the
fingerprint is stored last, so a retag that is killed midway is redone whole on the next run.
Many articles are tagged in a pool of worker processes (one automaton built in each). The rows
are read and written by tracker/store/lens.py.
"""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from tracker import store
from tracker.dates import now_iso
from tracker.store import lens as stored
from tracker.store.lensfacets import refresh_lens_facets, save_names
from tracker.lens.fines import FineFinder, as_row, find_orders
from tracker.lens.matcher import Matcher
from tracker.lens.place import keep_action_places
from tracker.lens.record import update_record
from tracker.lens.relevance import score
from tracker.lens.taxonomy import Taxonomy, load_taxonomy

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
BATCH = 2000  # articles per read, tag and write transaction
POOL_THRESHOLD = 4000  # fewer candidates are tagged in this process (a pool costs ~1 s to start)
CHUNK = 250  # articles per task sent to a worker


@dataclass
class TagSummary:
    articles: int = 0  # articles looked at
    retagged: int = 0  # articles whose text or the taxonomy changed: tagged again
    changed: int = 0  # articles whose tags or relevance changed (tagged_at moved)
    tags: int = 0  # tag rows written
    fines: int = 0  # fine rows written
    decisions: int = 0  # rows of the enforcement record after the run
    record_rebuilt: bool = False  # whether the record was rebuilt (its mentions or corrections changed)
    rebuilt: bool = False
    fingerprint: str = ""


@dataclass(frozen=True)
class Result:
    """What tagging one article gave, ready to store."""

    article_id: int
    tag_hash: str
    tags: tuple[tuple[str, str, str, int], ...]  # (tag, kind, label, mentions)
    fines: tuple[dict[str, Any], ...]
    relevance: float
    orders: tuple[dict[str, Any], ...] = ()  # orders, bans and reprimands (no amount)


class Tagger:
    """A matcher and fine finder built once from a taxonomy; `tag_row` is then pure."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.fingerprint = taxonomy.fingerprint
        self.matcher = Matcher(taxonomy)
        self.by_id = taxonomy.by_id
        self.fines = FineFinder()
        self.weights = {entry.id: entry.weight for entry in taxonomy.entries if entry.weight != 1.0}

    def text_hash(self, title: str | None, excerpt: str | None, text: str | None) -> str:
        blob = "\x1f".join((self.fingerprint, title or "", excerpt or "", text or ""))
        return hashlib.sha1(blob.encode("utf-8")).hexdigest()

    def tag_row(self, row: Sequence[Any]) -> Result | None:
        """Tag one (id, title, excerpt, text, published, stored hash) row; None if unchanged."""
        article_id, title, excerpt, text, published, stored = row
        digest = self.text_hash(title, excerpt, text)
        if digest == stored:
            return None
        tagged = self.matcher.tag("\n".join(p for p in (title, excerpt, text) if p))
        fines = tuple(as_row(f) for f in self.fines.find(tagged, published))
        orders = tuple(as_row(f) for f in find_orders(tagged))
        # after the fines: a bare "$" is settled by every place named, the tags keep the action's place
        keep_action_places(tagged, self.by_id)
        tags = tuple((tag, kind, label, n) for tag, (kind, label, n) in sorted(tagged.tags.items()))
        return Result(article_id, digest, tags, fines, score(tagged.tags, len(fines), self.weights), orders)


# --- Worker processes --------------------------------------------------------------------------

_worker: Tagger | None = None  # one per worker process, set by its initializer


def _init_worker(taxonomy: Taxonomy) -> None:
    global _worker
    _worker = Tagger(taxonomy)


def _tag_chunk(rows: list[Sequence[Any]]) -> list[Result | None]:
    assert _worker is not None
    return [_worker.tag_row(row) for row in rows]


def tag_rows(tagger: Tagger, taxonomy: Taxonomy, rows: Iterable[list[Sequence[Any]]],
             workers: int) -> Iterator[list[Result | None]]:
    """Tag batches of rows, in order; in `workers` processes when more than one."""
    if workers <= 1:
        for batch in rows:
            yield [tagger.tag_row(row) for row in batch]
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(taxonomy,)) as pool:
        for batch in rows:
            chunks = [batch[i:i + CHUNK] for i in range(0, len(batch), CHUNK)]
            yield [r for part in pool.map(_tag_chunk, chunks) for r in part]


# --- The stage ---------------------------------------------------------------------------------

def tag_articles(db: store.Database, taxonomy_path: str | Path | None = None, *, rebuild: bool = False,
                 workers: int | None = None, progress: Progress | None = None) -> TagSummary:
    """Tag new and changed articles (all of them after a taxonomy change or with `rebuild`)."""
    taxonomy = load_taxonomy(taxonomy_path)  # raises before anything is written
    made_with = stored.load_fingerprint(db)
    summary = TagSummary(rebuilt=rebuild or made_with is None or made_with != taxonomy.fingerprint,
                         fingerprint=taxonomy.fingerprint)
    if summary.rebuilt and made_with is not None:
        logger.info("taxonomy changed (%s -> %s) or rebuild asked: retagging every article",
                    made_with, taxonomy.fingerprint)
    ids = stored.due_tagging(db, summary.rebuilt)
    summary.articles = len(ids)
    tagger = Tagger(taxonomy)
    if workers is None:
        workers = (os.cpu_count() or 1) if len(ids) >= POOL_THRESHOLD else 1
    batches = (_rows(db, ids[i:i + BATCH], rebuild) for i in range(0, len(ids), BATCH))
    done = 0
    for results, batch_ids in zip(tag_rows(tagger, taxonomy, batches, workers), _chunks(ids, BATCH)):
        _save(db, batch_ids, results, summary)
        done += len(batch_ids)
        if progress:
            progress("tag", done, len(ids))
    with store.transaction(db):
        stored.drop_orphans(db)
        stored.save_fingerprint(db, taxonomy.fingerprint)
        save_names(db, entry_names(taxonomy))
    record = update_record(db, taxonomy, tagger.fines, force=rebuild)
    summary.decisions, summary.record_rebuilt = record.decisions, record.rebuilt
    refresh_lens_facets(db)  # the pages' per-story tags follow the new ones
    logger.info("tagged: %d looked at, %d retagged, %d changed, %d tags, %d fines", summary.articles,
                summary.retagged, summary.changed, summary.tags, summary.fines)
    return summary


def entry_names(taxonomy: Taxonomy) -> list[tuple[str, str, str]]:
    """(name, tag, kind) for every id, name, short name and alias of the taxonomy's entries: what a
    search for "BIPA" or "Illinois" looks up to find the articles tagged with it."""
    return [(name, entry.id, entry.kind) for entry in taxonomy.entries
            for name in dict.fromkeys([entry.id, entry.name, entry.short or entry.name,
                                       *(alias.text for alias in entry.aliases)])]


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def _rows(db: store.Database, ids: list[int], rebuild: bool) -> list[Sequence[Any]]:
    rows = stored.load_tag_rows(db, ids)
    return [(*row[:5], None) for row in rows] if rebuild else rows


def _save(db: store.Database, ids: list[int], results: list[Result | None], summary: TagSummary) -> None:
    now = now_iso()
    with store.transaction(db):
        stored.save_checked(db, ids, now)
        for result in results:
            if result is not None:
                _save_result(db, result, now, summary)


def _save_result(db: store.Database, result: Result, now: str, summary: TagSummary) -> None:
    changed = stored.save_tags(db, result.article_id, result.tags, result.fines, result.relevance,
                               result.tag_hash, now, result.orders)
    summary.retagged += 1
    summary.changed += changed
    summary.tags += len(result.tags)
    summary.fines += len(result.fines)

