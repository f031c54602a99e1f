"""The connection's type and its write transactions (sqlite-utils' Database, our own BEGIN/COMMIT)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import sqlite_utils

Database = sqlite_utils.Database


@contextmanager
def transaction(db: Database) -> Iterator[None]:
    """One write transaction (BEGIN IMMEDIATE: take the write lock now, fail early, not midway).
    Inside another one it is a savepoint: the inner part can fail alone, the outer commits all."""
    if db.conn.in_transaction:
        with _savepoint(db):
            yield
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


@contextmanager
def _savepoint(db: Database) -> Iterator[None]:
    db.conn.execute("SAVEPOINT nested")
    try:
        yield
    except BaseException:
        db.conn.execute("ROLLBACK TO nested")
        db.conn.execute("RELEASE nested")
        raise
    db.conn.execute("RELEASE nested")

