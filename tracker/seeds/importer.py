"""`tracker import`: already-extracted articles from JSON Lines, one object a line.

Each line needs `url`; `title`, `text`, `published`, `publisher` and `id` (kept as external_id) are
optional. Bad lines are reported by file and line number and skipped; the rest are saved.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from tracker import store
from tracker.store import articles
from tracker.dates import BadDate, to_utc_iso
from tracker.errors import ImportLineError, TrackerError, UrlError
from tracker.publishers import known_outlet
from tracker.cleanup import MAX_TEXT_CHARS, clean_body, clean_text
from tracker.urls import host_of, make_alias

TEXT_FIELDS = ("title", "publisher", "excerpt", "author", "language")


@dataclass
class ImportSummary:
    files: int = 0
    lines: int = 0
    saved: int = 0
    new_articles: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ImportRecord:
    url: str
    fields: dict[str, Any]


def parse_import_line(line: str) -> ImportRecord:
    """One JSONL line to a record; raises ImportLineError saying which field is wrong."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ImportLineError(f"invalid JSON: {exc.msg} at column {exc.colno}") from exc
    except (ValueError, RecursionError) as exc:  # nested 100,000 deep; a 5,000-digit number
        raise ImportLineError(f"invalid JSON: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise ImportLineError(f"expected a JSON object, got {type(data).__name__}")
    if "url" not in data:
        raise ImportLineError("url: missing (required)")
    fields: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        fields[name] = clean_text(_string(data, name))
    text = _string(data, "text")
    if text is not None and len(text) > MAX_TEXT_CHARS:
        raise ImportLineError(f"text: {len(text):,} characters, over the {MAX_TEXT_CHARS:,} an article may have")
    fields["text"] = clean_body(text)
    fields["external_id"] = _string(data, "id")
    try:
        fields["published"] = to_utc_iso(data.get("published"))
    except BadDate as exc:
        raise ImportLineError(f"published: {exc}") from exc
    fields["published_source"] = "import" if fields["published"] else None
    return ImportRecord(_string(data, "url") or "", fields)


def _string(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ImportLineError(f"{name}: expected a string, got {type(value).__name__}")


def import_jsonl(db: store.Database, paths: list[str | os.PathLike[str]]) -> ImportSummary:
    """Save every good line of every file; errors name file and line."""
    summary = ImportSummary()
    before = articles.count_articles(db)
    for path in map(Path, paths):
        summary.files += 1
        with store.transaction(db):
            for number, record in _records(path, summary):
                _save_record(db, path, number, record, summary)
    summary.new_articles = articles.count_articles(db) - before
    return summary


def _records(path: Path, summary: ImportSummary) -> Iterator[tuple[int, ImportRecord]]:
    try:
        handle = path.open("r", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise TrackerError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            summary.lines += 1
            try:
                yield number, parse_import_line(line)
            except ImportLineError as exc:
                summary.errors.append(f"{path}:{number}: {exc}")


def _save_record(db: store.Database, path: Path, number: int, record: ImportRecord,
                 summary: ImportSummary) -> None:
    try:
        alias = make_alias(record.url, "import")
    except UrlError as exc:
        summary.errors.append(f"{path}:{number}: url: {exc}")
        return
    fields = dict(record.fields)
    fields["publisher_domain"] = host_of(alias.url)
    # the import's own name first (the analyst's data), else the outlets table's; unknown stays empty
    fields["publisher"] = fields.get("publisher") or known_outlet(fields["publisher_domain"])
    articles.resolve_article(db, [alias], alias.url, fields, "import")
    summary.saved += 1
