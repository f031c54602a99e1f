"""extract_page on real benchmark pages and built cases; the pool's time budget; the bench metric."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import time

import pytest

from tracker.bench.extract import score_texts, shingle_match
from tracker.config import PROJECT_ROOT
from tracker.errors import ExtractionError, NotHtmlError, PageTooLargeError, TrackerError
from tracker.extract.metadata import normalise_date
from tracker.extract.options import ExtractOptions
from tracker.extract.page import extract_page
from tracker.extract.pool import WARM_UP_PAGE, ExtractionTimeout, ExtractorPool, WorkerCrashedError
from tracker.extract.text import drop_title_line, merge_split_bodies

CORPUS = PROJECT_ROOT.parent / "shared" / "corpora" / "article-extraction-benchmark"
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$")
WSJ = "042bb7b5fedab6eac7db576522b89b93904c237d344bcbe14a6a5ab7f7335856"
CTPOST = "05844573ca7e1fba714d715bb11ca08c26e25328999c74a1cb3bc8a0e4399f0f"


def benchmark_page(key: str) -> tuple[bytes, str, str]:
    truth = json.loads((CORPUS / "ground-truth.json").read_text(encoding="utf-8"))[key]
    return gzip.decompress((CORPUS / "html" / f"{key}.html.gz").read_bytes()), truth["url"], truth["articleBody"]


def page(body_html: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>{head}</head><body>{body_html}</body></html>"


ARTICLE = "".join(f"<p>Paragraph {i}: the regulator said facial recognition in shops needs consent, "
                  f"and the retailer must delete the images within thirty days.</p>" for i in range(8))


@pytest.mark.parametrize("key, title", [
    (WSJ, "Google Stadia, Microsoft xCloud, Apple Arcade"),
    (CTPOST, "New SUVs and electric vehicles highlight L.A. Auto Show"),
])
def test_real_benchmark_pages(key: str, title: str) -> None:
    body, url, truth = benchmark_page(key)
    result = extract_page(body, url, "text/html")
    assert title in result.title
    first_sentence = truth.split("\n")[0].split(". ")[0]
    assert first_sentence in result.text
    assert not result.text.startswith(title)  # the headline is a field, not the text's first line
    assert result.published and ISO.match(result.published)
    assert result.published_source in {"jsonld", "meta", "htmldate"}
    assert shingle_match(truth, result.text)[0] > 0.8


def test_wsj_metadata_comes_from_jsonld() -> None:
    body, url, _ = benchmark_page(WSJ)
    result = extract_page(body, url, "text/html; charset=utf-8")
    assert result.author == "Sarah E. Needleman"
    assert result.language == "en"
    assert (result.published, result.published_source) == ("2019-11-19T13:03:00Z", "jsonld")
    assert result.canonical_url == url
    assert result.image and result.image.startswith("https://")


@pytest.mark.parametrize("key, source", [(CTPOST, "trafilatura"), (WSJ, "trafilatura-full")])
def test_fast_mode_first_keeps_the_full_modes_text(key: str, source: str) -> None:
    """A long fast-mode text is kept; a short one (WSJ's paywalled teaser) is redone in full."""
    body, url, _ = benchmark_page(key)
    fast_first = extract_page(body, url, "text/html")
    full = extract_page(body, url, "text/html", ExtractOptions(fast_first=False))
    assert fast_first.text == full.text
    assert (fast_first.text_source, full.text_source) == (source, "trafilatura-full")


def test_jsonld_graph_is_preferred_to_meta_and_heuristics() -> None:
    body_text = " ".join(f"Sentence {i} of the full article body about the data protection ruling."
                         for i in range(40))
    ld = {"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "name": "Ignored site node"},
        {"@type": ["ReportageNewsArticle"], "headline": "Court fines app maker over location data",
         "datePublished": "2020-12-07T07:11:00+01:00", "dateModified": "2020-12-08",
         "author": [{"@type": "Person", "name": "Ana Ruiz"}, {"@type": "Person", "name": "Li Wei"}],
         "publisher": {"@type": "Organization", "name": "Example Times"},
         "image": {"@type": "ImageObject", "url": "https://example.org/a.jpg"},
         "articleBody": body_text}]}
    head = (f"<title>Court fines app | Example</title><script type='application/ld+json'>{json.dumps(ld)}</script>"
            "<meta property='article:published_time' content='2020-12-01T00:00:00Z'>")
    teaser = "".join(f"<p>Teaser {i}: only the start of the story is shown to visitors without a subscription.</p>"
                     for i in range(6))  # trafilatura finds this; the JSON-LD body is five times longer
    html = page(f"<h1>Court fines app maker</h1><article>{teaser}</article>", head)
    result = extract_page(html.encode(), "https://example.org/a", "text/html")
    assert result.title == "Court fines app maker over location data"
    assert (result.published, result.published_source) == ("2020-12-07T06:11:00Z", "jsonld")
    assert (result.updated, result.updated_source) == ("2020-12-08", "jsonld")
    assert result.author == "Ana Ruiz, Li Wei"
    assert result.site_name == "Example Times"
    assert result.image == "https://example.org/a.jpg"
    assert (result.text, result.text_source) == (body_text, "jsonld")


def test_meta_dates_when_no_jsonld() -> None:
    head = ("<meta property='article:published_time' content='2021-03-04T10:00:00-05:00'>"
            "<meta property='og:site_name' content='Daily Example'><link rel='canonical' href='https://e.org/c'>")
    result = extract_page(page(f"<article>{ARTICLE}</article>", head).encode(), "https://e.org/x?utm=1", None)
    assert (result.published, result.published_source) == ("2021-03-04T15:00:00Z", "meta")
    assert result.site_name == "Daily Example" and result.canonical_url == "https://e.org/c"
    assert "delete the images within thirty days" in result.text


def test_entities_in_meta_titles_are_decoded_and_placeholder_dates_dropped() -> None:
    head = ("<meta property='og:title' "
            "content='Regulator&amp;#8217;s &amp;#8216;final&amp;#8217; warning &amp;amp; fine'>"  # double-encoded
            "<meta property='article:published_time' content='0001-01-01T00:00:00Z'>")
    result = extract_page(page(f"<article>{ARTICLE}</article>", head).encode(), "https://e.org/x", None)
    assert result.title == "Regulator\u2019s \u2018final\u2019 warning & fine"
    assert result.published != "1-01-01T00:00:00Z" and not (result.published or "").startswith("0001")


TEXT = "Le café de la Reine a fermé ; l’autorité a jugé la vidéosurveillance illégale. " * 30


@pytest.mark.parametrize("encoding, content_type", [
    ("cp1252", "text/html"),                          # no charset anywhere: detection
    ("cp1252", "text/html; charset=utf-8"),           # header lies, UTF-8 decoding fails
    ("utf-8", "text/html; charset=iso-8859-1"),       # header lies, Latin-1 would give mojibake
    ("utf-16", "text/html"),                          # BOM
])
def test_wrong_or_missing_charset_still_reads(encoding: str, content_type: str) -> None:
    html = f"<html><head><title>Café</title></head><body><article><p>{TEXT}</p></article></body></html>"
    result = extract_page(html.encode(encoding), "https://example.fr/cafe", content_type)
    assert "Le café de la Reine a fermé" in result.text
    assert "l’autorité a jugé la vidéosurveillance illégale" in result.text


def test_meta_charset_is_used() -> None:
    html = f"<html><head><meta charset='windows-1252'></head><body><article><p>{TEXT}</p></article></body></html>"
    result = extract_page(html.encode("cp1252"), "https://example.fr/m", "text/html")
    assert result.encoding == "cp1252" and "vidéosurveillance" in result.text


@pytest.mark.parametrize("body, content_type", [
    (b"%PDF-1.7\n...", "application/pdf"),
    (b"%PDF-1.7\n...", "text/html"),  # lying content type: the bytes decide
    (b"\x89PNG\r\n\x1a\n....", None),
    (b'{"articleBody": "json"}', "application/json"),
    (b'{"articleBody": "json"}', None),
])
def test_non_html_is_refused(body: bytes, content_type: str | None) -> None:
    with pytest.raises(NotHtmlError) as info:
        extract_page(body, "https://example.org/file", content_type)
    assert "https://example.org/file" in str(info.value)
    assert isinstance(info.value, TrackerError)


def test_oversized_page_is_refused() -> None:
    html = page(ARTICLE * 10).encode()
    with pytest.raises(PageTooLargeError, match="over the 1000 limit"):
        extract_page(html, "https://example.org/big", "text/html", ExtractOptions(max_bytes=1000))
    assert extract_page(html, "https://example.org/big", "text/html").text


def test_split_article_bodies_are_merged() -> None:
    import trafilatura  # only to build a tree for the unit under test

    chunks = "<div class='ad'>Buy now</div>".join(
        f"<div class='grid'><div class='body article__body'><p>Chunk {i} text.</p></div></div>" for i in range(3))
    tree = trafilatura.load_html(page(f"<div class='chunks'>{chunks}</div>"))
    assert merge_split_bodies(tree) == 2
    assert [p.text for p in tree.xpath("//div[contains(@class,'article__body')]//p")] == [
        "Chunk 0 text.", "Chunk 1 text.", "Chunk 2 text."]


def test_drop_title_line() -> None:
    text = "Regulator Fines Retailer Over Cameras\nThe body."
    assert drop_title_line(text, ["Regulator fines retailer over cameras | Site"]) == "The body."
    assert drop_title_line(text, ["Something else entirely"]) == text
    assert drop_title_line("Short\nThe body.", ["Short | Site"]) == "Short\nThe body."  # too short to tell


@pytest.mark.parametrize("value, expected", [
    ("2020-12-07T07:11:00+01:00", "2020-12-07T06:11:00Z"),
    ("2020-12-07T06:11:00Z", "2020-12-07T06:11:00Z"),
    ("2020-12-07T06:11:00", "2020-12-07"),  # no zone: the day only
    ("2020-12-07", "2020-12-07"),
    ("2020-12-07 06:11:00 EST", "2020-12-07"),
    ("December 7", None),
    ("2020-13-45", None),
    ("0001-01-01T00:00:00Z", None),  # a CMS's empty date, not the year 1
    ("0001-01-01", None),
])
def test_normalise_date(value: str, expected: str | None) -> None:
    assert normalise_date(value) == expected


def test_pool_kills_a_page_over_budget_and_recovers() -> None:
    nested = page("<div><p>deep text here</p>" * 20000 + "</div>" * 20000).encode()
    normal = page(f"<article>{ARTICLE}</article>").encode()
    with ExtractorPool(workers=1, timeout=30) as pool:
        slow = pool.submit(nested, "https://example.org/slow", "text/html", timeout=0.01)
        fine = pool.submit(normal, "https://example.org/fine", "text/html")
        with pytest.raises(ExtractionTimeout, match="example.org/slow"):
            slow.result(timeout=60)
        assert "within thirty days" in fine.result(timeout=60).text
        assert pool.restarts == 1
        outcomes = list(pool.map([(b"%PDF-1.4", "https://example.org/p.pdf", None),
                                  (normal, "https://example.org/again", "text/html")]))
    assert isinstance(outcomes[0], NotHtmlError) and isinstance(outcomes[0], ExtractionError)
    assert "within thirty days" in outcomes[1].text


def test_warm_up_page_takes_the_slow_paths() -> None:
    """The fork server's warm-up page must reach what the libraries set up lazily (jusText)."""
    result = extract_page(WARM_UP_PAGE, "https://example.org/warm-up", "text/html")
    assert result.text_source == "trafilatura-full"
    assert len(result.text) < ExtractOptions().retry_below_chars


def test_pool_keeps_order_with_a_page_too_big_to_send_ahead() -> None:
    normal = page(f"<article>{ARTICLE}</article>").encode()
    big = page(f"<article>{ARTICLE}</article>" + "<!-- padding -->" * 200_000).encode()  # over a pipe's 1 MiB
    pages = [(normal, f"https://example.org/{i}", "text/html") for i in range(6)]
    pages.insert(2, (big, "https://example.org/big", "text/html"))
    with ExtractorPool(workers=1) as pool:
        results = list(pool.map(pages))
    assert [r.url for r in results] == [url for _, url, _ in pages]


def test_pool_retries_the_page_sent_ahead_to_a_worker_that_died() -> None:
    normal = page(f"<article>{ARTICLE}</article>").encode()
    with ExtractorPool(workers=1) as pool:
        worker = pool._workers[0]
        os.kill(worker.process.pid, signal.SIGSTOP)  # it reads nothing: both pages wait in its pipe
        first = pool.submit(normal, "https://example.org/first", "text/html")
        ahead = pool.submit(normal, "https://example.org/ahead", "text/html")
        deadline = time.monotonic() + 30
        while len(worker.tasks) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        worker.process.kill()
        with pytest.raises(WorkerCrashedError, match="example.org/first"):
            first.result(timeout=60)
        assert "within thirty days" in ahead.result(timeout=60).text
        assert pool.restarts == 1


def test_bench_metric_matches_the_benchmark_definition() -> None:
    assert score_texts(["a b c d e"], ["a b c d e"]) == (1.0, 1.0, 1.0)
    tp, fp, fn = shingle_match("a b c d e", "a b c d x")  # shingles abcd, bcde vs abcd, bcdx
    assert (tp, fp, fn) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
