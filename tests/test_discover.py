"""Discovery: sources files, feed and sitemap parsing, saving polls, and `tracker run` polling the
local news site's feeds, news sitemaps and a regulator's listing page (hostile ones included)."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import query
from tracker.crawl.policy import RecrawlPolicy
from tracker.dates import parse_iso
from tracker.discover.feeds import parse_feed
from tracker.discover.items import FoundItem, PollResult, settle_items
from tracker.discover.poll import load_due_jobs, save_poll_result
from tracker.discover.sources import add_source, load_sources
from tracker.discover.poll_stage import sync_sources
from tracker.errors import SourceError
from tracker.store import Database
from tracker.store import articles
from tracker.urls import make_alias

FAST = ["-s", "TRACKER_ALLOWED_NETWORKS=127.0.0.0/8", "-s", "DOWNLOAD_DELAY=0",
        "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "TRACKER_RETRY_BACKOFF_BASE=0.05", "-s", "RETRY_TIMES=0",
        "-s", "DOWNLOAD_TIMEOUT=10", "-s", "TRACKER_EXTRACT_WORKERS=1", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"]


# --- sources files ---------------------------------------------------------------------------------

def test_sources_file_problems_name_file_and_line(tmp_path: Path) -> None:
    file = tmp_path / "sources.yml"
    file.write_text(
        "sources:\n"
        "  - url: https://www.edpb.europa.eu/feed/news_en\n"       # 2: good
        "    kind: feed\n"
        "    authority: true\n"
        "  - url: https://example.org/news/\n"                     # 5: listing without a pattern
        "    kind: listing\n"
        "  - url: https://example.org/feed\n"
        "    kind: podcast\n"                                      # 8: unknown kind
        "  - url: https://example.org/sitemap.xml\n"
        "    kind: sitemap\n"
        "    interval: 30s\n"                                      # 11: too often
        "  - url: https://www.edpb.europa.eu/feed/news_en\n"       # 12: named twice
        "    kind: feed\n"
        "  - url: javascript:alert(1)\n"                           # 14: not a URL
        "    kind: feed\n"
        "  - url: https://example.org/x\n"
        "    kind: feed\n"
        "    authorty: true\n",                                    # 18: misspelt key
        encoding="utf-8")
    check = load_sources([file])
    assert [s.url for s in check.sources] == ["https://www.edpb.europa.eu/feed/news_en"]
    assert check.sources[0].authority and check.sources[0].interval == 6 * 3600
    lines = sorted(e.split(":")[1] for e in check.errors)
    assert lines == ["11", "12", "14", "18", "5", "8"], check.errors
    assert all(e.startswith(f"{file}:") for e in check.errors)
    assert "link_pattern: required" in next(e for e in check.errors if e.startswith(f"{file}:5:"))


def test_broken_yaml_is_one_error_with_its_line(tmp_path: Path) -> None:
    file = tmp_path / "bad.yml"
    file.write_text("sources:\n  - url: https://a.example/feed\n    kind: [feed\n", encoding="utf-8")
    check = load_sources([tmp_path])
    assert check.sources == [] and len(check.errors) == 1
    assert check.errors[0].startswith(f"{file}:") and "broken YAML" in check.errors[0]


def test_add_appends_a_valid_entry_and_refuses_a_repeat(tmp_path: Path) -> None:
    file = tmp_path / "sources" / "added.yml"
    add_source(file, {"url": "https://ico.org.uk/about-the-ico/media-centre/news-and-blogs/", "kind": "listing",
                      "link_pattern": r"/news-and-blogs/\d{4}/", "authority": True, "interval": "2h"})
    add_source(file, {"url": "https://www.cnil.fr/fr/rss.xml", "kind": "feed", "language": "fr"})
    check = load_sources([file])
    assert check.errors == []
    assert [(s.kind, s.authority, s.interval) for s in check.sources] == [("listing", True, 7200.0),
                                                                         ("feed", False, 6 * 3600.0)]
    with pytest.raises(SourceError, match="already a source"):
        add_source(file, {"url": "https://www.cnil.fr/fr/rss.xml", "kind": "feed"})
    with pytest.raises(SourceError, match="kind"):
        add_source(file, {"url": "https://a.example/", "kind": "blog"})
    assert len(load_sources([file]).sources) == 2


def test_the_starter_list_is_valid() -> None:
    root = Path(__file__).resolve().parent.parent / "sources"
    check = load_sources([root])
    assert check.errors == []
    authorities = {s.url for s in check.sources if s.authority}
    assert len(authorities) >= 9 and len(check.sources) > len(authorities)


# --- parsing ---------------------------------------------------------------------------------------

def test_feed_parsing_refuses_what_is_not_a_feed() -> None:
    with pytest.raises(SourceError, match="not a feed .*text/html"):
        parse_feed(b"<!DOCTYPE html><html><body><a href='/x'>x</a></body></html>", "http://h.example/f",
                   "text/html; charset=utf-8")
    laughs = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
              b'<rss version="2.0"><channel><title>&b;</title></channel></rss>')
    with pytest.raises(SourceError, match="entit"):
        parse_feed(laughs, "http://h.example/f")


def test_a_feed_of_many_items_is_read_up_to_the_cap() -> None:
    items = b"".join(b"<item><link>/a/%d</link></item>" % n for n in range(5000))
    found, problems = parse_feed(b'<rss version="2.0"><channel>' + items + b"</channel></rss>",
                                 "http://h.example/feed", max_items=100)
    assert [i.url for i in found[:2]] == ["http://h.example/a/0", "http://h.example/a/1"]
    assert len(found) == 100 and problems == ["5000 items, only the first 100 read (TRACKER_SOURCE_MAX_ITEMS)"]


def test_settle_drops_future_dates_and_repeats_and_caps() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    items = [FoundItem("http://a/1", None, "2099-01-01T00:00:00Z"), FoundItem("http://a/2", None, None),
             FoundItem("http://a/1", None, "2099-01-01T00:00:00Z"),
             FoundItem("http://a/3", None, "2025-12-31T00:00:00Z"),
             FoundItem("http://a/4", None, "2025-12-30T00:00:00Z")]
    kept, problems = settle_items(items, 3, now)
    assert [(i.url, i.published) for i in kept] == [("http://a/1", None), ("http://a/2", None),
                                                    ("http://a/3", "2025-12-31T00:00:00Z")]
    assert problems[0].startswith("4 items, only the first 3") and "in the future" in problems[1]


# --- saving polls ----------------------------------------------------------------------------------

def _source(db: Database, tmp_path: Path, url: str, authority: bool = False) -> int:
    file = tmp_path / f"s{abs(hash(url))}.yml"
    file.write_text(f"sources:\n  - url: {url}\n    kind: feed\n    interval: 1h\n"
                    f"    authority: {'true' if authority else 'false'}\n", encoding="utf-8")
    sync_sources(db, [file])
    return next(j.source_id for j in load_due_jobs(db, everything=True) if j.url == url)


def test_items_are_deduplicated_against_every_alias(db: Database, tmp_path: Path) -> None:
    known = make_alias("https://news.example/story?id=7", "web")
    amp = make_alias("https://news.example/amp/story-7", "amp")
    article_id, _ = articles.resolve_article(db, [known, amp], known.url, {}, "seed")
    source = _source(db, tmp_path, "https://dpa.example/feed", authority=True)
    result = PollResult(source, "https://dpa.example/feed", "2026-01-01T00:00:00Z", items=[
        FoundItem("https://news.example/story?id=7&utm_source=rss"), FoundItem("https://news.example/amp/story-7"),
        FoundItem("https://dpa.example/press/1", "Fine", "2025-12-01T10:00:00Z"), FoundItem("ftp://x/y")])
    saved = save_poll_result(db, result, RecrawlPolicy(), run_id=None)
    assert (saved.found, saved.new) == (4, 1)
    rows = db.execute("SELECT url, primary_source, status, title, meta_source FROM articles ORDER BY id").fetchall()
    assert rows == [(known.url, 1, "new", None, "seed"),
                    ("https://dpa.example/press/1", 1, "new", "Fine", "discovery")]
    assert db.execute("SELECT COUNT(*) FROM source_articles WHERE source_id = ?", [source]).fetchone()[0] == 2
    assert article_id in {r[0] for r in db.execute("SELECT article_id FROM source_articles")}
    poll = db.execute("SELECT outcome, items, new, error FROM source_polls").fetchone()
    assert poll == ("ok", 4, 1, "1 item URLs not usable (skipped)")


def test_a_source_that_keeps_failing_is_backed_off(db: Database, tmp_path: Path) -> None:
    source = _source(db, tmp_path, "https://down.example/feed")
    waits = []
    for _ in range(4):
        before = datetime.now(timezone.utc)
        save_poll_result(db, PollResult(source, "https://down.example/feed", "x", outcome="timeout",
                                        problems=["timed out"]), RecrawlPolicy(failure_base=timedelta(hours=1)))
        row = db.execute("SELECT fail_count, next_poll_at, last_error FROM sources WHERE id = ?", [source]).fetchone()
        waits.append(((parse_iso(row[1]) or before) - before).total_seconds() / 3600)
    assert row[0] == 4 and row[2] == "timed out"
    assert [round(w) for w in waits] == [1, 2, 4, 8]  # never sooner than its interval (1h)
    assert load_due_jobs(db) == []
    save_poll_result(db, PollResult(source, "https://down.example/feed", "x", etag='"e1"'), RecrawlPolicy())
    assert db.execute("SELECT fail_count, etag FROM sources").fetchone() == (0, '"e1"')


# --- the run, against the local news site ----------------------------------------------------------

def _sources_file(folder: Path, site: Any) -> Path:
    entries = [("feed", "/feeds/rss.xml", ""), ("feed", "/feeds/atom.xml", ""),
               ("sitemap", "/sitemaps/index.xml", ""),
               ("listing", "/regulator/news/",
                "    link_pattern: '/regulator/press/\\d+\\.html$'\n    authority: true\n"),
               ("feed", "/feeds/malformed.xml", ""), ("feed", "/feeds/laughs.xml", ""),
               ("feed", "/feeds/huge.xml", ""), ("feed", "/feeds/many.xml", ""),
               ("feed", "/feeds/html.xml", ""), ("feed", "/feeds/dates.xml", ""),
               ("feed", "/gone/404.html", ""), ("sitemap", "/news/ok-1.html", "")]
    folder.mkdir()
    file = folder / "local.yml"
    file.write_text("sources:\n" + "".join(f"  - url: {site.url_for(path)}\n    kind: {kind}\n{extra}"
                                           for kind, path, extra in entries), encoding="utf-8")
    return file


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracker", "run", *args, *FAST], cwd=tmp_path, text=True,
                          capture_output=True, timeout=300, check=False)


def _polls(db: Path) -> dict[str, tuple[Any, ...]]:
    rows = query(db, "SELECT p.url, p.outcome, p.items, p.new, p.error FROM source_polls p "
                     "WHERE p.run_id = (SELECT MAX(run_id) FROM source_polls) ORDER BY p.id")
    return {r[0].split("/", 3)[3]: r[1:] for r in rows}


def test_run_polls_sources_then_crawls_tags_and_clusters_what_they_found(newssite: Any, tmp_path: Path) -> None:
    newssite.reset()
    newssite.set_crawl_delay(0)
    db = tmp_path / "data" / "tracker.db"
    _sources_file(tmp_path / "sources", newssite)  # found as ./sources, like ./seeds
    first = _run(tmp_path, "--db", str(db), "-s", "TRACKER_SOURCE_MAX_ITEMS=20")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "discovery: 12 of 12 due sources polled" in first.stderr, first.stderr[-3000:]
    polls = _polls(db)
    assert polls["feeds/rss.xml"][:2] == ("ok", 3)
    assert polls["feeds/atom.xml"][:2] == ("ok", 2)
    assert polls["sitemaps/news.xml"][:2] == ("ok", 2)
    assert "already read in this poll" in polls["sitemaps/index.xml"][3]
    assert polls["regulator/news/"][:3] == ("ok", 2, 2)  # the press releases, not the navigation
    # ok-1..6, the story, the redirected page, 2 press releases, 20 of /gen/: each new once, whichever
    # source listed it first (polls run in parallel)
    assert sum(p[2] for p in polls.values()) == 30
    assert polls["feeds/malformed.xml"][0] == "ok" and "malformed XML" in polls["feeds/malformed.xml"][3]
    assert polls["feeds/laughs.xml"][0] == "parse_error" and "entit" in polls["feeds/laughs.xml"][3]
    assert polls["feeds/huge.xml"][0] == "too_large"
    assert polls["feeds/many.xml"][:2] == ("ok", 20) and "100000 items" in polls["feeds/many.xml"][3]
    assert polls["feeds/html.xml"][0] == "parse_error" and "not a feed" in polls["feeds/html.xml"][3]
    assert "in the future" in polls["feeds/dates.xml"][3]
    assert polls["gone/404.html"][0] == "gone" and polls["news/ok-1.html"][0] == "parse_error"
    assert "dated in the future" in first.stderr and "Source: source " in first.stderr

    # the authority's press release was crawled, tagged, clustered, and marked a primary source
    press = query(db, "SELECT a.status, a.primary_source, a.cluster_id, a.published FROM articles a "
                      "WHERE a.url LIKE '%/regulator/press/1.html'")
    assert press and press[0][:2] == ("fetched", 1) and press[0][2] is not None
    assert press[0][3] != "2099-01-01T09:00:00Z"
    assert query(db, "SELECT tag FROM article_tags t JOIN articles a ON a.id = t.article_id "
                     "WHERE a.url LIKE '%/regulator/press/1.html' AND t.tag = 'ico'") == [("ico",)]
    future = query(db, "SELECT published FROM articles WHERE url LIKE '%/news/ok-4.html'")
    assert future and future[0][0] != "2099-01-01T09:00:00Z"
    report = dict(query(db, "SELECT url, stories_fed FROM source_report WHERE url LIKE '%/regulator/news/'"))
    assert list(report.values()) == [2]
    primary = query(db, "SELECT story_id, url FROM primary_sources ORDER BY url")
    assert [u.rsplit("/", 1)[1] for _, u in primary] == ["1.html", "2.html"] and primary[0][0] == press[0][2]

    # the next run: the RSS feed asked conditionally and answered 304; a new item then comes in
    second = _run(tmp_path, "--db", str(db), "-s", "TRACKER_SOURCES_ALL=True")
    assert second.returncode == 0, second.stderr[-3000:]
    assert _polls(db)["feeds/rss.xml"][:3] == ("not_modified", 0, 0)
    assert (newssite.last_headers("/feeds/rss.xml") or {}).get("If-None-Match") == '"rss-v1"'
    newssite.bump("/feeds/rss.xml")
    third = _run(tmp_path, "--db", str(db), "-s", "TRACKER_SOURCES_ALL=True")
    assert third.returncode == 0, third.stderr[-3000:]
    assert _polls(db)["feeds/rss.xml"][:3] == ("ok", 4, 0)  # ok-4 came first from the dates feed
    listed = query(db, "SELECT COUNT(*) FROM source_articles sa JOIN sources s ON s.id = sa.source_id "
                       "WHERE s.url LIKE '%/feeds/rss.xml'")
    assert listed == [(4,)]


# --- the beat filter -------------------------------------------------------------------------------

def test_discovered_articles_off_the_beat_are_kept_and_left_off_the_home_page(tmp_path: Path) -> None:
    from tests.test_serve import get, serving
    from tracker.discover.poll_stage import mark_beat
    from tracker.seeds.files import load_seeds
    from tracker.store import open_db

    path = tmp_path / "beat.db"
    db = open_db(path)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "c.md").write_text('---\ntitle: "seeded"\nwebUrl: "https://news.example/c"\n---\n', encoding="utf-8")
    assert load_seeds(db, [seeds]).errors == []
    source = _source(db, tmp_path, "https://feed.example/rss")
    save_poll_result(db, PollResult(source, "https://feed.example/rss", "x", items=[
        FoundItem(f"https://news.example/{k}") for k in "abc"]), RecrawlPolicy())
    # the tag stage's and the clustering's results, as they would leave them
    relevance = {"a": 0.1, "b": 0.6, "c": 0.1}
    with db.conn:
        db.conn.executemany("INSERT INTO clusters (id, headline, first_seen, last_seen, n_articles, "
                            "merged_into) VALUES (?, ?, '2025-01-01', '2025-01-01', 1, NULL)",
                            [(n + 1, f"Headline {k} of the story") for n, k in enumerate("abc")])
        for k, r in relevance.items():
            db.conn.execute("UPDATE articles SET relevance = ?, tagged_at = 'x', cluster_id = ? WHERE url = ?",
                            [r, "abc".index(k) + 1, f"https://news.example/{k}"])
    assert mark_beat(db, {}) == 3  # each tagged discovered article gets its flag (1 or 0)
    flags = dict(db.execute("SELECT url, off_beat FROM articles").fetchall())
    assert flags == {"https://news.example/a": 1, "https://news.example/b": 0, "https://news.example/c": 0}
    assert mark_beat(db, {"TRACKER_BEAT_RELEVANCE": "0.05"}) == 1  # back on the beat
    assert mark_beat(db, {}) == 1
    # watches leave the off-beat story out unless they ask for everything (tracker watch add --all)
    from tracker.store.lensfacets import refresh_lens_facets
    from tracker.store.watches import matching_stories
    refresh_lens_facets(db)
    watch = {"fts": "", "query": "", "filters": {}}
    assert matching_stories(db, watch) == [2, 3]
    assert matching_stories(db, {**watch, "filters": {"all": True}}) == [1, 2, 3]
    db.close()
    with serving(path, tmp_path / "serve.log") as base:
        home = get(base, "/")[1]
        everything = get(base, "/", all="1")[1]
        searches = {name: (get(base, f"/beat/{name}", q="")[1], get(base, f"/beat/{name}", q="", all="1")[1])
                    for name in ("search_stories", "search")}
    assert "Headline b" in home and "Headline c" in home and "Headline a" not in home
    assert "Headline a" in everything and 'href="?all=1"' in home
    stories, all_stories = searches["search_stories"]
    assert "Headline b" in stories and "Headline a" not in stories and "Headline a" in all_stories
    articles, all_articles = searches["search"]
    assert "news.example/b" in articles and "news.example/a" not in articles and "news.example/a" in all_articles


# --- the commands ----------------------------------------------------------------------------------

def test_sources_commands(runner: Any, tmp_path: Path) -> None:
    from tracker.cli import main

    file = tmp_path / "sources" / "mine.yml"
    added = runner.invoke(main, ["sources", "add", "https://www.edpb.europa.eu/feed/news_en", "--kind", "feed",
                                 "--file", str(file), "--authority", "--interval", "3h", "--jurisdiction", "eu"])
    assert added.exit_code == 0, added.output
    bad = runner.invoke(main, ["sources", "add", "https://a.example/news", "--kind", "listing", "--file", str(file)])
    assert bad.exit_code == 1 and "link_pattern: required" in bad.output
    checked = runner.invoke(main, ["sources", "check", str(file)])
    assert checked.exit_code == 0 and "1 files, 1 sources, 0 errors" in checked.output
    (tmp_path / "sources" / "broken.yml").write_text("sources:\n  - url: https://b.example/\n    kind: blog\n")
    broken = runner.invoke(main, ["sources", "check", str(tmp_path / "sources")])
    assert broken.exit_code == 1 and f"{tmp_path / 'sources' / 'broken.yml'}:3: kind" in broken.output
    db_path = tmp_path / "t.db"
    from tracker.store import open_db

    db = open_db(db_path)
    sync_sources(db, [file])
    db.close()
    listed = runner.invoke(main, ["sources", "list", "--db", str(db_path)])
    assert listed.exit_code == 0 and "feed     A https://www.edpb.europa.eu/feed/news_en" in listed.output
    assert "last poll never" in listed.output
