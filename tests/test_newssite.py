"""The news-site test server plays its cases as documented (checked with urllib/http.client)."""

from __future__ import annotations

import http.client
import json
import time
import zlib
from urllib.error import HTTPError, URLError
from urllib.parse import urljoin, urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener, urlopen

import pytest

from tests.newssite import SITE_MAP, generated_article, gzip_bomb, render_article
from tests.newssite_fixture import NewsSite  # fixtures newssite, fresh_newssite come from conftest


class NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


NO_REDIRECT = build_opener(NoRedirect)


def fetch(site: NewsSite, path: str, headers: dict[str, str] | None = None,
          timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body without following redirects; HTTP errors are returned too."""
    request = Request(site.url_for(path), headers=headers or {})
    try:
        with NO_REDIRECT.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except HTTPError as error:
        return error.code, dict(error.headers), error.read()


def connection(site: NewsSite, timeout: float = 5) -> http.client.HTTPConnection:
    parts = urlsplit(site.url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)


def test_robots_txt_disallows_private_and_sets_crawl_delay(fresh_newssite: NewsSite) -> None:
    status, headers, body = fetch(fresh_newssite, "/robots.txt")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    star = text.split("User-agent: *", 1)[1]
    assert "Disallow: /private/" in star and "Crawl-delay: 1" in star
    fresh_newssite.set_crawl_delay(0.25)
    assert "Crawl-delay: 0.25" in fetch(fresh_newssite, "/robots.txt")[2].decode()
    fresh_newssite.reset()
    assert "Crawl-delay: 1\n" in fetch(fresh_newssite, "/robots.txt")[2].decode()


def test_article_page_is_realistic(fresh_newssite: NewsSite) -> None:
    status, headers, body = fetch(fresh_newssite, "/news/ok-1.html")
    page = body.decode()
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<title>Supermarket chain pauses facial recognition" in page
    assert '<meta property="og:title"' in page and '"@type": "NewsArticle"' in page
    assert '<link rel="canonical" href="http://' in page and "/news/ok-1.html" in page
    assert page.count("<p>") >= 5


def test_generated_pages_are_distinct(fresh_newssite: NewsSite) -> None:
    first, second = fetch(fresh_newssite, "/gen/1.html"), fetch(fresh_newssite, "/gen/2.html")
    assert first[0] == second[0] == 200
    assert generated_article(1).paragraphs != generated_article(2).paragraphs
    assert b"(report 1)" in first[2] and b"(report 2)" in second[2]


def test_redirect_chain_hops(fresh_newssite: NewsSite) -> None:
    hops = []
    path = "/redirect/a"
    while True:
        status, headers, _ = fetch(fresh_newssite, path)
        if status not in (301, 302, 307, 308):
            break
        hops.append((path, status))
        path = urlsplit(urljoin(fresh_newssite.url_for(path), headers["Location"])).path
    assert hops == [("/redirect/a", 301), ("/redirect/b", 302), ("/redirect/c", 307)]
    assert (path, status) == ("/news/redirected.html", 200)
    with urlopen(fresh_newssite.url_for("/redirect/a"), timeout=5) as response:
        assert urlsplit(response.url).path == "/news/redirected.html"


def test_bad_redirects(fresh_newssite: NewsSite) -> None:
    assert fetch(fresh_newssite, "/loop/a")[1]["Location"] == "/loop/b"
    assert fetch(fresh_newssite, "/loop/b")[1]["Location"] == "/loop/a"
    assert fetch(fresh_newssite, "/redirect/file")[1]["Location"].startswith("file:")
    assert fetch(fresh_newssite, "/redirect/ftp")[1]["Location"].startswith("ftp:")
    location = fetch(fresh_newssite, "/redirect/metadata")[1]["Location"]
    assert urlsplit(location).hostname == "169.254.169.254"


def test_error_statuses(fresh_newssite: NewsSite) -> None:
    assert fetch(fresh_newssite, "/gone/404.html")[0] == 404
    assert fetch(fresh_newssite, "/gone/410.html")[0] == 410
    assert fetch(fresh_newssite, "/flaky/503.html")[0] == 503
    assert fetch(fresh_newssite, "/no/such/page.html")[0] == 404


def test_500_then_200_per_path_counter(fresh_newssite: NewsSite) -> None:
    statuses = [fetch(fresh_newssite, "/flaky/500-then-200.html")[0] for _ in range(3)]
    assert statuses == [500, 200, 200]
    fresh_newssite.reset()
    assert fetch(fresh_newssite, "/flaky/500-then-200.html")[0] == 500


def test_429_has_retry_after_then_200(fresh_newssite: NewsSite) -> None:
    status, headers, _ = fetch(fresh_newssite, "/flaky/429.html")
    assert (status, headers["Retry-After"]) == (429, "1")
    assert fetch(fresh_newssite, "/flaky/429.html")[0] == 200


def test_304_on_if_none_match_and_if_modified_since(fresh_newssite: NewsSite) -> None:
    status, headers, _ = fetch(fresh_newssite, "/cond/etag.html")
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert status == 200
    assert fetch(fresh_newssite, "/cond/etag.html", {"If-None-Match": etag})[0] == 304
    assert fetch(fresh_newssite, "/cond/etag.html", {"If-None-Match": '"other"'})[0] == 200
    assert fetch(fresh_newssite, "/cond/etag.html", {"If-Modified-Since": modified})[0] == 304
    assert fresh_newssite.last_headers("/cond/etag.html")["If-Modified-Since"] == modified


def test_bump_changes_content_and_etag(fresh_newssite: NewsSite) -> None:
    _, before_headers, before = fetch(fresh_newssite, "/changing/page.html")
    assert fresh_newssite.bump("/changing/page.html") == 2
    old_etag = {"If-None-Match": before_headers["ETag"]}
    status, after_headers, after = fetch(fresh_newssite, "/changing/page.html", old_etag)
    assert status == 200 and after != before
    assert after_headers["ETag"] != before_headers["ETag"]
    new_etag = {"If-None-Match": after_headers["ETag"]}
    assert fetch(fresh_newssite, "/changing/page.html", new_etag)[0] == 304


def test_gzip_bomb_headers_and_first_bytes(fresh_newssite: NewsSite) -> None:
    conn = connection(fresh_newssite)
    conn.request("GET", "/bomb/page.html", headers={"Accept-Encoding": "gzip"})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Encoding") == "gzip"
    assert int(response.getheader("Content-Length")) < 2 * 1024 * 1024
    inflated = zlib.decompressobj(wbits=31).decompress(response.read(64 * 1024), 4096)
    conn.close()
    assert inflated.startswith(b"<!DOCTYPE html>") and inflated.endswith(b" " * 64)


def test_gzip_bomb_is_a_valid_gzip_stream() -> None:
    decompressor = zlib.decompressobj(wbits=31)
    inflated = decompressor.decompress(gzip_bomb(3)) + decompressor.flush()
    assert decompressor.eof and len(inflated) > 3 * 1024 * 1024


def test_slow_page_honours_delay_and_does_not_block_others(fresh_newssite: NewsSite) -> None:
    slow = connection(fresh_newssite, timeout=10)
    start = time.monotonic()
    slow.request("GET", "/slow/page.html?delay=0.5")
    assert fetch(fresh_newssite, "/news/ok-2.html")[0] == 200
    assert time.monotonic() - start < 0.4  # answered while the slow page still sleeps
    assert slow.getresponse().status == 200 and time.monotonic() - start >= 0.5
    slow.close()
    with pytest.raises((TimeoutError, URLError)):
        fetch(fresh_newssite, "/slow/page.html?delay=2", timeout=0.2)


def test_broken_connections(fresh_newssite: NewsSite) -> None:
    conn = connection(fresh_newssite)
    conn.request("GET", "/broken/drop.html")
    response = conn.getresponse()
    assert response.getheader("Content-Length") == "20000"
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    for path in ("/broken/reset.html", "/broken/empty.html"):
        with pytest.raises((ConnectionError, http.client.RemoteDisconnected, URLError)):
            fetch(fresh_newssite, path)


def test_huge_declared_content_length(fresh_newssite: NewsSite) -> None:
    conn = connection(fresh_newssite)
    conn.request("GET", "/huge/declared.html")
    response = conn.getresponse()
    assert response.getheader("Content-Length") == str(100 * 1024 * 1024)
    assert response.read(1024).startswith(b"<!DOCTYPE html>")
    conn.close()  # hanging up early must not break the server
    assert fetch(fresh_newssite, "/huge/page.html?mb=1")[2].endswith(b"</html>\n")
    assert len(fetch(fresh_newssite, "/huge/page.html?mb=1")[2]) == 1024 * 1024


def test_charsets(fresh_newssite: NewsSite) -> None:
    _, headers, body = fetch(fresh_newssite, "/charset/missing.html")
    assert headers["Content-Type"] == "text/html" and b'<meta charset="windows-1252">' in body
    assert "“smart”".encode("cp1252") in body
    _, headers, body = fetch(fresh_newssite, "/charset/lying.html")
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    _, headers, body = fetch(fresh_newssite, "/charset/latin1-no-meta.html")
    assert headers["Content-Type"] == "text/html" and b"<meta charset" not in body.lower()
    assert "prüft".encode("latin-1") in body


def test_pdf_amp_and_duplicates(fresh_newssite: NewsSite) -> None:
    status, headers, body = fetch(fresh_newssite, "/files/report.pdf")
    assert headers["Content-Type"] == "application/pdf" and body.startswith(b"%PDF-")
    amp = fetch(fresh_newssite, "/amp/story.html")[2].decode()
    assert "<html amp" in amp and '<link rel="canonical" href="/news/story.html">' in amp
    assert '<link rel="amphtml" href="/amp/story.html">' in fetch(
        fresh_newssite, "/news/story.html")[2].decode()
    assert fetch(fresh_newssite, "/dup/one.html")[2] == fetch(fresh_newssite, "/dup/two.html")[2]


def test_hits_and_last_headers(fresh_newssite: NewsSite) -> None:
    headers = {"User-Agent": "privacy-tracker-test/1.0", "If-None-Match": '"x"'}
    for _ in range(2):
        fetch(fresh_newssite, "/news/ok-3.html?utm_source=test", headers)
    assert fresh_newssite.hits("/news/ok-3.html") == 2
    assert fresh_newssite.hits("/private/page.html") == 0
    last = fresh_newssite.last_headers("/news/ok-3.html")
    assert last is not None and last["User-Agent"] == "privacy-tracker-test/1.0"
    assert last["If-None-Match"] == '"x"'
    log = fresh_newssite.log()
    assert [(e["path"], e["status"]) for e in log] == [("/news/ok-3.html", 200)] * 2
    everything = fresh_newssite.control("hits")
    assert everything["counts"] == {"/news/ok-3.html": 2}
    fresh_newssite.reset()
    assert fresh_newssite.hits("/news/ok-3.html") == 0


def test_head_request_sends_no_body(fresh_newssite: NewsSite) -> None:
    conn = connection(fresh_newssite)
    for _ in range(2):  # a second request on the same keep-alive connection still works
        conn.request("HEAD", "/news/ok-1.html")
        response = conn.getresponse()
        assert response.status == 200 and response.read() == b""
    conn.request("GET", "/news/ok-1.html")
    assert conn.getresponse().read().startswith(b"<!DOCTYPE html>")
    conn.close()


def test_site_map_paths_are_served(fresh_newssite: NewsSite) -> None:
    cheap = {"article", "index", "robots", "duplicate", "amp", "conditional", "changing", "file"}
    for path, case in SITE_MAP.items():
        if case.kind in cheap and "<" not in path:
            assert fetch(fresh_newssite, path)[0] == 200, path
    assert render_article(generated_article(5), None).count("<p>") >= 5
    assert json.dumps(SITE_MAP)  # plain data, usable for parametrising crawler tests


def test_control_endpoints_accept_post(fresh_newssite: NewsSite) -> None:
    conn = connection(fresh_newssite)
    conn.request("POST", "/__bump?path=/changing/page.html", body=b"ignored")
    assert json.load(conn.getresponse()) == {"path": "/changing/page.html", "version": 2}
    conn.request("POST", "/__reset", body=b"")  # same keep-alive connection
    assert json.load(conn.getresponse()) == {"reset": True}
    conn.close()
    assert b"version 2" not in fetch(fresh_newssite, "/changing/page.html")[2]
