"""Datasette plugin: a table's own search box (`?_search=`) speaks the search pages' syntax.

Datasette's table search runs `rowid IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH
escape_fts(:search))`, and its `escape_fts` quotes every word: `GDPR OR BIPA` asked for three
words ("OR" among them) and found nothing, `recogn*` asked for the word "recogn", `AI Act` matched
"AI" and "act" anywhere. Here `escape_fts` is redefined, on the tracker's connections, as
tracker/serve/search.py's `fts_query`, so the articles table's box, the search pages and
`tracker export --search` read a query the same way (phrases for words written together, OR/AND/NOT,
prefix*). `?_searchmode=raw` still hands FTS5 syntax through untouched, as Datasette documents.

A search with no words (an empty box, a lone `OR`) would be an FTS5 syntax error; an ASGI wrapper
drops such `_search` parameters before Datasette sees them, so the table lists every row, as the
search pages do for an empty query.
"""

from __future__ import annotations

from typing import Any, Callable

from datasette import hookimpl

from tracker.serve.search import fts_query, without_empty_searches


@hookimpl(trylast=True)
def prepare_connection(conn: Any) -> None:
    """Registered after Datasette's own `escape_fts` (trylast), so this definition is the one kept."""
    conn.create_function("escape_fts", 1, fts_query, deterministic=True)


@hookimpl
def asgi_wrapper() -> Callable[[Any], Any]:
    return _wrap


def _wrap(app: Any) -> Any:
    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        # every query string is read as Datasette reads it: `%5Fsearch=OR` is `_search=OR` too
        if scope.get("type") == "http" and scope.get("query_string"):
            query = scope["query_string"].decode("latin-1")
            kept = without_empty_searches(query)
            if kept != query:
                scope = {**scope, "query_string": kept.encode("latin-1")}
        await app(scope, receive, send)

    return wrapped

