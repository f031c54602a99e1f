"""Holes found by hostile tests: bad related items, forged error lines, files that are not files,
greedy SQL on the served database, pages that extraction cannot read."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from xml.etree import ElementTree

import pytest

from tests.conftest import query
from tests.test_crawl import FAST, import_urls
from tests.test_run import runs, write_seed
from tests.test_serve import (_chromium, _chromium_args, get, get_bytes, get_json,  # noqa: F401 - the real server
                              served_db, server)
from tracker import store
from tracker.dates import now_iso
from tracker.store import articles
from tracker.extract.pool import ExtractorPool
from tracker.job import run_lock
from tracker.crawl.pages import PageResult, save_page
from tracker.crawl.policy import RecrawlPolicy
from tracker.urls import make_alias


def tracker(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracker", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=120, check=False)


SEED = """\
---
title: "Regulator fines tracker"
publishedDateTime: 2025-01-06T08:30:00Z
webUrl: "https://news.example/fine.html"
related:
  - title: "good one"
    webUrl: "https://other.example/one.html"
  - title: "hostile"
    webUrl: "javascript:alert(1)"
  - title: "good two"
    webUrl: "https://third.example/two.html"
---
Body.
"""


def test_one_bad_related_url_keeps_the_seed_and_its_good_items(tmp_path: Path) -> None:
    seed = tmp_path / "seeds" / "fine.md"
    seed.parent.mkdir()
    seed.write_text(SEED, encoding="utf-8")
    db = tmp_path / "t.db"
    result = tracker(tmp_path, "seeds", "load", str(seed.parent), "--db", str(db))
    assert result.returncode == 1  # an error was reported...
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"Error: {seed}: related[1]"), result.stderr
    assert "javascript" in errors[0]
    # ...and the seed and its two good items are loaded
    urls = {row[0] for row in query(db, "SELECT url FROM articles")}
    assert urls == {"https://news.example/fine.html", "https://other.example/one.html",
                    "https://third.example/two.html"}
    assert query(db, "SELECT COUNT(*) FROM relations")[0][0] == 2
    assert query(db, "SELECT status FROM seed_files")[0][0] == "loaded"


def test_a_file_name_cannot_forge_an_error_line(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "x\nError: all seeds are fine\x1b[2K.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    result = tracker(tmp_path, "seeds", "check", str(folder))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and "x\\nError: all seeds are fine\\x1b[2K.md" in errors[0], lines
    assert not any(line.startswith("Error: all seeds") for line in lines)
    assert "\x1b" not in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "dev-zero-link"])
def test_seeds_check_names_what_is_not_a_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "seed.md"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    for target in (path, tmp_path):  # named, and found in a folder
        result = tracker(tmp_path, "seeds", "check", str(target))
        assert result.returncode == 1, result.stderr
        assert f"Error: {path}" in result.stderr, result.stderr
        expected = "a FIFO" if kind == "fifo" else "a character device"
        assert expected in result.stderr and "1 errors" in result.stdout


def test_greedy_query_is_refused_and_the_server_still_answers(server: str) -> None:  # noqa: F811
    status, body = get(server, "/tracker.json", sql="select length(randomblob(1000000000))")
    assert status == 400 and "too big" in body.lower(), body[:300]
    rows = get_json(server, "/tracker.json", sql="select length(randomblob(1000)) as n", _shape="objects")
    assert rows["rows"] == [{"n": 1000}]
    # stored values still read whole (the limit is far above any article text)
    assert get_json(server, "/tracker.json", sql="select count(*) as n from articles",
                    _shape="objects")["rows"][0]["n"] > 0


DEEP = ("<html><head><title>Deep</title></head><body><p>Some text</p>" + "<div>" * 200_000
        + "<p>The regulator fined the company for tracking users without consent.</p>" * 50
        + "</div>" * 200_000 + "</body></html>").encode()


def test_page_nested_too_deep_is_recorded_as_no_text(db: Any) -> None:
    url = "https://news.example/deep.html"
    alias = make_alias(url)
    with store.transaction(db):
        article_id, _ = articles.resolve_article(db, [alias], alias.url, {}, "import")
    page = PageResult(url=url, requested_at=now_iso(), article_id=article_id, status=200,
                      final_url=url, headers={"content-type": "text/html"}, body=DEEP)
    with ExtractorPool(workers=1) as pool:
        try:
            extraction: Any = pool.submit(DEEP, url, "text/html").result()
        except Exception as exc:  # an ExtractionError is recorded as what it is
            extraction = exc
    _, outcome = save_page(db, page, extraction, RecrawlPolicy())
    assert outcome == "no_text"
    row = db.conn.execute("SELECT outcome, error_class, error_message FROM fetches").fetchone()
    assert row[0] == "no_text" and row[1] == "NoTextError" and "characters of text" in row[2]
    article = db.conn.execute("SELECT status, text, last_error FROM articles WHERE id = ?",
                              [article_id]).fetchone()
    assert article[0] == "failed" and article[1] is None and article[2].startswith("no_text")


def test_a_result_over_the_budget_is_refused_and_the_server_still_answers(server: str) -> None:  # noqa: F811
    # two values of 20 MB: each under the value limit, together over the 32 MB result budget
    two_rows = "select zeroblob(20000000 + x * 0) from (select 1 as x union all select 2)"
    status, body = get(server, "/tracker.json", sql=two_rows)
    assert status == 400 and "result too big" in body, body[:300]
    status, body = get(server, "/tracker.csv", sql=two_rows)
    assert body.strip() == "", body[:300]  # Datasette's CSV of a failed query: empty, as for any SQL error
    # the budget is per statement: the next query, and one value of 20 MB, are answered
    rows = get_json(server, "/tracker.json", sql="select length(zeroblob(20000000)) as n", _shape="objects")
    assert rows["rows"] == [{"n": 20000000}]
    assert get_json(server, "/tracker.json", sql="select 1 as one", _shape="objects")["rows"] == [{"one": 1}]


def test_a_printf_width_over_the_value_limit_is_refused(server: str) -> None:  # noqa: F811
    for fmt in ("%.*c", "%*c"):
        status, body = get(server, "/tracker.json",
                           sql=f"select length(printf('{fmt}', 2147483647 + x * 0, 'x')) "
                               "from (select 1 as x)")
        assert status == 400 and "user-defined function raised exception" in body, body[:300]
    status, body = get(server, "/tracker.json", sql="select printf('%.2000000000f', 1.5)")
    assert status == 400, body[:300]
    # printf and format still work as SQLite's
    rows = get_json(server, "/tracker.json", sql="select printf('%5.2f|%-3s|%d%%', 3.14159, 'a', 7) as p, "
                    "format('%.*c', 3, 'x') as f", _shape="objects")
    assert rows["rows"] == [{"p": " 3.14|a  |7%", "f": "xxx"}]


def test_dashboard_charts_write_values_as_text_not_html(server: str) -> None:  # noqa: F811
    hostile = "<img src=x onerror=alert(document.domain)>"
    for path, name in (("/-/dashboards/activity", "since"), ("/-/dashboards/activity/span", "until")):
        status, html = get(server, path, **{name: hostile})
        assert status == 200 and "<img src=x" not in html  # the filter is not in the page as HTML...
        assert "/-/static-plugins/datasette_dashboards/dashboards.js" in html
    # ...and the script that renders the charts' values (table cells, headings, metrics) sets text
    status, script = get(server, "/-/static-plugins/datasette_dashboards/dashboards.js")
    assert status == 200 and "function renderTableChart" in script
    assert "innerHTML" not in script and script.count(".textContent =") >= 3
    # in a real browser the span chart's cell holds the value as text: no image element is made
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (scripts/test installs it where it can)")
    url = server + "/-/dashboards/activity/span?" + urllib.parse.urlencode({"until": hostile})
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([browser, *_chromium_args(profile), "--virtual-time-budget=5000", "--dump-dom",
                              url], check=True, capture_output=True, timeout=90, text=True).stdout
    assert "<td>&lt;img src=x onerror=alert(document.domain)&gt;</td>" in dom, dom[-2000:]
    assert "<img src=" not in dom


@pytest.mark.parametrize("date", ["2024-02-30", "9999-99-99", "2024-13-01", "2024-01-01T25:61:61Z",
                                  "9999-12-31T23:00:00-05:00"])
def test_an_impossible_date_is_one_error_and_the_good_seed_beside_it_loads(
        newssite: Any, tmp_path: Path, date: str) -> None:
    newssite.reset()
    newssite.set_crawl_delay(0)
    seeds, db = tmp_path / "seeds", tmp_path / "t.db"
    write_seed(seeds, "good.md", newssite, "/news/ok-1.html", [])
    bad = seeds / "bad.md"
    bad.write_text(f'---\ntitle: "bad date"\npublishedDateTime: {date}\n'
                   f'webUrl: "https://news.example/bad.html"\n---\n', encoding="utf-8")
    result = tracker(tmp_path, "run", str(seeds), "--db", str(db), *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    run = runs(db)[-1]
    assert run["status"] == "completed" and run["errors"].count("\n") == 0, run
    assert run["errors"].startswith(f"{bad}: publishedDateTime: not a date"), run["errors"]
    assert [row[0] for row in query(db, "SELECT url FROM articles")] == [newssite.url_for("/news/ok-1.html")]
    assert query(db, "SELECT status FROM articles") == [("fetched",)]


def test_year_one_is_stored_with_four_digits(tmp_path: Path) -> None:
    seeds, db = tmp_path / "seeds", tmp_path / "t.db"
    seeds.mkdir()
    (seeds / "old.md").write_text('---\ntitle: "old"\npublishedDateTime: 0001-01-01\n'
                                  'webUrl: "https://news.example/old.html"\n---\n', encoding="utf-8")
    result = tracker(tmp_path, "seeds", "load", str(seeds), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert query(db, "SELECT published FROM articles") == [("0001-01-01T00:00:00Z",)]


def test_a_huge_sparse_seed_is_refused_by_its_size_unread(tmp_path: Path) -> None:
    seeds, db = tmp_path / "seeds", tmp_path / "t.db"
    seeds.mkdir()
    huge = seeds / "huge.md"
    with huge.open("wb") as handle:  # 20 GB that take no disk: reading it whole was a MemoryError
        handle.write(b"---\ntitle: x\n")
        handle.truncate(20 * 2**30)
    (seeds / "good.md").write_text('---\ntitle: "good"\nwebUrl: "https://news.example/good.html"\n---\n',
                                   encoding="utf-8")
    result = tracker(tmp_path, "seeds", "load", str(seeds), "--db", str(db))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert errors == [f"Error: {huge}: larger than 2000000 bytes, not a seed"], result.stderr
    assert query(db, "SELECT url FROM articles") == [("https://news.example/good.html",)]


PAGE = (b"<html><head><title>A page</title></head><body><article><h1>A page</h1>"
        + b"<p>The regulator fined the company for tracking users without consent.</p>" * 40
        + b"</article></body></html>")


@contextmanager
def site_with_robots(robots: bytes) -> Iterator[tuple[str, list[str]]]:
    """A one-page site on 127.0.0.1 serving `robots` as its robots.txt; yields (base URL, paths hit)."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            hits.append(self.path)
            body, kind = (robots, "text/plain") if self.path == "/robots.txt" else (PAGE, "text/html")
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass  # the crawler hung up on a body it would not read

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("robots, fetched", [
    # over DOWNLOAD_MAXSIZE (10 MB): cut off, it cannot be read, so nothing is fetched
    (b"User-agent: *\nDisallow: /\n" + b"# padding\n" * 1_100_000, False),
    # 600 KiB: only the first 500 KiB count, and the Disallow comes after them
    (b"User-agent: *\n" + b"# padding\n" * 56_000 + b"Disallow: /\n", True),
    (b"User-agent: *\nDisallow: /\n" + b"# padding\n" * 56_000, False),
])
def test_robots_txt_is_read_to_500_kib_and_disallows_all_when_it_cannot_be_read(
        tmp_path: Path, robots: bytes, fetched: bool) -> None:
    db = tmp_path / "t.db"
    with site_with_robots(robots) as (base, hits):
        (tmp_path / "u.jsonl").write_text(f'{{"url": "{base}/news/a.html"}}\n', encoding="utf-8")
        assert tracker(tmp_path, "import", str(tmp_path / "u.jsonl"), "--db", str(db)).returncode == 0
        result = tracker(tmp_path, "crawl", "--db", str(db), *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    assert ("/news/a.html" in hits) is fetched, hits
    outcome = query(db, "SELECT outcome FROM fetches")
    assert outcome == ([("ok",)] if fetched else [("robots",)])


def test_crawl_takes_the_run_lock(newssite: Any, tmp_path: Path) -> None:
    newssite.reset()
    newssite.set_crawl_delay(0)
    db = tmp_path / "t.db"
    import_urls(tmp_path, db, newssite, ["/news/ok-1.html"])
    with run_lock(db):  # a `tracker run` in progress
        held = tracker(tmp_path, "crawl", "--db", str(db), *FAST)
    assert held.returncode == 75  # EX_TEMPFAIL, as `tracker run` beside another run
    assert f"Error: {db}: another run holds the lock since" in held.stderr and f"pid {os.getpid()}" in held.stderr
    assert newssite.hits("/news/ok-1.html") == 0 and query(db, "SELECT COUNT(*) FROM fetches") == [(0,)]
    free = tracker(tmp_path, "crawl", "--db", str(db), *FAST)
    assert free.returncode == 0, free.stderr[-2000:]
    assert query(db, "SELECT outcome FROM fetches") == [("ok",)]


def test_an_import_line_too_deep_or_too_long_is_one_error_and_the_rest_is_saved(tmp_path: Path) -> None:
    lines = ['{"url": "https://news.example/1.html", "title": "one"}',
             '{"url": "https://news.example/2.html", "title": "two", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
             '{"url": "https://news.example/3.html", "title": "three"}',
             json.dumps({"url": "https://news.example/4.html", "text": "x" * 5_000_001}),
             '{"url": "https://news.example/5.html", "title": "five"}']
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "t.db"
    result = tracker(tmp_path, "import", str(tmp_path / "in.jsonl"), "--db", str(db))
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert "Traceback" not in result.stderr
    assert any("in.jsonl:2: invalid JSON: RecursionError" in e for e in errors), result.stderr
    assert any("in.jsonl:4: text: 5,000,001 characters" in e for e in errors), result.stderr
    assert sorted(r[0] for r in query(db, "SELECT title FROM articles")) == ["five", "one", "three"]


def test_control_characters_leave_seed_titles_and_the_feed_stays_well_formed(
        server: str, served_db: Path, tmp_path: Path) -> None:  # noqa: F811
    seeds, db = tmp_path / "seeds", tmp_path / "t.db"
    seeds.mkdir()
    (seeds / "c.md").write_text('---\ntitle: "Fine\\e[2J\\a\\0 for tracking"\n'
                                'webUrl: "https://news.example/c.html"\n---\n', encoding="utf-8")
    assert tracker(tmp_path, "seeds", "load", str(seeds), "--db", str(db)).returncode == 0
    assert query(db, "SELECT title FROM articles") == [("Fine[2J for tracking",)]
    # a database written before this check: the feed leaves such characters out
    conn = sqlite3.connect(served_db)
    with conn:
        conn.execute("INSERT INTO clusters (id, headline, first_seen, last_seen, n_articles, n_publishers, "
                     "publishers) VALUES (99001, ?, '2099-01-01T00:00:00Z', '2099-01-01T00:00:00Z', 1, 1, "
                     "'[\"Wired\"]')", ["Bell\x07 escape\x1b[31m nul\x00 story"])
    conn.close()
    status, xml = get(server, "/tracker/story_feed.atom")
    assert status == 200, xml[:300]
    feed = ElementTree.fromstring(xml)
    titles = [e.findtext("{http://www.w3.org/2005/Atom}title") for e in feed.iter("{http://www.w3.org/2005/Atom}entry")]
    assert titles[0] == "Bell escape[31m nul story"


def test_a_look_alike_host_is_named_in_both_forms_wherever_its_outlet_is_shown(tmp_path: Path) -> None:
    seeds, db = tmp_path / "seeds", tmp_path / "t.db"
    seeds.mkdir()
    (seeds / "l.md").write_text('---\ntitle: "Apple fined"\nwebUrl: "https://www.аррӏе.com/fine.html"\n'
                                'related:\n  - title: "Same"\n    webUrl: "https://news.example/same.html"\n---\n',
                                encoding="utf-8")
    assert tracker(tmp_path, "seeds", "load", str(seeds), "--db", str(db)).returncode == 0
    label = "xn--80ak6aa92e.com (аррӏе.com)"
    assert query(db, "SELECT publisher FROM articles WHERE url LIKE '%fine.html'") == [(label,)]
    # the stored name is what the publishers view, story lists and the feed show
    assert (label,) in query(db, "SELECT publisher FROM publishers")


def test_a_forged_host_header_does_not_become_the_feed_s_id_or_links(server: str) -> None:  # noqa: F811
    request = urllib.request.Request(server + "/tracker/story_feed.atom?q=cameras",
                                     headers={"Host": "evil.example"})
    with urllib.request.urlopen(request, timeout=30) as response:
        xml = response.read().decode("utf-8")
    assert "evil.example" not in xml
    feed = ElementTree.fromstring(xml)
    assert feed.findtext("{http://www.w3.org/2005/Atom}id") == server + "/tracker/story_feed.atom?q=cameras"


def test_an_encoded_empty_search_lists_every_row(server: str) -> None:  # noqa: F811
    status, body = get_bytes(server, "/tracker/articles.json?%5Fsearch=OR&_size=1&_shape=objects")
    assert status == 200, body[:300]
    assert b"syntax error" not in body and len(json.loads(body)["rows"]) == 1


@contextmanager
def small_file_system(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted on `folder` (root only): a disk that fills, or turns read-only."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_fails_the_write_with_its_own_error_and_keeps_what_was_saved(tmp_path: Path) -> None:
    with small_file_system(tmp_path / "disk", "3m") as disk:
        db = store.open_db(disk / "t.db")
        # full-text indexed, with a small page cache: pages spill mid-transaction, and on a full
        # disk SQLite then rolls the whole transaction back itself (as under articles_fts)
        db.conn.execute("PRAGMA cache_size = 10")
        db.conn.execute("CREATE VIRTUAL TABLE filler USING fts5(x)")
        saved = 0
        with pytest.raises(sqlite3.OperationalError) as failure:
            for _ in range(1000):
                with store.transaction(db):  # a batch, a savepoint per item (as the writer saves)
                    for _ in range(5):
                        with store.transaction(db):
                            db.conn.execute("INSERT INTO filler VALUES (hex(randomblob(20000)))")
                saved += 5
        chain = [failure.value, failure.value.__context__]
        assert "full" in str(failure.value) and not any("cannot rollback" in str(e) for e in chain if e)
        assert not db.conn.in_transaction
        assert db.conn.execute("SELECT COUNT(*) FROM filler").fetchone()[0] == saved > 0
        db.conn.close()


def test_a_full_disk_leaves_the_warc_ending_on_a_whole_record(tmp_path: Path) -> None:
    from tracker.crawl.warc import WarcArchive, iter_warc_pages

    with small_file_system(tmp_path / "disk", "300k") as disk:
        archive = WarcArchive(disk, max_bytes=10_000_000)
        written = 0
        with pytest.raises(OSError):
            for n in range(100):
                page = PageResult(url=f"https://news.example/{n}.html", requested_at=now_iso(), status=200,
                                  headers={"content-type": "text/html"}, body=os.urandom(40_000))
                archive.write(page, {})
                written += 1
        archive.close()
        files = list(disk.glob("*.warc.gz"))
        assert len(files) == 1 and written > 0
        pages = list(iter_warc_pages(files[0]))  # every record whole: the file reads to its end
        assert [p.url for p in pages] == [f"https://news.example/{n}.html" for n in range(written)]


def test_a_read_only_database_is_one_line_for_tracker_run(tmp_path: Path) -> None:
    with small_file_system(tmp_path / "disk", "4m") as disk:
        seeds = tmp_path / "seeds"
        seeds.mkdir()
        (seeds / "a.md").write_text('---\ntitle: "a"\nwebUrl: "https://news.example/a.html"\n---\n',
                                    encoding="utf-8")
        assert tracker(tmp_path, "seeds", "load", str(seeds), "--db", str(disk / "t.db")).returncode == 0
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        result = tracker(tmp_path, "run", str(seeds), "--db", str(disk / "t.db"))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and str(disk / "t.db") in errors[0] and "Read-only file system" in errors[0]
