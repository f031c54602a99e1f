"""Datasette plugin: limits on every connection the server opens, for every statement on it.

Datasette's sql_time_limit_ms stops a slow query between SQLite's VM instructions, but not a greedy
one, nor one whose single function call runs long. Three limits close that:

- SQLite's own limits cap what one value or one statement may be: `select
  length(randomblob(1000000000))` fails at once with "string or blob too big".
- A result budget: every row a statement returns is measured as it is fetched (the connection's row
  factory, which Datasette's own `execute` and every plugin go through), and the statement fails
  once its values pass MAX_RESULT_BYTES. `select zeroblob(49000000) ...` over 20 rows made a 1.5 GB
  response and 23 GB of memory; now it stops at the first row over the budget.
- printf()/format() widths: SQLite 3.40 spends seconds inside one printf('%.*c', 2147483647, 'x')
  call (one VM instruction, so no progress handler sees it) before returning NULL. The two functions
  are replaced by a checked copy that refuses a width or precision over MAX_VALUE_BYTES and hands the
  rest to SQLite's own printf on a private in-memory connection.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import weakref
from typing import Any, Callable

from datasette import hookimpl

# The longest text or blob a query may make or read: article texts are capped at 5,000,000
# characters when stored (at most 20 MB of UTF-8), so 50 MB leaves room for any stored value.
MAX_VALUE_BYTES = 50_000_000
# The longest SQL text accepted (canned queries are a few KB).
MAX_SQL_BYTES = 100_000
# The most one statement may return (text and blob lengths summed over its rows): a page of 1,000
# rows of typical articles is a few MB, one longest article 20 MB. Three SQL threads at the budget
# keep the server well under 1 GB with Datasette's JSON encoding on top.
MAX_RESULT_BYTES = 32_000_000

LIMITS = {
    sqlite3.SQLITE_LIMIT_LENGTH: MAX_VALUE_BYTES,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: MAX_SQL_BYTES,
}

# One printf conversion: flags, width (digits or *), precision (digits or *), the type letter.
_CONVERSION = re.compile(r"%([-+ 0#,!]*)(\*|\d+)?(?:\.(\*|\d*))?([a-zA-Z%])")
_private = threading.local()


@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: Any) -> None:
    """Lower the connection's limits, budget its results, check printf widths."""
    for limit, value in LIMITS.items():
        if conn.getlimit(limit) > value:  # never raise a limit a build may have set lower
            conn.setlimit(limit, value)
    conn.row_factory = budgeted_rows(conn.row_factory or _plain_row, MAX_RESULT_BYTES)
    for name in ("printf", "format"):
        conn.create_function(name, -1, checked_printf, deterministic=True)


def _plain_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> tuple[Any, ...]:
    return row


class ResultTooBig(sqlite3.OperationalError):
    """A statement's rows passed the result budget (Datasette answers 400 with this message)."""


def budgeted_rows(make_row: Callable[[sqlite3.Cursor, tuple[Any, ...]], Any],
                  budget: int) -> Callable[[sqlite3.Cursor, tuple[Any, ...]], Any]:
    """A row factory that sums the text and blob lengths of each statement's rows and raises
    ResultTooBig once they pass `budget`. A statement is a cursor: Datasette makes a new one for
    each query, and a connection runs one statement at a time (one connection per SQL thread)."""
    state: dict[str, Any] = {"cursor": lambda: None, "used": 0}

    def factory(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Any:
        if state["cursor"]() is not cursor:
            state["cursor"], state["used"] = weakref.ref(cursor), 0
        state["used"] += sum(len(v) for v in row if isinstance(v, (str, bytes)))
        if state["used"] > budget:
            state["used"] = 0  # a retry on the same cursor starts afresh
            raise ResultTooBig(f"result too big: this query's rows pass {budget:,} bytes; "
                               "select fewer rows or shorter values")
        return make_row(cursor, row)

    return factory


def checked_printf(fmt: Any = None, *args: Any) -> Any:
    """SQLite's printf(), refused when a width or precision passes MAX_VALUE_BYTES."""
    if isinstance(fmt, str):
        check_printf_widths(fmt, args, MAX_VALUE_BYTES)
    conn = getattr(_private, "conn", None)
    if conn is None:  # SQL threads each get their own: a connection is not shared across threads
        conn = _private.conn = sqlite3.connect(":memory:")
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    placeholders = ", ".join("?" * (1 + len(args)))
    return conn.execute(f"SELECT printf({placeholders})", (fmt, *args)).fetchone()[0]


def check_printf_widths(fmt: str, args: tuple[Any, ...], limit: int) -> None:
    """Raise ValueError if a literal or `*` width or precision in `fmt` passes `limit`."""
    position = 0
    for match in _CONVERSION.finditer(fmt):
        if match.group(4) == "%":
            continue
        for part in (match.group(2), match.group(3)):
            if part == "*":
                value = _int_arg(args, position)
                position += 1
            else:
                value = int(part) if part else 0
            if abs(value) > limit:
                raise ValueError(f"printf width {value} is over {limit}")
        position += 1


def _int_arg(args: tuple[Any, ...], position: int) -> int:
    """The integer SQLite would take from a `*` argument (missing or not a number: 0)."""
    if position >= len(args):
        return 0
    try:
        return int(float(args[position]))
    except (TypeError, ValueError, OverflowError):
        return 0
