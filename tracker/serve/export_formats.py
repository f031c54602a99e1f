"""`tracker export`: stream the rows of an export as CSV or JSON Lines, with no row cap.

Each export is declared as SQL data in tracker/store/exports.py (EXPORTS): its SQL in parts, and
which of its columns the filters use (`--story`, `--search`, `--since`). This module checks the
options and writes the rows. CSV is for people: JSON lists (`publishers`, `topics`) become `a; b` text, and cells a
spreadsheet would run as formulas get a leading `'` (tracker/serve/csvsafe.py) unless `raw` is asked for;
`excel` adds the byte-order mark Excel needs to read UTF-8. JSON Lines is for programs: text as
stored, lists as JSON arrays.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from typing import IO, Any

from tracker import store
from tracker.store import exports
from tracker.serve.csvsafe import UTF8_BOM, neutralise_cell
from tracker.dates import BadDate, to_utc_iso
from tracker.errors import TrackerError
from tracker.serve.search import fts_query


FORMATS = ("csv", "jsonl")
LIST_COLUMNS = frozenset({"publishers", "topics", "stories", "articles"})  # JSON arrays


@dataclass(frozen=True)
class ExportOptions:
    """Filters and CSV flavour. `since` is a date or time (UTC unless it says otherwise)."""

    story: int | None = None
    search: str | None = None
    since: str | None = None
    raw: bool = False  # CSV cells exactly as stored: no formula neutralising
    excel: bool = False  # CSV starts with a UTF-8 byte-order mark


def export_rows(db: store.Database, what: str, fmt: str, out: IO[str],
                options: ExportOptions | None = None) -> int:
    """Write the rows of export `what` to `out` in `fmt`; returns the number of rows written."""
    options = options or ExportOptions()
    if fmt not in FORMATS:
        raise TrackerError(f"unknown format {fmt!r}: choose csv or jsonl")
    sql, params = export_sql(what, options)
    rows = exports.load_rows(db, sql, params)
    if fmt == "csv":
        return _write_csv(out, exports.load_columns(db, sql, params), rows, options)
    return _write_jsonl(out, rows)


def export_sql(what: str, options: ExportOptions) -> tuple[str, list[Any]]:
    """The SQL and parameters of export `what` with the options' filters."""
    since = _since(options.since) if options.since else None
    return exports.export_sql(what, exports.ExportFilters(options.story, fts_query(options.search), since))


def _since(value: str) -> str:
    try:
        moment = to_utc_iso(value)
    except BadDate as exc:
        raise TrackerError(f"--since {value!r}: not a date (e.g. 2024-05-01 or 2024-05-01T12:00Z)") from exc
    if moment is None:
        raise TrackerError("--since: empty date")
    return moment


def _write_csv(out: IO[str], columns: list[str], rows: Any, options: ExportOptions) -> int:
    if options.excel:
        out.write(UTF8_BOM)
    # RFC 4180 line ends: with "\n" alone, csv leaves a cell's bare "\r" unquoted, which readers
    # (Excel, Python's csv) take as the end of the row.
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(_csv_row(row, options.raw))
        count += 1
    return count


def _csv_row(row: dict[str, Any], raw: bool) -> dict[str, Any]:
    cells = {}
    for name, value in row.items():
        if name in LIST_COLUMNS and isinstance(value, str):
            value = _list_text(value)
        cells[name] = value if raw else neutralise_cell(value)
    return cells


def _list_text(value: str) -> str:
    items = _json_list(value)
    return value if items is None else "; ".join(str(item) for item in items)


def _json_list(value: str) -> list[Any] | None:
    try:
        items = json.loads(value)
    except ValueError:
        return None
    return items if isinstance(items, list) else None


def _write_jsonl(out: IO[str], rows: Any) -> int:
    count = 0
    for row in rows:
        for name in LIST_COLUMNS & row.keys():
            if isinstance(row[name], str):
                items = _json_list(row[name])
                row[name] = row[name] if items is None else items
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
