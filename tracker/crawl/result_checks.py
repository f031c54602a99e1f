"""What the single writer checks in a worker's result before saving it (`tracker ingest`).

A worker is trusted to fetch, not to write: a result is saved only when it answers its own job
(the token queued for its article, one of that article's URLs) and every field is of the shape the
database holds (whole numbers in range, http(s) URLs, ISO times, plain WARC names). A result that
fails is set aside as a dead letter with the reason (tracker/crawl/distributed.py), never saved in
part and never able to stop the writer.
"""

from __future__ import annotations

import math
import re
from typing import Any

from tracker.dates import parse_iso
from tracker.errors import TrackerError, UrlError
from tracker.urls import MAX_URL_LENGTH, make_alias

# A WARC file a worker wrote: "<worker host>:<file name>", no folder, no "..".
_WARC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}:[A-Za-z0-9][A-Za-z0-9._-]{0,199}\.warc(\.gz)?$")
MAX_ATTEMPT = 1_000  # attempts of one job (Scrapy retries, URLs tried): a few in practice
MAX_ELAPSED_MS = 7 * 86400 * 1000.0
MAX_HEADERS = 500
MAX_REDIRECTS = 100


class BadResult(TrackerError, ValueError):
    """A worker's result that cannot be saved; the message names the field. `finished` is the
    (article id, token) of a final result whose envelope was readable: its job is over."""

    finished: tuple[int, str] | None = None


def whole_number(value: Any, name: str, low: int, high: int) -> int:
    """`value` if it is an integer (not a bool, not 1e999 nor 1.5) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadResult(f"{name}: expected a whole number from {low} to {high}, got {_show(value)}")
    return value


def check_envelope(data: dict[str, Any]) -> None:
    """The fields around the page: article id, attempt, token, flags."""
    whole_number(data.get("article_id"), "article_id", 1, 2**63 - 1)
    whole_number(data.get("attempt"), "attempt", 0, MAX_ATTEMPT)
    if not isinstance(data.get("token"), str) or not data["token"]:
        raise BadResult(f"token: expected a string, got {_show(data.get('token'))}")
    if not isinstance(data.get("final"), bool):
        raise BadResult(f"final: expected true or false, got {_show(data.get('final'))}")
    if data.get("run_id") is not None:
        whole_number(data["run_id"], "run_id", 1, 2**63 - 1)
    if not isinstance(data.get("page"), dict):
        raise BadResult("page: expected an object")


def check_job(token: str, queued_token: str | None, url: str, job_urls: tuple[str, ...]) -> None:
    """The result answers the job queued for its article: same token, one of the job's URLs."""
    if queued_token is None:
        raise BadResult(f"token {_show(token)}: no job of this article is queued")
    if token != queued_token:
        raise BadResult(f"token {_show(token)}: not the token of the job queued for this article")
    if url not in job_urls:
        raise BadResult(f"page.url {_show(url)}: not one of this article's URLs")


def check_page(page: dict[str, Any], outcomes: frozenset[str]) -> None:
    """Every page field has the shape the fetches table holds."""
    _http_url(page.get("url"), "page.url")
    if page.get("final_url") is not None:
        _http_scheme(page["final_url"], "page.final_url")
    redirects = page.get("redirects") or []
    if not isinstance(redirects, list) or len(redirects) > MAX_REDIRECTS:
        raise BadResult(f"page.redirects: expected a list of at most {MAX_REDIRECTS} URLs")
    for n, url in enumerate(redirects):
        _http_scheme(url, f"page.redirects[{n}]")
    if not isinstance(page.get("requested_at"), str) or parse_iso(page["requested_at"]) is None:
        raise BadResult(f"page.requested_at: expected an ISO time, got {_show(page.get('requested_at'))}")
    if page.get("outcome") not in outcomes:
        raise BadResult(f"page.outcome: {_show(page.get('outcome'))} is not an outcome")
    if page.get("status") is not None:
        whole_number(page["status"], "page.status", 100, 599)
    whole_number(page.get("body_size") or 0, "page.body_size", 0, 2**40)
    _seconds(page.get("elapsed_ms"), "page.elapsed_ms")
    _headers(page.get("headers"))
    _texts(page, ("error_class", "error_message"), "page")
    warc = page.get("warc_file")
    if warc is not None and not (isinstance(warc, str) and _WARC_NAME.match(warc) and ".." not in warc):
        raise BadResult(f"page.warc_file: {_show(warc)} is not a worker's WARC name (host:file.warc.gz)")


def check_extraction(extraction: Any, max_text_chars: int) -> None:
    """The extraction's fields are strings (or null), its text at most `max_text_chars`."""
    if extraction is None:
        return
    if not isinstance(extraction, dict) or not isinstance(extraction.get("text"), str):
        raise BadResult("extraction: expected an object with a text")
    if len(extraction["text"]) > max_text_chars:
        raise BadResult(f"extraction.text: {len(extraction['text']):,} characters, over the "
                        f"{max_text_chars:,} a page may give")
    # its URLs (canonical, image) are read by save_page as in a local crawl, which drops bad ones
    _texts(extraction, tuple(extraction), "extraction")


def _http_url(value: Any, name: str) -> None:
    if not isinstance(value, str):
        raise BadResult(f"{name}: expected a URL, got {_show(value)}")
    try:
        make_alias(value)
    except UrlError as exc:
        raise BadResult(f"{name}: {exc}") from None


def _http_scheme(value: Any, name: str) -> None:
    """A URL a response came from: http(s), of a length a URL may have, no control characters."""
    if not (isinstance(value, str) and len(value) <= MAX_URL_LENGTH and value.isprintable()
            and value.lower().startswith(("http://", "https://"))):
        raise BadResult(f"{name}: {_show(value)} is not an http(s) URL")


def _seconds(value: Any, name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= MAX_ELAPSED_MS:
        raise BadResult(f"{name}: expected a duration in ms, got {_show(value)}")


def _headers(value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or len(value) > MAX_HEADERS or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadResult(f"page.headers: expected at most {MAX_HEADERS} names with string values")


def _texts(data: dict[str, Any], names: tuple[str, ...], where: str) -> None:
    for name in names:
        if data.get(name) is not None and not isinstance(data[name], str):
            raise BadResult(f"{where}.{name}: expected a string, got {_show(data[name])}")


def _show(value: Any) -> str:
    """A short, safe rendering of a value for the error line."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
