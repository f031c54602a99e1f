"""CSV formula neutralising: per cell, and over a byte stream cut anywhere."""

from __future__ import annotations

import csv
import io
import random

import pytest

from tracker.serve.csvsafe import CsvStreamNeutraliser, neutralise_cell


@pytest.mark.parametrize("value, safe", [
    ('=HYPERLINK("http://evil.example")', "'=HYPERLINK(\"http://evil.example\")"),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("-5", "-5"), ("+1.5e3", "+1.5e3"), ("plain", "plain"), ("", ""), (None, None), (7, 7),
])
def test_neutralise_cell(value: object, safe: object) -> None:
    assert neutralise_cell(value) == safe


def _through(raw: bytes, rng: random.Random) -> bytes:
    stream, out, i = CsvStreamNeutraliser(), b"", 0
    while i < len(raw):
        step = rng.randint(1, 7)
        out += stream.feed(raw[i:i + step])
        i += step
    return out + stream.flush()


def test_stream_matches_cell_by_cell_whatever_the_chunks() -> None:
    rng = random.Random(14)
    alphabet = ["=", "+", "-", "@", "\t", "\r", "\n", '"', ",", "a", "1", ".", "é", " ", "e"]
    for _ in range(2000):
        rows = [["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
                 for _ in range(rng.randint(1, 4))] for _ in range(rng.randint(1, 5))]
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)  # Datasette's dialect: excel, \r\n
        raw = buffer.getvalue().encode("utf-8")
        got = list(csv.reader(io.StringIO(_through(raw, rng).decode("utf-8"), newline="")))
        assert got == [[neutralise_cell(cell) for cell in row] for row in rows], rows
