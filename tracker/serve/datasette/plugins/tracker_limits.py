"""Datasette plugin: SQLite limits on every connection the server opens.

Datasette's sql_time_limit_ms stops a slow query but not a greedy one: `select
length(randomblob(1000000000))` runs in well under the time limit and takes a gigabyte. SQLite's
own limits cap what one value or one statement may be, so such a query fails at once with
"string or blob too big" and the server answers the next request as usual.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from datasette import hookimpl

# The longest text or blob a query may make or read: article texts are capped at 5,000,000
# characters by the extractor (at most 20 MB of UTF-8), so 50 MB leaves room for any stored value
# and for the concatenations analysts do, and 3 SQL threads cannot hold more than a few of them.
MAX_VALUE_BYTES = 50_000_000
# The longest SQL text accepted (canned queries are a few KB).
MAX_SQL_BYTES = 100_000

LIMITS = {
    sqlite3.SQLITE_LIMIT_LENGTH: MAX_VALUE_BYTES,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: MAX_SQL_BYTES,
}


@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: Any) -> None:
    """Lower the connection's limits (never raise them: a build may have set them lower)."""
    for limit, value in LIMITS.items():
        if conn.getlimit(limit) > value:
            conn.setlimit(limit, value)
