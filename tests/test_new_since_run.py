""""What is new since the last run?": runs link the stories they created or grew, and a story's
updated_at moves only when the story changes."""

from __future__ import annotations

from pathlib import Path

from tracker.store import open_db
from tracker.job import RunSummary, _cluster, start_run
from tracker.seeds.files import load_seeds
from tracker.stories.cluster_stage import cluster_articles

SENTINEL = "2000-01-01T00:00:00Z"


def _db(tmp_path: Path, shared_dir: Path):  # type: ignore[no-untyped-def]
    db = open_db(tmp_path / "t.db")
    load_seeds(db, [str(shared_dir / "seeds" / "given")])
    return db


def _changes(db, run_id: int) -> dict[int, str]:  # type: ignore[no-untyped-def]
    return dict(db.conn.execute("SELECT story_id, change FROM run_stories WHERE run_id = ?", [run_id]))


def test_a_run_links_the_stories_it_created_then_those_it_grew(tmp_path: Path, shared_dir: Path) -> None:
    db = _db(tmp_path, shared_dir)
    first = RunSummary(run_id=start_run(db))
    _cluster(db, first, None)
    live = {r[0] for r in db.conn.execute("SELECT id FROM clusters WHERE merged_into IS NULL")}
    assert first.new_stories == len(live) > 1
    assert _changes(db, first.run_id) == {story: "created" for story in live}

    story, title, excerpt, published = db.conn.execute(
        "SELECT c.id, a.title, a.excerpt, a.published FROM clusters c JOIN articles a "
        "ON a.cluster_id = c.id WHERE c.merged_into IS NULL ORDER BY c.n_articles DESC, a.id LIMIT 1").fetchone()
    db.conn.execute("UPDATE clusters SET updated_at = ?", [SENTINEL])
    db.conn.execute("INSERT INTO articles (url, title, excerpt, published, publisher, status, first_seen) "
                    "VALUES ('https://late.example/follow-up', ?, ?, ?, 'Late Outlet', 'new', ?)",
                    [title, excerpt, published, SENTINEL])
    second = RunSummary(run_id=start_run(db))
    _cluster(db, second, None)
    assert _changes(db, second.run_id) == {story: "grew"}
    assert (second.new_stories, second.grown_stories) == (0, 1)
    updated = dict(db.conn.execute("SELECT id, updated_at FROM clusters WHERE merged_into IS NULL"))
    assert updated.pop(story) > SENTINEL  # the story that grew changed
    assert set(updated.values()) == {SENTINEL}  # the others were left alone


def test_reclustering_without_changes_leaves_updated_at_alone(tmp_path: Path, shared_dir: Path) -> None:
    db = _db(tmp_path, shared_dir)
    cluster_articles(db)
    created = dict(db.conn.execute("SELECT id, created_at FROM clusters"))
    db.conn.execute("UPDATE clusters SET updated_at = ?", [SENTINEL])
    cluster_articles(db, rebuild=True)
    assert {r[0] for r in db.conn.execute("SELECT updated_at FROM clusters")} == {SENTINEL}
    assert dict(db.conn.execute("SELECT id, created_at FROM clusters")) == created
