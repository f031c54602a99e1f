"""The crawl end to end: seeds/imports -> `tracker crawl` (a real Scrapy child process) -> rows.

Every crawl here runs against the local news site on 127.0.0.1 (tests/newssite.py), allowed by
TRACKER_ALLOWED_NETWORKS=127.0.0.0/8 only, so a redirect to any other address is refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import query
from tracker.store import open_db
from tracker.crawl.pages import PageResult, save_page
from tracker.crawl.policy import RecrawlPolicy, parse_duration
from tracker.errors import ConfigError

FAST = ["-s", "TRACKER_ALLOWED_NETWORKS=127.0.0.0/8", "-s", "DOWNLOAD_DELAY=0",
        "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "TRACKER_RETRY_BACKOFF_BASE=0.05",
        "-s", "DOWNLOAD_TIMEOUT=3", "-s", "TRACKER_EXTRACT_WORKERS=1", "-s", "LOG_LEVEL=INFO"]

CASES = ["/news/ok-1.html", "/news/ok-2.html", "/redirect/a", "/loop/a", "/gone/404.html",
         "/gone/410.html", "/flaky/500-then-200.html", "/flaky/429.html", "/broken/drop.html",
         "/huge/page.html", "/bomb/page.html", "/charset/lying.html", "/charset/missing.html",
         "/files/report.pdf", "/amp/story.html", "/news/story.html", "/dup/one.html",
         "/dup/two.html", "/private/page.html", "/redirect/metadata", "/redirect/ftp",
         "/redirect/private-ip", "/cond/etag.html", "/changing/page.html"]


def tracker(tmp_path: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a child process from an unrelated folder (no scrapy.cfg there)."""
    return subprocess.run([sys.executable, "-m", "tracker", *args], cwd=tmp_path, text=True,
                          capture_output=True, timeout=timeout, check=False)


def import_urls(tmp_path: Path, db: Path, site: Any, paths: list[str]) -> None:
    lines = [json.dumps({"url": site.url_for(p), "title": f"seeded {p}"}) for p in paths]
    jsonl = tmp_path / "urls.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = tracker(tmp_path, "import", str(jsonl), "--db", str(db))
    assert result.returncode == 0, result.stderr


def article(db: Path, path: str) -> dict[str, Any]:
    """The article that a site path (or its alias) belongs to."""
    found = query(db, "SELECT a.* FROM urls u JOIN articles a ON a.id = u.article_id WHERE u.url LIKE ?",
                  (f"%{path}",))
    assert found, f"no article for {path}"
    names = [r[1] for r in query(db, "PRAGMA table_info(articles)")]
    return dict(zip(names, found[0]))


def outcomes(db: Path, path: str) -> list[str]:
    return [r[0] for r in query(db, "SELECT outcome FROM fetches WHERE url LIKE ? ORDER BY id", (f"%{path}",))]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory, newssite: Any) -> dict[str, Any]:
    """One crawl over every case of the local site, shared by the assertions below."""
    newssite.reset()
    newssite.set_crawl_delay(0)
    tmp = tmp_path_factory.mktemp("crawl")
    db = tmp / "data" / "tracker.db"
    import_urls(tmp, db, newssite, CASES)
    result = tracker(tmp, "crawl", "--db", str(db), *FAST)
    hits = {p: newssite.hits(p) for p in ("/private/page.html", "/flaky/429.html", "/robots.txt")}
    return {"db": db, "tmp": tmp, "result": result, "hits": hits, "site": newssite,
            "headers": newssite.last_headers("/news/ok-1.html")}


def test_crawl_runs_and_summarises(crawled: dict[str, Any]) -> None:
    result = crawled["result"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{len(CASES)} due" in result.stdout
    assert "fetched" in result.stdout


def test_crawl_keeps_scrapy_s_log_in_a_file_not_on_the_terminal(crawled: dict[str, Any]) -> None:
    # A user running `tracker crawl` by hand wants the summary, not Scrapy's start-up dump.
    result = crawled["result"]
    logs = list((crawled["db"].parent / "logs").glob("crawl-*.log"))
    assert len(logs) == 1 and "Enabled downloader middlewares" in logs[0].read_text(errors="replace")
    assert "Enabled downloader middlewares" not in result.stderr + result.stdout
    assert f"crawl log: {logs[0]}" in result.stderr


def test_good_pages_get_text_metadata_and_warc(crawled: dict[str, Any]) -> None:
    row = article(crawled["db"], "/news/ok-1.html")
    assert row["status"] == "fetched"
    assert row["title"].startswith("Supermarket chain pauses facial recognition")
    assert "facial recognition" in row["text"].lower() and len(row["text"]) > 500
    assert row["published"] == "2025-01-06T08:30:00Z" and row["published_source"] == "jsonld"
    assert row["version"] == 1 and row["etag"] is None or isinstance(row["etag"], str)
    fetch = query(crawled["db"], "SELECT status, bytes, elapsed_ms, warc_file FROM fetches WHERE url LIKE ?",
                  ("%/news/ok-1.html",))[0]
    assert fetch[0] == 200 and fetch[1] > 1000 and fetch[2] is not None
    assert (crawled["db"].parent / "warc" / fetch[3]).is_file()


def test_user_agent_is_descriptive(crawled: dict[str, Any]) -> None:
    agent = crawled["headers"]["User-Agent"]
    assert agent.startswith("privacy-news-tracker/") and "+http" in agent


def test_errors_are_recorded_with_their_reason(crawled: dict[str, Any]) -> None:
    db = crawled["db"]
    assert outcomes(db, "/gone/404.html") == ["gone"] and article(db, "/gone/404.html")["status"] == "gone"
    assert outcomes(db, "/gone/410.html") == ["gone"]
    assert outcomes(db, "/loop/a") == ["network_error"]
    assert outcomes(db, "/broken/drop.html") == ["network_error"]
    assert outcomes(db, "/huge/page.html") == ["too_large"]
    assert outcomes(db, "/bomb/page.html") == ["too_large"]
    assert outcomes(db, "/files/report.pdf") == ["not_html"]
    assert article(db, "/files/report.pdf")["status"] == "skipped"
    failed = article(db, "/loop/a")
    assert failed["status"] == "failed" and failed["fail_count"] == 1
    assert failed["next_fetch_at"] > failed["last_fetch_at"]  # backs off, retried later


def test_retries_recover_from_500_and_429(crawled: dict[str, Any]) -> None:
    db = crawled["db"]
    assert outcomes(db, "/flaky/500-then-200.html") == ["ok"]
    assert outcomes(db, "/flaky/429.html") == ["ok"]
    assert crawled["hits"]["/flaky/429.html"] >= 2


def test_robots_txt_is_obeyed(crawled: dict[str, Any]) -> None:
    assert outcomes(crawled["db"], "/private/page.html") == ["robots"]
    assert article(crawled["db"], "/private/page.html")["status"] == "blocked"
    assert crawled["hits"]["/private/page.html"] == 0
    assert crawled["hits"]["/robots.txt"] >= 1


def test_unsafe_redirects_are_refused(crawled: dict[str, Any]) -> None:
    db = crawled["db"]
    for path in ("/redirect/metadata", "/redirect/private-ip", "/redirect/ftp"):
        assert outcomes(db, path) == ["refused"], path
        assert article(db, path)["status"] == "refused"
    message = query(db, "SELECT error_message FROM fetches WHERE url LIKE '%/redirect/metadata'")[0][0]
    assert "169.254.169.254" in message and "non-public" in message


def test_redirect_target_becomes_an_alias(crawled: dict[str, Any]) -> None:
    db = crawled["db"]
    row = article(db, "/redirect/a")
    assert row["status"] == "fetched" and "cookie" in row["text"].lower()
    kinds = dict(query(db, "SELECT url, kind FROM urls WHERE article_id = ?", (row["id"],)))
    assert any(u.endswith("/news/redirected.html") and k == "redirect" for u, k in kinds.items())


def test_charsets_are_decoded(crawled: dict[str, Any]) -> None:
    for path in ("/charset/lying.html", "/charset/missing.html"):
        row = article(crawled["db"], path)
        assert row["status"] == "fetched", path
        assert "Café" in row["text"] + row["title"], path
        assert "\ufffd" not in row["text"], path


def test_amp_page_and_its_canonical_are_one_article(crawled: dict[str, Any]) -> None:
    db = crawled["db"]
    amp, main = article(db, "/amp/story.html"), article(db, "/news/story.html")
    assert amp["id"] == main["id"]
    assert main["url"].endswith("/news/story.html") and main["status"] == "fetched"
    merges = query(db, "SELECT reason FROM article_merges")
    assert merges and "canonical" in merges[0][0]


def test_same_page_under_two_urls_keeps_two_articles_with_one_text(crawled: dict[str, Any]) -> None:
    one, two = article(crawled["db"], "/dup/one.html"), article(crawled["db"], "/dup/two.html")
    assert one["id"] != two["id"] and one["content_hash"] == two["content_hash"]


def test_warc_replay_gives_the_same_rows(crawled: dict[str, Any], tmp_path: Path) -> None:
    replay_db = tmp_path / "replay.db"
    import_urls(tmp_path, replay_db, crawled["site"], CASES)
    warcs = sorted(str(p) for p in (crawled["db"].parent / "warc").glob("*.warc.gz"))
    result = tracker(tmp_path, "crawl", "--replay", *warcs, "--db", str(replay_db))
    assert result.returncode == 0, result.stderr
    sql = ("SELECT url, title, text, published, author, content_hash FROM articles "
           "WHERE status = 'fetched' ORDER BY url")
    assert query(replay_db, sql) == query(crawled["db"], sql)
    assert len(query(replay_db, sql)) >= 10


def test_import_warc_creates_articles(crawled: dict[str, Any], tmp_path: Path) -> None:
    new_db = tmp_path / "imported.db"
    warcs = sorted(str(p) for p in (crawled["db"].parent / "warc").glob("*.warc.gz"))
    result = tracker(tmp_path, "import-warc", *warcs, "--db", str(new_db))
    assert result.returncode == 0, result.stderr
    titles = [r[0] for r in query(new_db, "SELECT title FROM articles WHERE status = 'fetched'")]
    assert any(t and t.startswith("Supermarket chain pauses") for t in titles)


def test_refuses_loopback_unless_allowed(newssite: Any, tmp_path: Path) -> None:
    newssite.reset()
    db = tmp_path / "t.db"
    import_urls(tmp_path, db, newssite, ["/news/ok-3.html"])
    result = tracker(tmp_path, "crawl", "--db", str(db), "-s", "DOWNLOAD_DELAY=0")
    assert result.returncode == 0, result.stderr
    assert outcomes(db, "/news/ok-3.html") == ["refused"]
    assert newssite.hits("/news/ok-3.html") == 0 and newssite.hits("/robots.txt") == 0


def test_slow_response_times_out(newssite: Any, tmp_path: Path) -> None:
    newssite.reset()
    newssite.set_crawl_delay(0)
    db = tmp_path / "t.db"
    import_urls(tmp_path, db, newssite, ["/slow/page.html?delay=5"])
    result = tracker(tmp_path, "crawl", "--db", str(db), *FAST, "-s", "DOWNLOAD_TIMEOUT=1",
                     "-s", "RETRY_TIMES=0")
    assert result.returncode == 0, result.stderr
    assert outcomes(db, "/slow/page.html?delay=5") == ["timeout"]


def test_recrawl_is_conditional_and_keeps_versions(newssite: Any, tmp_path: Path) -> None:
    newssite.reset()
    newssite.set_crawl_delay(0)
    db = tmp_path / "t.db"
    import_urls(tmp_path, db, newssite, ["/cond/etag.html", "/changing/page.html"])
    assert tracker(tmp_path, "crawl", "--db", str(db), *FAST).returncode == 0
    first_text = article(db, "/changing/page.html")["text"]
    newssite.bump("/changing/page.html")
    second = tracker(tmp_path, "crawl", "--db", str(db), "--recrawl-after", "0s", *FAST)
    assert second.returncode == 0, second.stderr
    assert outcomes(db, "/cond/etag.html") == ["ok", "not_modified"]
    assert newssite.last_headers("/cond/etag.html")["If-None-Match"]
    changed = article(db, "/changing/page.html")
    assert changed["version"] == 2 and changed["text"] != first_text
    versions = query(db, "SELECT version, text FROM article_versions WHERE article_id = ? ORDER BY version",
                     (changed["id"],))
    assert [v for v, _ in versions] == [1, 2] and versions[0][1] == first_text


def test_fallback_to_an_alias_when_the_main_url_fails(newssite: Any, tmp_path: Path, write_seed: Any) -> None:
    newssite.reset()
    newssite.set_crawl_delay(0)
    db = tmp_path / "t.db"
    seed = write_seed("s.md", f"""
        ---
        title: "Doorbell footage settlement"
        publishedDateTime: 2025-03-18T17:05:00Z
        webUrl: "{newssite.url_for('/gone/404.html')}"
        ampWebUrl: "{newssite.url_for('/amp/story.html')}"
        ---
        """)
    assert tracker(tmp_path, "seeds", "load", str(seed), "--db", str(db)).returncode == 0
    assert tracker(tmp_path, "crawl", "--db", str(db), *FAST).returncode == 0
    row = article(db, "/gone/404.html")
    assert outcomes(db, "/gone/404.html") == ["gone"] and outcomes(db, "/amp/story.html") == ["ok"]
    assert row["status"] == "fetched" and "warrant" in row["text"]


def test_crawl_delay_from_robots_is_honoured(newssite: Any, tmp_path: Path) -> None:
    newssite.reset()
    newssite.set_crawl_delay(1)
    db = tmp_path / "t.db"
    paths = ["/gen/1.html", "/gen/2.html", "/gen/3.html"]
    import_urls(tmp_path, db, newssite, paths)
    settings = ["DOWNLOAD_DELAY=0.1" if s == "DOWNLOAD_DELAY=0" else s for s in FAST]
    assert tracker(tmp_path, "crawl", "--db", str(db), *settings).returncode == 0
    times = sorted(e["time"] for e in newssite.log() if e["path"].startswith("/gen/"))
    assert len(times) == 3
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.9, gaps
    newssite.set_crawl_delay(0)


def test_failed_revisit_keeps_earlier_text(db: Any) -> None:
    from tracker.urls import make_alias

    alias = make_alias("https://example.org/news/a.html")
    from tracker.store.articles import resolve_article

    article_id, _ = resolve_article(db, [alias], alias.url, {"title": "A"}, "seed")
    policy = RecrawlPolicy()

    class Extracted:  # the fields save_page reads from an Extraction
        text, title, author, published, published_source = "Body text " * 50, "A", None, None, None
        updated = updated_source = language = image = description = site_name = canonical_url = None

    ok = PageResult(url=alias.url, requested_at="2026-01-01T00:00:00Z", article_id=article_id,
                    status=200, final_url=alias.url, body=b"<html>")
    save_page(db, ok, Extracted(), policy)
    failed = PageResult(url=alias.url, requested_at="2026-01-02T00:00:00Z", article_id=article_id,
                        outcome="network_error", error_class="ConnectionLost", error_message="lost")
    save_page(db, failed, None, policy)
    row = db.conn.execute("SELECT status, text, fail_count, last_error FROM articles WHERE id = ?",
                          [article_id]).fetchone()
    assert row[0] == "fetched" and row[1].startswith("Body text") and row[2] == 1
    assert "network_error" in row[3]
    assert db.conn.execute("SELECT COUNT(*) FROM fetches").fetchone()[0] == 2


def test_policy_and_durations() -> None:
    now = datetime(2026, 1, 10, tzinfo=timezone.utc)
    policy = RecrawlPolicy()
    assert policy.next_visit(now, now - timedelta(hours=2)) - now == timedelta(hours=3)
    assert policy.next_visit(now, now - timedelta(days=3)) - now == timedelta(days=1)
    assert policy.next_visit(now, None) - now == timedelta(days=30)
    assert policy.after_failure(now, 1) - now == timedelta(hours=1)
    assert policy.after_failure(now, 3) - now == timedelta(hours=4)
    assert policy.after_failure(now, 30) - now == timedelta(days=7)
    assert policy.after_failure(now, 1, retry_after=7200) - now == timedelta(hours=2)
    assert parse_duration("90m") == timedelta(minutes=90) and parse_duration("2d") == timedelta(days=2)
    with pytest.raises(ConfigError, match="not a duration"):
        parse_duration("soon")


def test_bad_recrawl_duration_is_a_clear_error(tmp_path: Path) -> None:
    result = tracker(tmp_path, "crawl", "--db", str(tmp_path / "t.db"), "--recrawl-after", "soon")
    assert result.returncode != 0
    assert "not a duration: 'soon'" in result.stderr and "Traceback" not in result.stderr


def test_host_delay_holds_across_runs(newssite: Any, tmp_path: Path) -> None:
    newssite.reset()
    newssite.set_crawl_delay(4)
    db = tmp_path / "t.db"
    settings = ["DOWNLOAD_DELAY=0.1" if s == "DOWNLOAD_DELAY=0" else s for s in FAST]
    import_urls(tmp_path, db, newssite, ["/gen/201.html"])
    assert tracker(tmp_path, "crawl", "--db", str(db), *settings).returncode == 0
    import_urls(tmp_path, db, newssite, ["/gen/202.html"])
    assert tracker(tmp_path, "crawl", "--db", str(db), *settings).returncode == 0
    newssite.set_crawl_delay(0)
    times = {e["path"]: e["time"] for e in newssite.log() if e["path"].startswith("/gen/")}
    assert times["/gen/202.html"] - times["/gen/201.html"] >= 3.9
    host = query(db, "SELECT delay FROM hosts WHERE host = '127.0.0.1'")
    assert host and host[0][0] >= 4


def test_tls_certificates_are_verified(tmp_path: Path) -> None:
    """A self-signed HTTPS server on 127.0.0.1: the crawl refuses its certificate."""
    import http.server
    import shutil
    import ssl
    import threading

    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available to make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True,
                   capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        db = tmp_path / "t.db"
        url = f"https://127.0.0.1:{server.server_address[1]}/index.html"
        jsonl = tmp_path / "u.jsonl"
        jsonl.write_text(json.dumps({"url": url}) + "\n")
        assert tracker(tmp_path, "import", str(jsonl), "--db", str(db)).returncode == 0
        assert tracker(tmp_path, "crawl", "--db", str(db), *FAST, "-s", "RETRY_TIMES=0").returncode == 0
    finally:
        server.shutdown()
    row = query(db, "SELECT outcome, error_class, error_message FROM fetches")
    assert len(row) == 1 and row[0][0] == "network_error"
    assert "certificate" in (row[0][2] or "").lower() or "ssl" in (row[0][1] or "").lower(), row


def test_same_page_under_two_urls_is_marked_duplicate_by_cluster(crawled: dict[str, Any], tmp_path: Path) -> None:
    db = tmp_path / "copy.db"
    source = open_db(crawled["db"])
    source.conn.execute("VACUUM INTO ?", [str(db)])  # leave the shared crawl's rows as they were
    source.close()
    assert tracker(tmp_path, "cluster", "--db", str(db)).returncode == 0
    one, two = article(db, "/dup/one.html"), article(db, "/dup/two.html")
    assert {one["duplicate_of"], two["duplicate_of"]} == {None, min(one["id"], two["id"])}
    assert one["cluster_id"] == two["cluster_id"] is not None


def test_warc_files_rotate_by_size_and_read_back(tmp_path: Path) -> None:
    from tracker.crawl.warc import WarcArchive, iter_warc_pages

    archive = WarcArchive(tmp_path / "warc", max_bytes=8_000)
    body = ("<html><body>" + os.urandom(6000).hex() + "</body></html>").encode()  # incompressible
    for n in range(6):
        page = PageResult(url=f"https://example.org/{n}", requested_at="2026-01-01T00:00:00Z",
                          status=200, final_url=f"https://example.org/{n}",
                          headers={"content-type": "text/html", "content-encoding": "gzip"},
                          body=body + str(n).encode(), redirects=[f"https://example.org/r{n}"])
        archive.write(page, {"User-Agent": "test"})
    archive.close()
    files = sorted((tmp_path / "warc").glob("*.warc.gz"))
    assert len(files) >= 3
    pages = [p for f in files for p in iter_warc_pages(f)]
    assert [p.url for p in pages] == [f"https://example.org/{n}" for n in range(6)]
    assert pages[3].body.endswith(b"3") and pages[3].redirects == ["https://example.org/r3"]
    assert "content-encoding" not in pages[3].headers  # the body kept is the decoded one


# --- the full-text index stays in step with articles (its triggers fire only on indexed columns) ---

def fts_in_sync(db: Any) -> bool:
    """FTS5's own check that the external-content index matches the articles table exactly."""
    import sqlite3

    try:
        db.conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")
    except sqlite3.DatabaseError:
        return False
    return True


def search(db: Any, term: str) -> list[int]:
    return [r[0] for r in db.conn.execute(
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid", [term])]


def test_fts_follows_text_edits_and_ignores_other_columns(db: Any) -> None:
    ids = [db.conn.execute("INSERT INTO articles (url, status, first_seen, title, text) VALUES "
                           "(?, 'new', 'now', ?, ?)", [f"https://example.org/{n}", f"title {n}",
                                                       f"regulator fines number{n}"]).lastrowid
           for n in range(3)]
    before = db.conn.total_changes
    db.conn.execute("UPDATE articles SET status = 'fetched', fetch_count = 1, etag = 'x' WHERE id = ?",
                    [ids[0]])
    assert db.conn.total_changes - before == 1  # the row only: no full-text re-indexing
    db.conn.execute("UPDATE articles SET text = 'parliament approves', title = 'new' WHERE id = ?", [ids[0]])
    db.conn.execute("UPDATE articles SET excerpt = 'summary of fines' WHERE id = ?", [ids[1]])
    db.conn.execute("DELETE FROM articles WHERE id = ?", [ids[2]])
    assert fts_in_sync(db)
    assert search(db, "regulator") == [ids[1]]
    assert search(db, "parliament") == [ids[0]] and search(db, "summary") == [ids[1]]


def test_fts_stays_in_sync_through_crawl_saves_and_merges(db: Any) -> None:
    from tracker.store.articles import merge_articles, resolve_article
    from tracker.urls import make_alias

    class Extracted:
        text, title, author, published, published_source = "Privacy regulator fines " * 20, "Fine", None, None, None
        updated = updated_source = language = image = description = site_name = canonical_url = None

    ids = []
    for n in range(2):
        alias = make_alias(f"https://example.org/news/{n}.html")
        article_id, _ = resolve_article(db, [alias], alias.url, {"title": f"seeded {n}"}, "seed")
        ids.append(article_id)
        page = PageResult(url=alias.url, requested_at="2026-01-01T00:00:00Z", article_id=article_id,
                          status=200, final_url=alias.url, body=b"<html>")
        save_page(db, page, Extracted() if n == 0 else None, RecrawlPolicy())
    assert fts_in_sync(db) and search(db, "regulator") == [ids[0]]
    merge_articles(db, ids[1], ids[0], reason="test")  # the kept one takes the fetched text
    assert fts_in_sync(db) and search(db, "regulator") == [ids[1]]


def test_old_fts_triggers_are_migrated_and_missing_ones_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = open_db(path)
    db["articles"].disable_fts()  # as sqlite-utils made it before: update trigger on every column
    db["articles"].enable_fts(["title", "excerpt", "text"], create_triggers=True, tokenize="porter")
    db.conn.execute("INSERT INTO articles (url, status, first_seen, text) VALUES ('u1', 'new', 'now', 'alpha')")
    db.conn.close()
    db = open_db(path)
    au = db.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'articles_au'").fetchone()[0]
    assert 'AFTER UPDATE OF "id", "title", "excerpt", "text"' in au
    assert fts_in_sync(db) and search(db, "alpha") == [1]
    db.conn.execute("DROP TRIGGER articles_ai")  # a lost trigger: rows added meanwhile are unindexed
    db.conn.execute("INSERT INTO articles (url, status, first_seen, text) VALUES ('u2', 'new', 'now', 'beta')")
    db.conn.close()
    db = open_db(path)
    assert fts_in_sync(db) and search(db, "beta") == [2]
    schema = db.conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    db.conn.close()
    db = open_db(path)  # idempotent: a second open changes nothing
    assert db.conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema
    db.conn.close()


def test_address_check_makes_one_dns_lookup_per_host_failed_or_not(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import ipaddress

    from scrapy import Request
    from scrapy.exceptions import CannotResolveHostError
    from scrapy.http import HtmlResponse

    from spiders import middlewares

    calls: list[str] = []

    async def fake_resolve(host: str, port: int | None) -> list[str]:
        calls.append(host)
        await asyncio.sleep(0.01)
        return {"news.example": ["93.184.215.14"], "intranet.example": ["10.0.0.5"]}.get(host, [])

    monkeypatch.setattr(middlewares, "_resolve", fake_resolve)
    mw = middlewares.PublicAddressMiddleware(False, [], cache_seconds=60)

    async def check(url: str) -> None:
        await mw.process_request(Request(url))

    async def scenario() -> None:
        for n in range(3):
            await check(f"https://news.example/{n}.html")
        for _ in range(2):
            with pytest.raises(middlewares.RefusedRequest):
                await check("https://intranet.example/")
            # failed here, as the DNS error it is (the download would only ask again)
            with pytest.raises(CannotResolveHostError, match="nxdomain.example"):
                await check("https://nxdomain.example/")

    async def together() -> None:  # requests arriving together share one lookup
        results = await asyncio.gather(*(check(f"https://slow.example/{n}") for n in range(5)),
                                       return_exceptions=True)
        assert all(isinstance(r, CannotResolveHostError) for r in results)

    asyncio.run(scenario())
    # one lookup a host, a failed one too (in a real outage each may wait out a resolver timeout)
    assert calls == ["news.example", "intranet.example", "nxdomain.example"]
    asyncio.run(together())
    assert calls[3:] == ["slow.example"]
    # a cached answer does not cover the address the response really came from
    response = HtmlResponse("https://news.example/1.html", body=b"",
                            ip_address=ipaddress.ip_address("127.0.0.1"))
    with pytest.raises(middlewares.RefusedRequest):
        mw.process_response(Request(response.url), response)


def test_worker_server_started_early_serves_later_pools() -> None:
    from tracker.extract.pool import ExtractorPool, start_worker_server

    start_worker_server()
    start_worker_server()  # idempotent
    page = (b"<html><body><article><p>" + b"Regulators fined the company. " * 30 + b"</p></article></body></html>",
            "https://example.org/a.html", "text/html")
    with ExtractorPool(workers=1) as pool:
        (result,) = list(pool.map([page]))
    assert "Regulators fined" in result.text
