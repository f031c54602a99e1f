"""`tracker run`: the scheduled job. Seeds -> crawl -> tags -> stories, under a per-database lock, recorded
in the `runs` table, safe to kill at any moment and to rerun.

The lock is an advisory `flock` on the database file itself, so it belongs to the file, not to a
name: a symlink or a hard link to the same database finds it taken. The kernel drops it when the
holder dies, however it dies, so a killed run can never leave a lock that blocks the next one.
(SQLite locks with fcntl, which on Linux is independent of flock.) `<db>.lock`, beside the real
file, holds the holder's pid and start time, for the message a second run prints.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Sequence

from tracker import store
from tracker.dates import epoch_iso, now_iso
from tracker.store import run_records
from tracker.store import stories as stored_stories
from tracker.errors import LockHeldError, TaxonomyError, TrackerError, one_line
from tracker.watches import alert_watches

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class RunSummary:
    run_id: int = 0
    status: str = "running"
    seeds: int = 0
    seed_errors: list[str] = field(default_factory=list)
    new_articles: int = 0
    due: int = 0
    fetched: int = 0
    failed: int = 0
    refused: int = 0
    new_stories: int = 0
    grown_stories: int = 0
    tagged: int = 0
    tag_error: str | None = None
    took_over: str | None = None
    not_attempted: int = 0
    discovered: int = 0  # new articles the discovery stage found (feeds, sitemaps, listings)
    source_errors: list[str] = field(default_factory=list)  # kept in sources/source_polls, not runs.errors
    notes: list[str] = field(default_factory=list)  # e.g. the deadline's: kept in runs.note


# --- the lock --------------------------------------------------------------------------------------

def lock_path(db_path: Path) -> Path:
    """The holder-information file, beside the real database file (symlinks followed)."""
    real = db_path.resolve()
    return real.with_name(real.name + ".lock")


@contextmanager
def run_lock(db_path: Path) -> Iterator[str | None]:
    """Hold the database's run lock; yields a note if a dead run's lock was taken over.
    Raises LockHeldError naming the holder if a live run has it."""
    path = lock_path(db_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The database file (created empty if new: SQLite takes an empty file as a new database).
        database = os.open(path.with_name(path.name[:-len(".lock")]), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:  # a read-only file system or file: one line, as every command gives
        raise TrackerError(f"{db_path}: cannot open for writing: {exc.strerror or exc}") from exc
    try:
        try:
            fcntl.flock(database, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # refused: nothing is written, no file is left
            raise LockHeldError(_held_message(db_path, _holder(path, database))) from None
        try:
            handle = path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise TrackerError(f"{path}: cannot open for writing: {exc.strerror or exc}") from exc
        with handle:
            previous = _read_holder(handle)
            _write_holder(handle)
            yield _stale_note(previous)
        path.unlink(missing_ok=True)  # a clean end leaves no file; a killed run leaves its pid
    finally:
        os.close(database)  # releases the flock (by then this process's SQLite work is done)


def _holder(path: Path, database: int) -> dict[str, Any]:
    """Who holds the lock: its information file, else (the file is another name's, as through a
    hard link) the kernel's record of the flock in /proc/locks."""
    try:
        with path.open(encoding="utf-8") as handle:
            holder = _read_holder(handle)
    except OSError:
        holder = {}
    if holder.get("pid"):
        return holder
    pid = _flock_pid(os.fstat(database))
    if pid is None:
        return holder
    return {"pid": pid, "host": socket.gethostname(), "since": _started(pid)}


def _flock_pid(stat: os.stat_result) -> int | None:
    """The pid holding a flock on the file of `stat` (Linux /proc/locks), or None."""
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    try:
        lines = Path("/proc/locks").read_text(encoding="ascii").splitlines()
    except OSError:
        return None
    for fields in (line.split() for line in lines):
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == device:
            return int(fields[4])
    return None


def _started(pid: int) -> str:
    """When process `pid` started (from /proc), or "?"."""
    try:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return "?"
    return epoch_iso(boot + ticks / os.sysconf("SC_CLK_TCK"))


def _read_holder(handle: IO[str]) -> dict[str, Any]:
    handle.seek(0)
    try:
        return json.loads(handle.read() or "{}")
    except json.JSONDecodeError:
        return {}


def _write_holder(handle: IO[str]) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": now_iso()}))
    handle.flush()


def _held_message(db_path: Path, holder: dict[str, Any]) -> str:
    return (f"{db_path}: another run holds the lock since {holder.get('since', '?')}, "
            f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}; not starting")


def _stale_note(previous: dict[str, Any]) -> str | None:
    if not previous.get("pid"):
        return None
    return f"took over the lock of pid {previous['pid']} (since {previous.get('since')}), which is gone"


# --- the runs table --------------------------------------------------------------------------------

def start_run(db: store.Database) -> int:
    """Record a new run; runs left 'running' by a killed job are marked 'interrupted'."""
    with store.transaction(db):
        return run_records.save_run_start(db, os.getpid(), socket.gethostname())


def finish_run(db: store.Database, summary: RunSummary, status: str, errors: Sequence[str] = ()) -> None:
    summary.status = status
    with store.transaction(db):
        run_records.save_run_end(db, summary.run_id, status, {
            "seeds": summary.seeds, "new_articles": summary.new_articles, "fetched": summary.fetched,
            "failed": summary.failed, "refused": summary.refused, "new_stories": summary.new_stories,
            "grown_stories": summary.grown_stories,
            "errors": "\n".join(map(one_line, errors))[:20000] or None, "tagged": summary.tagged,
            "note": "\n".join(map(one_line, summary.notes)) or None})


# --- the job ---------------------------------------------------------------------------------------

def run_job(db_path: Path, seed_paths: Sequence[str | os.PathLike[str]], crawl_overrides: dict[str, str],
            progress: Progress | None = None, log_dir: Path | None = None,
            source_paths: Sequence[str | os.PathLike[str]] = ()) -> RunSummary:
    """Load seeds, poll the due sources (`source_paths` synced first), crawl what is due, tag,
    cluster; one run at a time per database.

    A broken taxonomy fails the tag stage only: nothing stored is changed by it, clustering still
    runs on the tags already stored (new articles get theirs once the taxonomy is fixed), and the
    run is then recorded as failed with the taxonomy's problem and raised as a TaxonomyError.

    TRACKER_MAX_RUNTIME in `crawl_overrides` bounds the whole run: the crawl stops scheduling at
    that time after the run's start, and the run still ends `completed`, with a note. SIGTERM and
    SIGINT mark the run `interrupted` at once and raise RunInterrupted once the crawl has stopped."""
    from tracker.crawl.runner import RunInterrupted, interruptible

    started = time.time()
    with run_lock(db_path) as took_over, interruptible():
        db = store.open_db(db_path)
        summary = RunSummary(run_id=start_run(db), took_over=took_over)
        if took_over:
            logger.warning("%s", took_over)
        try:
            _stages(db, db_path, seed_paths, _with_deadline(crawl_overrides, started), summary,
                    progress, log_dir, lambda: _mark_interrupted(db, summary), source_paths)
        except RunInterrupted as exc:
            _mark_interrupted(db, summary, str(exc))
            db.close()
            raise
        except BaseException as exc:
            _record_failure(db, summary, exc)
            db.close()
            if isinstance(exc, (OSError, sqlite3.Error)):  # a full disk, an I/O error: one line
                raise TrackerError(f"{db_path}: run failed: {exc}") from exc
            raise
        if summary.tag_error:
            finish_run(db, summary, "failed", [*summary.seed_errors, f"tag: {summary.tag_error}"])
            db.close()
            raise TaxonomyError(summary.tag_error)
        finish_run(db, summary, "completed", summary.seed_errors)
        db.close()
    return summary


def _record_failure(db: store.Database, summary: RunSummary, exc: BaseException) -> None:
    """Mark the run failed, if the database still takes the write (a full disk may refuse it)."""
    try:
        finish_run(db, summary, "failed", [f"{type(exc).__name__}: {exc}"])
    except (OSError, sqlite3.Error) as again:
        logger.error("run %s could not be marked failed: %s", summary.run_id, again)


def _with_deadline(overrides: dict[str, str], started: float) -> dict[str, str]:
    """TRACKER_MAX_RUNTIME counts from the run's start (seeds included): passed to the crawl as
    the absolute TRACKER_DEADLINE."""
    from tracker.crawl.policy import parse_duration

    if not overrides.get("TRACKER_MAX_RUNTIME"):
        return overrides
    deadline = started + parse_duration(overrides["TRACKER_MAX_RUNTIME"]).total_seconds()
    return dict(overrides, TRACKER_DEADLINE=f"{deadline:.3f}")


def _mark_interrupted(db: store.Database, summary: RunSummary, why: str = "interrupted by a signal") -> None:
    """The run's row says `interrupted` from the moment the signal arrives (not when it ends)."""
    if summary.status != "interrupted":
        summary.notes.append(why)
        finish_run(db, summary, "interrupted", summary.seed_errors)


def _stages(db: store.Database, db_path: Path, seed_paths: Sequence[str | os.PathLike[str]],
            overrides: dict[str, str], summary: RunSummary, progress: Progress | None,
            log_dir: Path | None, on_interrupt: Callable[[], None],
            source_paths: Sequence[str | os.PathLike[str]] = ()) -> None:
    from tracker.crawl.runner import crawl_settings, run_crawl
    from tracker.seeds.files import load_seeds, require_paths

    require_paths(seed_paths)
    seeds = load_seeds(db, seed_paths)
    summary.seeds, summary.seed_errors, summary.new_articles = seeds.loaded, seeds.errors, seeds.new_articles
    logger.info("run=%d stage=seeds files=%d loaded=%d errors=%d new_articles=%d", summary.run_id,
                seeds.files, seeds.loaded, len(seeds.errors), seeds.new_articles)
    settings = crawl_settings(db_path, overrides=overrides, run_id=summary.run_id)
    log_file = (log_dir or db_path.parent / "logs") / f"crawl-run{summary.run_id}.log"
    _discover(db, source_paths, settings, summary, log_file.with_name(f"discover-run{summary.run_id}.log"),
              on_interrupt)
    if settings.get("TRACKER_REDIS_URL"):  # workers elsewhere crawl; this run enqueues and saves
        from tracker.crawl.distributed import crawl_over_redis

        crawl = crawl_over_redis(db, settings, summary.run_id, progress)
    else:
        crawl = run_crawl(db_path, settings, log_file=log_file, progress=progress,
                          on_interrupt=on_interrupt)
    summary.due, summary.fetched, summary.failed = crawl.due, crawl.fetched, crawl.failed
    summary.refused, summary.not_attempted = crawl.refused, crawl.not_attempted
    if crawl.note:
        summary.notes.append(crawl.note)
        logger.warning("run=%d %s", summary.run_id, crawl.note)
    logger.info("run=%d stage=crawl due=%d fetched=%d failed=%d refused=%d log=%s", summary.run_id,
                crawl.due, crawl.fetched, crawl.failed, summary.refused, log_file)
    _tag(db, summary, progress)
    _mark_beat(db, settings)
    _cluster(db, summary, progress)
    alert_watches(db, summary.run_id)  # never raises: an undelivered alert is retried next run


def _discover(db: store.Database, source_paths: Sequence[str | os.PathLike[str]], settings: dict[str, str],
              summary: RunSummary, log_file: Path, on_interrupt: Callable[[], None]) -> None:
    """Poll the due sources; their new articles are due for this run's crawl. A bad source never
    fails the run: it is recorded against the source (and in the run's note), the rest goes on. A
    sources path that does not exist fails it, as a missing seeds path does."""
    from tracker.discover.poll_stage import discover

    found = discover(db, source_paths, settings, log_file, on_interrupt)
    summary.discovered, summary.source_errors = found.new_articles, found.errors
    if found.due or found.errors:
        summary.notes.append(found.note + (f", {len(found.errors)} source problems (see `tracker sources list`)"
                                           if found.errors else ""))
    logger.info("run=%d stage=discover sources=%d due=%d polled=%d failed=%d items=%d new_articles=%d",
                summary.run_id, found.sources, found.due, found.polled, found.failed, found.found,
                found.new_articles)


def _mark_beat(db: store.Database, settings: dict[str, str]) -> None:
    from tracker.discover.poll_stage import mark_beat

    changed = mark_beat(db, settings)
    if changed:
        logger.info("beat: %d discovered articles moved on or off the beat", changed)


def _tag(db: store.Database, summary: RunSummary, progress: Progress | None) -> None:
    from tracker.lens.tag_stage import tag_articles

    try:
        result = tag_articles(db, progress=progress)
    except TaxonomyError as exc:
        summary.tag_error = str(exc)
        logger.error("run=%d stage=tag error=%s (nothing retagged; clustering goes on)", summary.run_id, exc)
        return
    summary.tagged = result.changed
    logger.info("run=%d stage=tag articles=%d retagged=%d changed=%d fines=%d", summary.run_id,
                result.articles, result.retagged, result.changed, result.fines)


def _cluster(db: store.Database, summary: RunSummary, progress: Progress | None) -> None:
    from tracker.stories.cluster_stage import cluster_articles

    before = stored_stories.load_live_sizes(db)
    if progress:
        progress("cluster", 0, 1)
    result = cluster_articles(db)
    if progress:
        progress("cluster", 1, 1)
    after = stored_stories.load_live_sizes(db)
    changes = {cid: "created" for cid in after if cid not in before}
    changes.update({cid: "grew" for cid, n in after.items() if cid in before and n > (before[cid] or 0)})
    summary.new_stories = sum(1 for change in changes.values() if change == "created")
    summary.grown_stories = len(changes) - summary.new_stories
    # stories that changed their mind (tracker/stories/split.py, merge.py), for the page to say so
    changes.update({kept: "joined" for kept, _ in result.joined if kept in after})
    changes.update({kept: "split" for kept, _ in result.split if kept in after})
    changes.update({part: "split off" for _, part in result.split if part in after})
    with store.transaction(db):  # for "new since the last run"
        run_records.save_run_stories(db, summary.run_id, changes)
    logger.info("run=%d stage=cluster articles=%d stories=%d new=%d grown=%d", summary.run_id,
                result.articles, result.clusters, summary.new_stories, summary.grown_stories)

