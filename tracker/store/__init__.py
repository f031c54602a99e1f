"""Storage: the one package that imports sqlite-utils. Stage modules call it; they hold no SQL.

* `schema`: every table, index, full-text index and view, declared as data; `ensure_schema(db)`
  applies them idempotently.
* `articles`: articles and their URLs, metadata by source, merges.
* `seeds`: seed files and the relations they declare.
* `fetches`: attempts, text versions, fetch state, the due query, hosts, ingested results.
* `stories`: the clustering's rows (raw clusters, links, stable cluster ids, corrections).
* `lens`: tags, fines and the taxonomy fingerprint.
* `run_records`: the runs table and the stories each run touched.
* `exports`: the exports, declared as SQL, and streaming their rows.
* `bulk`: filling a fresh database fast (the benchmarks).
* `db`: the Database type and `transaction` (BEGIN IMMEDIATE; a savepoint when nested).

This module is the package's face: `open_db`, `Database`, `ensure_schema` and `transaction`.
The database runs in WAL mode so that Datasette can read while a crawl writes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tracker.errors import TrackerError
from tracker.store.db import Database, transaction
from tracker.store.schema import ensure_schema

__all__ = ["Database", "ensure_schema", "open_db", "transaction"]


def open_db(path: str | Path, *, create: bool = True) -> Database:
    """Open (and shape) the tracker database at `path`; errors name the file."""
    path = Path(path)
    if path.is_dir():
        raise TrackerError(f"{path}: is a folder, not a database file")
    if not create and not path.exists():
        raise TrackerError(f"{path}: no such database (run `tracker seeds load` first)")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Autocommit mode: our own BEGIN IMMEDIATE/COMMIT decide what is atomic, not the driver.
        db = Database(sqlite3.connect(str(path), isolation_level=None, check_same_thread=False))
        db.conn.execute("PRAGMA busy_timeout = 60000")
        db.conn.execute("PRAGMA foreign_keys = ON")
        db.conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: no corruption, fast commits
        db.enable_wal()
        ensure_schema(db)
    except sqlite3.DatabaseError as exc:
        raise TrackerError(f"{path}: not a usable SQLite database ({exc})") from exc
    return db
