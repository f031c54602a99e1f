"""Runs of `tracker run` (`runs`: when, by which process, what each stage did) and the stories
each run created or grew (`run_stories`)."""

from __future__ import annotations

from typing import Any

from tracker.dates import now_iso
from tracker.store.db import Database


def save_run_start(db: Database, pid: int, host: str) -> int:
    """Record a new run; runs left 'running' by a killed job are marked 'interrupted'. Returns its id."""
    db.conn.execute("UPDATE runs SET status = 'interrupted', ended_at = COALESCE(ended_at, ?) "
                    "WHERE status = 'running'", [now_iso()])
    cursor = db.conn.execute("INSERT INTO runs (started_at, status, pid, host) VALUES (?, 'running', ?, ?)",
                             [now_iso(), pid, host])
    return int(cursor.lastrowid or 0)  # always set after an INSERT


def save_run_end(db: Database, run_id: int, status: str, counts: dict[str, Any]) -> None:
    """Record how a run ended: its status, now, and its counts, errors and note (`runs` columns)."""
    db.table("runs").update(run_id, {"ended_at": now_iso(), "status": status, **counts})


def save_run_stories(db: Database, run_id: int, changes: dict[int, str]) -> None:
    """Link a run to the stories it created or grew (story id -> "created" or "grew")."""
    db.table("run_stories").insert_all(
        ({"run_id": run_id, "story_id": story_id, "change": change} for story_id, change in changes.items()),
        replace=True)
