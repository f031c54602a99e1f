"""Datasette plugin: every CSV Datasette serves is safe to open in a spreadsheet.

An ASGI wrapper over `.csv` (and `?_format=csv`) responses: each cell that a spreadsheet would run
as a formula gets a leading `'` (tracker/serve/csvsafe.py, the OWASP rule), chunk by chunk, so streamed
CSVs of every row stay streamed. A download (`_dl`, what the CSV export form sends by default)
starts with a UTF-8 byte-order mark, without which Excel reads UTF-8 as Windows-1252
(`supermarketâ€™s`). JSON, the HTML pages and the database keep the text as stored.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import parse_qs

from datasette import hookimpl

from tracker.serve.csvsafe import UTF8_BOM, CsvStreamNeutraliser

CSV_TYPES = (b"text/csv", b"text/plain")


@hookimpl
def asgi_wrapper() -> Callable[[Any], Any]:
    return _wrap


def _wrap(app: Any) -> Any:
    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or not _is_csv_request(scope):
            await app(scope, receive, send)
            return
        await app(scope, receive, _SafeCsvSender(send, _wants_bom(scope)))

    return wrapped


def _query(scope: dict[str, Any]) -> dict[str, list[str]]:
    return parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)


def _is_csv_request(scope: dict[str, Any]) -> bool:
    return scope.get("path", "").endswith(".csv") or _query(scope).get("_format") == ["csv"]


def _wants_bom(scope: dict[str, Any]) -> bool:
    return any(value not in ("", "0", "off") for value in _query(scope).get("_dl", []))


class _SafeCsvSender:
    """An ASGI `send` that rewrites the body of a successful CSV response."""

    def __init__(self, send: Any, bom: bool) -> None:
        self._send = send
        self._bom = bom
        self._rewrite = False
        self._neutraliser = CsvStreamNeutraliser()

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = self._start(message)
        elif message["type"] == "http.response.body" and self._rewrite:
            message = self._body(message)
        await self._send(message)

    def _start(self, message: dict[str, Any]) -> dict[str, Any]:
        headers = list(message.get("headers", []))
        content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        self._rewrite = message.get("status") == 200 and content_type.startswith(CSV_TYPES)
        if not self._rewrite:
            return message
        # the body changes length: drop Content-Length, the server sends it chunked
        kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        return {**message, "headers": kept}

    def _body(self, message: dict[str, Any]) -> dict[str, Any]:
        body = self._neutraliser.feed(message.get("body", b""))
        if not message.get("more_body", False):
            body += self._neutraliser.flush()
        if self._bom:
            body, self._bom = UTF8_BOM.encode("utf-8") + body, False
        return {**message, "body": body}
