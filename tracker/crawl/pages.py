"""What a fetch brings, and how it is saved: the crawl's storage logic, shared by the Scrapy
pipeline, WARC replay and WARC import, so that all three give the same rows.

`PageResult` is the crawl's item: one attempt at one URL (a response or an error). `save_page`
records the attempt, updates the article (text version, metadata, aliases, status, next visit)
and merges articles when a redirect or rel=canonical shows two of them are one. The rows are
written by tracker/store/fetches.py and tracker/store/articles.py.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin

from tracker import store
from tracker.store import articles, fetches
from tracker.dates import format_iso, parse_iso
from tracker.errors import ExtractionError, NoTextError, NotHtmlError, PageTooLargeError, UrlError
from tracker.crawl.policy import RecrawlPolicy, parse_retry_after
from tracker.urls import Alias, is_amp, make_alias, same_site

logger = logging.getLogger(__name__)

# outcome -> article status. An outcome is what one attempt gave; the status is where it leaves
# the article. "fetched" articles keep their text whatever later attempts bring.
OUTCOME_STATUS = {
    "ok": "fetched", "unchanged": "fetched", "not_modified": "fetched",
    "gone": "gone", "http_error": "failed", "network_error": "failed", "timeout": "failed",
    "extract_error": "failed", "refused": "refused", "robots": "blocked",
    "host_down": "failed", "no_text": "failed",
    "too_large": "skipped", "not_html": "skipped",
}
SUCCESS = frozenset({"ok", "unchanged", "not_modified"})
# A page at least this large whose extracted text is shorter than MIN_TEXT_CHARS is `no_text`:
# real articles give thousands of characters; a few stray ones mean extraction failed (a page
# nested 200,000 <div>s deep gives 9). Small pages (briefs, notices) keep their short text.
LARGE_PAGE_BYTES = 100_000
MIN_TEXT_CHARS = 100
PERMANENT = frozenset({"gone", "refused", "robots", "too_large", "not_html"})


@dataclass
class PageResult:
    """One fetch attempt: the URL asked for, and the response or the error it got."""

    url: str
    requested_at: str
    outcome: str = "ok"
    article_id: int | None = None
    status: int | None = None
    final_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    elapsed_ms: float | None = None
    error_class: str | None = None
    error_message: str | None = None
    redirects: list[str] = field(default_factory=list)
    warc_file: str | None = None
    run_id: int | None = None
    request_headers: dict[str, str] = field(default_factory=dict)
    body_size: int | None = None  # when the body itself stayed elsewhere (a distributed worker's WARC)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


def outcome_for_status(status: int) -> str:
    """Outcome of a final HTTP status (after redirects and retries)."""
    if status == 304:
        return "not_modified"
    if 200 <= status < 300:
        return "ok"
    if status in (404, 410):
        return "gone"
    return "http_error"


def save_page(db: store.Database, page: PageResult, extraction: Any, policy: RecrawlPolicy,
              create: bool = False) -> tuple[int | None, str]:
    """Save one attempt (and its Extraction or ExtractionError); returns (article id, outcome).

    With `create`, a page whose URL is not yet an article becomes one (WARC import)."""
    with store.transaction(db):
        article_id = _article_for(db, page, create)
        if article_id is None:
            return None, "unknown"
        outcome = _classify(page, extraction)
        if outcome == "ok" and _too_little_text(page, extraction):
            extraction = NoTextError(f"extraction gave {len(extraction.text.strip())} characters "
                                     f"of text from a page of {len(page.body)} bytes")
            outcome = "no_text"
        article_id = _save_aliases(db, article_id, page, extraction if outcome == "ok" else None)
        if outcome == "ok":
            outcome = _save_text(db, article_id, page, extraction)
        _record_fetch(db, article_id, page, outcome, extraction)
        _update_status(db, article_id, page, outcome, policy)
    return article_id, outcome


def _article_for(db: store.Database, page: PageResult, create: bool) -> int | None:
    if page.article_id is not None:
        if articles.article_exists(db, page.article_id):
            return page.article_id
        # merged away by an earlier page of this crawl: follow the alias instead
    try:
        aliases = [make_alias(page.url, "web")]
    except UrlError:
        return None
    ids = sorted(articles.find_article_ids(db, aliases))
    if ids:
        return ids[0]
    if not create:
        return None
    article_id, _ = articles.resolve_article(db, aliases, aliases[0].url, {}, "crawl")
    return article_id


def _classify(page: PageResult, extraction: Any) -> str:
    if page.outcome != "ok":
        return page.outcome
    if isinstance(extraction, NotHtmlError):
        return "not_html"
    if isinstance(extraction, PageTooLargeError):
        return "too_large"
    if isinstance(extraction, NoTextError):
        return "no_text"
    if isinstance(extraction, ExtractionError):
        return "extract_error"
    return "ok" if extraction is not None else "extract_error"


def _too_little_text(page: PageResult, extraction: Any) -> bool:
    return (len(page.body) >= LARGE_PAGE_BYTES
            and len((getattr(extraction, "text", None) or "").strip()) < MIN_TEXT_CHARS)


def _save_aliases(db: store.Database, article_id: int, page: PageResult, extraction: Any) -> int:
    """Redirect targets, and a same-site rel=canonical, become aliases; if one belongs to another
    article the two are merged into the older (lower id), keeping both one's data."""
    found: list[Alias] = []
    for url in [*page.redirects, page.final_url]:
        alias = _alias(url, "redirect")
        if alias:
            found.append(alias)
    base = page.final_url or page.url
    canonical = getattr(extraction, "canonical_url", None)
    canonical = urljoin(base, canonical) if canonical else None  # pages often give a relative one
    if canonical and same_site(canonical, base):
        alias = _alias(canonical, "canonical")
        if alias:
            found.append(alias)
    if not found:
        return article_id
    for other in sorted(articles.find_article_ids(db, found) - {article_id}):
        keep, drop = min(article_id, other), max(article_id, other)
        articles.merge_articles(db, keep, drop, reason="redirect or rel=canonical")
        article_id = keep
    known = articles.load_known_urls(db, [a.url for a in found])
    articles.save_aliases(db, article_id, [a for a in found if a.url not in known])
    if canonical and found[-1].kind == "canonical":
        _prefer_canonical(db, article_id, found[-1])
    return article_id


def _alias(url: str | None, kind: str) -> Alias | None:
    if not url:
        return None
    try:
        return make_alias(url, kind)
    except UrlError:
        return None


def _prefer_canonical(db: store.Database, article_id: int, alias: Alias) -> None:
    """The article is known by its page's canonical URL from now on (fetched first next time)."""
    if is_amp(alias.url):
        return
    articles.save_url(db, article_id, alias.url)


def text_hash(text: str) -> str:
    """Identity of an article text, ignoring whitespace differences."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def _save_text(db: store.Database, article_id: int, page: PageResult, extraction: Any) -> str:
    """Store the extraction; a changed text becomes a new version. Returns 'ok' or 'unchanged'."""
    digest = text_hash(extraction.text)
    stored_hash, version, published = fetches.load_text_state(db, article_id)
    if stored_hash == digest:
        return "unchanged"
    fetches.save_version(db, article_id, version + 1, extraction.title, extraction.text, digest,
                         page.final_url or page.url)
    articles.apply_meta(db, article_id, _crawl_fields(extraction, published), "crawl")
    # The site's own name (og:site_name, JSON-LD publisher) beats a seed's or the outlets table's.
    articles.apply_meta(db, article_id, {"publisher": extraction.site_name}, "crawl")
    return "ok"


def _crawl_fields(extraction: Any, stored_published: str | None) -> dict[str, Any]:
    fields = {
        "title": extraction.title, "text": extraction.text, "author": extraction.author,
        "updated": extraction.updated, "updated_source": extraction.updated_source,
        "language": extraction.language, "image": extraction.image,
        "excerpt": extraction.description,
    }
    published = extraction.published
    # A date without a time says less than a seed's exact time on the same day: keep the seed's.
    if published and not (len(published) == 10 and (stored_published or "").startswith(published)):
        fields["published"] = published
        fields["published_source"] = extraction.published_source
    return fields


def _record_fetch(db: store.Database, article_id: int, page: PageResult, outcome: str,
                  extraction: Any) -> None:
    error_class, message = page.error_class, page.error_message
    if isinstance(extraction, ExtractionError) and outcome not in SUCCESS:
        error_class, message = type(extraction).__name__, str(extraction)
    fetches.save_fetch(db, {
        "article_id": article_id, "url": page.url, "requested_at": page.requested_at,
        "status": page.status, "outcome": outcome, "error_class": error_class,
        "error_message": (message or "")[:2000] or None,
        "bytes": len(page.body) if page.body_size is None else page.body_size,
        "elapsed_ms": page.elapsed_ms, "final_url": page.final_url, "content_type": page.content_type,
        "warc_file": page.warc_file, "run_id": page.run_id})


def _update_status(db: store.Database, article_id: int, page: PageResult, outcome: str,
                   policy: RecrawlPolicy) -> None:
    now = datetime.now(timezone.utc)
    fail_count, stored_published, status, has_text = fetches.load_fetch_state(db, article_id)
    published = parse_iso(stored_published)
    if outcome in SUCCESS:
        next_at, fail_count, error = policy.next_visit(now, published), 0, None
    else:
        fail_count += 1
        error = f"{outcome}: {page.error_message or page.status or ''}".strip()[:500]
        next_at = (policy.after_permanent(now) if outcome in PERMANENT
                   else policy.after_failure(now, fail_count, _retry_after(page)))
    new_status = OUTCOME_STATUS[outcome]
    if status == "fetched" and new_status != "fetched" and has_text:
        new_status = "fetched"  # a failed revisit does not unmake an article that has its text
        error = error and f"last revisit failed: {error}"
    fetches.save_fetch_state(db, article_id, {
        "status": new_status, "fail_count": fail_count, "last_fetch_at": page.requested_at,
        "next_fetch_at": format_iso(next_at), "last_error": error, **_success_state(page, outcome)})


def _success_state(page: PageResult, outcome: str) -> dict[str, Any]:
    if outcome not in SUCCESS:
        return {}
    state: dict[str, Any] = {"last_success_at": page.requested_at}
    if outcome != "not_modified":  # validators of the page just fetched, for the next visit
        state.update(etag=page.headers.get("etag"), last_modified=page.headers.get("last-modified"))
    return state


def _retry_after(page: PageResult) -> float | None:
    return parse_retry_after(page.headers.get("retry-after"))


