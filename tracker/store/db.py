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
        db.conn.execute("COMMIT")
    except BaseException:
        _rollback(db, "ROLLBACK")
        raise


def _rollback(db: Database, *statements: str) -> None:
    """Undo what is left to undo: after some errors (a full disk, an I/O error) SQLite has rolled
    the transaction back itself, and a second ROLLBACK would hide the real error behind "cannot
    rollback - no transaction is active"."""
    if db.conn.in_transaction:
        for statement in statements:
            db.conn.execute(statement)


@contextmanager
def _savepoint(db: Database) -> Iterator[None]:
    db.conn.execute("SAVEPOINT nested")
    try:
        yield
    except BaseException:
        _rollback(db, "ROLLBACK TO nested", "RELEASE nested")
        raise
    db.conn.execute("RELEASE nested")

