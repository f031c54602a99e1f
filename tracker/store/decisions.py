"""The enforcement record's rows: `decisions` (one per decision or stage of a case),
`decision_reports` (which article reports it, with the amount as written and the sentence),
`decision_corrections` (analysts' merges, splits and corrections) and the record's state in `lens`
(what it was built from, the next decision id)."""

from __future__ import annotations

import json
from typing import Any, Iterator, Sequence

from tracker.store.db import Database

MENTIONS = ("SELECT f.article_id, f.amount, f.currency, f.amount_eur, f.kind, f.regulator, f.company, "
            "f.law, a.published, f.evidence FROM fines f JOIN articles a ON a.id = f.article_id "
            "ORDER BY f.article_id, f.id")
DECISION_COLUMNS = ("id", "case_id", "stage", "kind", "authority", "authority_label", "target",
                    "target_label", "jurisdiction", "jurisdiction_label", "laws", "law_labels",
                    "amount", "currency", "amount_eur", "decided", "reports", "articles", "counted",
                    "corrected")
REPORT_COLUMNS = ("decision_id", "article_id", "amount", "currency", "amount_eur", "kind", "evidence")


ORDERS = ("SELECT o.article_id, 0.0, '', NULL, o.kind, o.regulator, o.company, o.law, a.published, "
          "o.evidence FROM order_mentions o JOIN articles a ON a.id = o.article_id ORDER BY o.article_id, o.id")


def load_mentions(db: Database) -> Iterator[tuple[Any, ...]]:
    """Every stored amount, then every order, ban and reprimand (amount 0, no currency), with its
    article's publication time (MENTIONS' columns)."""
    yield from db.conn.execute(MENTIONS)
    yield from db.conn.execute(ORDERS)


def load_report_ids(db: Database) -> dict[tuple[int, float, str], int]:
    """(article id, amount, currency) -> the decision it reports, as stored."""
    return {(a, amt, cur): d for d, a, amt, cur in db.conn.execute(
        "SELECT decision_id, article_id, amount, currency FROM decision_reports")}


def load_state(db: Database, key: str) -> str | None:
    row = db.conn.execute("SELECT value FROM lens WHERE key = ?", [key]).fetchone()
    return None if row is None else row[0]


def save_state(db: Database, key: str, value: str) -> None:
    db.conn.execute("INSERT OR REPLACE INTO lens (key, value) VALUES (?, ?)", [key, value])


def replace_decisions(db: Database, decisions: Sequence[dict[str, Any]], reports: Sequence[dict[str, Any]]) -> None:
    """Replace the whole record (the caller holds the transaction)."""
    db.conn.execute("DELETE FROM decision_reports")
    db.conn.execute("DELETE FROM decisions")
    db.conn.executemany(_insert("decisions", DECISION_COLUMNS), decisions)
    db.conn.executemany(_insert("decision_reports", REPORT_COLUMNS), reports)


def _insert(table: str, columns: Sequence[str]) -> str:
    return (f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join(':' + c for c in columns)})")


def load_decision_keys(db: Database, decision_id: int) -> list[tuple[int, float, str]]:
    """The mentions (article id, amount, currency) a decision is made of, in article order."""
    return [tuple(r) for r in db.conn.execute(  # type: ignore[misc]
        "SELECT article_id, amount, currency FROM decision_reports WHERE decision_id = ? "
        "ORDER BY article_id, amount", [decision_id])]


def save_correction(db: Database, action: str, key: Sequence[Any], at: str, *, other: Sequence[Any] | None = None,
                    keys: Sequence[Sequence[Any]] = (), fields: dict[str, str] | None = None) -> int:
    """Store an analyst's correction; returns its id."""
    cursor = db.conn.execute(
        "INSERT INTO decision_corrections (action, article_id, amount, currency, other, keys, fields, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [action, key[0], key[1], key[2], json.dumps(list(other)) if other else None,
         json.dumps([list(k) for k in keys]) if keys else None, json.dumps(fields) if fields else None, at])
    return int(cursor.lastrowid or 0)


def load_corrections(db: Database) -> list[dict[str, Any]]:
    """Every stored correction, oldest first, JSON columns decoded."""
    rows = db.conn.execute("SELECT id, action, article_id, amount, currency, other, keys, fields "
                           "FROM decision_corrections ORDER BY id").fetchall()
    return [{"id": r[0], "action": r[1], "key": (r[2], r[3], r[4]),
             "other": tuple(json.loads(r[5])) if r[5] else None,
             "keys": tuple(tuple(k) for k in json.loads(r[6])) if r[6] else (),
             "fields": json.loads(r[7]) if r[7] else {}} for r in rows]


def count_decisions(db: Database) -> int:
    return int(db.conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0])
