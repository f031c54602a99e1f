"""Search terms as typed -> FTS5 expressions, checked against a real FTS5 table."""

from __future__ import annotations

import sqlite3

import pytest

from tracker.serve.search import fts_query, search_problem, without_empty_searches

DOCS = ["The AI Act passed", "act on AI now", "GDPR fine", "BIPA suit", "facial recognition ban",
        "Meta and Facebook", "data protection fine"]


@pytest.fixture(scope="module")
def fts() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter')")
    conn.executemany("INSERT INTO t (x) VALUES (?)", [(d,) for d in DOCS])
    return conn


def search(conn: sqlite3.Connection, text: str) -> set[str]:
    expression = fts_query(text)
    sql = "SELECT x FROM t" + (" WHERE t MATCH ?" if expression else "")
    return {row[0] for row in conn.execute(sql, [expression] if expression else [])}


@pytest.mark.parametrize("text, found", [
    ("AI Act", {"The AI Act passed"}),  # a phrase, not AI and act anywhere
    ("GDPR OR BIPA", {"GDPR fine", "BIPA suit"}),
    ("recogn*", {"facial recognition ban"}),
    ("facial recogn*", {"facial recognition ban"}),
    ('"data protection" fine', {"data protection fine"}),
    ("Meta NOT Facebook", set()),
    ("fine NOT GDPR", {"data protection fine"}),
    ('"unbalanced', set()),
    ('x"y', set()),
])
def test_typed_searches(fts: sqlite3.Connection, text: str, found: set[str]) -> None:
    assert search(fts, text) == found


@pytest.mark.parametrize("text", ["", "   ", "OR", "AND OR NOT", "*", '""', "-"])
def test_nothing_to_search_means_no_condition(fts: sqlite3.Connection, text: str) -> None:
    assert fts_query(text) == ""
    assert search(fts, text) == set(DOCS)


@pytest.mark.parametrize("text", ['NOT "a', "OR GDPR", "GDPR OR", "a AND OR b", "(x", "x:y", "^a", "NEAR(a b)"])
def test_odd_input_is_never_a_syntax_error(fts: sqlite3.Connection, text: str) -> None:
    fts.execute("SELECT x FROM t WHERE t MATCH ?", [fts_query(text) or '""']).fetchall()


def test_without_empty_searches_keeps_everything_else() -> None:
    assert without_empty_searches("_search=&_sort=id") == "_sort=id"
    assert without_empty_searches("_search=OR&_search_title=%22%22&_facet=publisher") == "_facet=publisher"
    assert without_empty_searches("_search=AI+Act&_sort=id") == "_search=AI+Act&_sort=id"
    assert without_empty_searches("_searchmode=raw&_search=%2A") == "_searchmode=raw&_search=%2A"
    assert without_empty_searches("_searchmode=raw&_search=+") == "_searchmode=raw"


@pytest.fixture(scope="module")
def fields() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(title, text, tokenize='porter')")
    conn.executemany("INSERT INTO f (title, text) VALUES (?, ?)", [
        ("ICO fines a retailer", "the data protection regulator acted"),
        ("A retailer is fined", "the ICO fined it under the GDPR"),
        ("GDPR anniversary", "five years of data protection")])
    return conn


def titles(conn: sqlite3.Connection, text: str) -> set[str]:
    return {r[0] for r in conn.execute("SELECT title FROM f WHERE f MATCH ?", [fts_query(text)])}


@pytest.mark.parametrize("text, found", [
    ("title:ICO", {"ICO fines a retailer"}),  # the word in the title only, not in the text
    ("ICO", {"ICO fines a retailer", "A retailer is fined"}),
    ('title:"a retailer" GDPR', {"A retailer is fined"}),  # the column filter is the phrase's only
    ("retailer -GDPR", {"ICO fines a retailer"}),
    ("retailer NOT GDPR", {"ICO fines a retailer"}),
    ("data protection -title:GDPR", {"ICO fines a retailer"}),
])
def test_field_search_and_exclusions(fields: sqlite3.Connection, text: str, found: set[str]) -> None:
    assert titles(fields, text) == found


@pytest.mark.parametrize("text, kept", [("NOT GDPR", ""), ("-ICO", ""), ("GDPR OR NOT ICO", '"GDPR"')])
def test_an_exclusion_with_nothing_before_it_is_left_out_and_said(text: str, kept: str) -> None:
    assert fts_query(text) == kept  # never the excluded word searched for instead
    problem = search_problem(text)
    assert problem is not None and problem.startswith("Left out NOT") and "not supported" in problem


def test_ordinary_searches_have_no_problem() -> None:
    assert [search_problem(t) for t in ("fine -GDPR", "title:ICO", "", "e-mail", "-")] == [None] * 5
