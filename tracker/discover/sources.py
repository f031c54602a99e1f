"""Discovery sources: YAML files in `sources/` (beside `seeds/`) naming feeds, news sitemaps and
listing pages to poll for new articles. Loaded and validated here; problems are one line each,
`file:line: message`, like the taxonomy's.

Each file is::

    sources:
      - url: https://www.edpb.europa.eu/feed/news_en   # required, http(s)
        kind: feed          # feed (RSS, Atom, RDF), sitemap (news sitemap or sitemap index), listing
        name: EDPB news     # optional label
        interval: 6h        # how often to poll (default 6h; at least 5m)
        language: en        # optional, given to the articles found
        jurisdiction: eu    # optional, a jurisdiction id of the lens taxonomy
        authority: true     # a regulator's own releases: its items are primary sources
        link_pattern: '/news/\\d{4}/'   # listing only (required there): a regex an article link matches
        note: free text, ignored
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterable

import yaml

from tracker.crawl.policy import parse_duration
from tracker.errors import ConfigError, SourceError, UrlError
from tracker.urls import make_alias

KINDS = ("feed", "sitemap", "listing")
KEYS = {"url", "kind", "name", "interval", "language", "jurisdiction", "authority", "link_pattern", "note"}
DEFAULT_INTERVAL = "6h"
MIN_INTERVAL = timedelta(minutes=5)  # politeness: nobody's feed needs polling more often
SOURCE_SUFFIXES = (".yml", ".yaml")
try:  # libyaml's composer: 12 times faster on a file of 1,000 sources; same nodes and line marks
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Source:
    """One validated source; `where` is its file:line, for messages."""

    url: str
    kind: str
    interval: float  # seconds
    name: str | None = None
    language: str | None = None
    jurisdiction: str | None = None
    authority: bool = False
    link_pattern: str | None = None
    where: str = ""


@dataclass
class SourceCheck:
    """What loading a set of files gave: the good sources, one line per problem."""

    files: int = 0
    sources: list[Source] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def find_source_files(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[str]]:
    """YAML files named, and under folders named (recursive); one error per missing path."""
    files: list[Path] = []
    errors: list[str] = []
    for raw in paths:
        path = Path(raw).resolve()
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in SOURCE_SUFFIXES and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            errors.append(f"{path}: no such file or folder")
    return files, errors


def load_sources(paths: Iterable[str | os.PathLike[str]]) -> SourceCheck:
    """Every good source of every file; bad entries are left out, each named in `errors`. A URL
    named twice is an error at its second place (one source, one schedule)."""
    files, errors = find_source_files(paths)
    check = SourceCheck(files=len(files), errors=errors)
    seen: dict[str, str] = {}
    for file in files:
        sources, problems = read_source_file(file)
        check.errors += problems
        for source in sources:
            if source.url in seen:
                check.errors.append(f"{source.where}: url: {source.url} is already a source at {seen[source.url]}")
                continue
            seen[source.url] = source.where
            check.sources.append(source)
    return check


def read_source_file(file: Path) -> tuple[list[Source], list[str]]:
    """The good sources of one file and one `file:line: message` per bad entry."""
    try:
        root = yaml.compose(file.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return [], [f"{file}:{mark.line + 1 if mark else 1}: broken YAML: {exc.problem or exc}"]
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return [], [f"{file}:1: cannot read: {exc}"]
    entries = _entries(file, root)
    if isinstance(entries, str):
        return [], [entries]
    sources, problems = [], []
    constructor = yaml.constructor.SafeConstructor()  # nodes to Python values, as safe_load makes them
    for node in entries:
        try:
            sources.append(_source(file, node, constructor))
        except SourceError as exc:
            problems.append(str(exc))
    return sources, problems


def _entries(file: Path, root: yaml.Node | None) -> list[yaml.Node] | str:
    """The nodes of the `sources:` list, or the problem with the file's shape."""
    if root is None:
        return []  # an empty file: no sources, not an error
    if isinstance(root, yaml.MappingNode):
        top = {key.value: value for key, value in root.value}
        root = top.get("sources")
        if root is None:
            return f"{file}:1: expected a mapping with a `sources:` list"
    if not isinstance(root, yaml.SequenceNode):
        return f"{file}:{root.start_mark.line + 1}: `sources` must be a list of entries"
    return list(root.value)


def _source(file: Path, node: yaml.Node, constructor: yaml.constructor.SafeConstructor) -> Source:
    where = f"{file}:{node.start_mark.line + 1}"
    if not isinstance(node, yaml.MappingNode):
        raise SourceError(f"{where}: expected a mapping with url and kind")
    values: dict[str, Any] = {}
    lines: dict[str, str] = {}
    for key, value in node.value:
        lines[key.value] = f"{file}:{value.start_mark.line + 1}"
        if key.value not in KEYS:
            raise SourceError(f"{lines[key.value]}: unknown key {key.value!r} (known: {', '.join(sorted(KEYS))})")
        values[key.value] = constructor.construct_object(value, deep=True)
    return _validated(values, lines, where)


def _validated(values: dict[str, Any], lines: dict[str, str], where: str) -> Source:
    def at(key: str) -> str:
        return lines.get(key, where)

    kind = values.get("kind")
    if kind not in KINDS:
        raise SourceError(f"{at('kind')}: kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    url = _url(values.get("url"), at("url"))
    pattern = _pattern(values.get("link_pattern"), kind, at("link_pattern"), where)
    authority = values.get("authority", False)
    if not isinstance(authority, bool):
        raise SourceError(f"{at('authority')}: authority: expected true or false, got {authority!r}")
    language = _optional_text(values, "language", at("language"))
    if language and not _LANGUAGE.match(language):
        raise SourceError(f"{at('language')}: language: expected a code such as en or pt-BR, got {language!r}")
    jurisdiction = _optional_text(values, "jurisdiction", at("jurisdiction"))
    if jurisdiction and not _ID.match(jurisdiction):
        raise SourceError(f"{at('jurisdiction')}: jurisdiction: expected a taxonomy id such as gb or eu")
    return Source(url=url, kind=kind, interval=_interval(values.get("interval"), at("interval")),
                  name=_optional_text(values, "name", at("name")), language=language,
                  jurisdiction=jurisdiction, authority=authority, link_pattern=pattern, where=where)


def _url(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SourceError(f"{where}: url: required, the address of the feed, sitemap or page")
    try:
        make_alias(value.strip(), "web")
    except UrlError as exc:
        raise SourceError(f"{where}: url: {exc}") from exc
    return value.strip()  # polled as written: a feed URL's query string may matter to its server


def _pattern(value: Any, kind: str, where: str, entry: str) -> str | None:
    if kind != "listing":
        if value is not None:
            raise SourceError(f"{where}: link_pattern: only a listing source has one")
        return None
    if not isinstance(value, str) or not value:
        raise SourceError(f"{entry}: link_pattern: required for a listing (a regex article links match)")
    try:
        re.compile(value)
    except re.error as exc:
        raise SourceError(f"{where}: link_pattern: not a regular expression: {exc}") from exc
    return value


def _interval(value: Any, where: str) -> float:
    try:
        interval = parse_duration(str(value if value is not None else DEFAULT_INTERVAL))
    except ConfigError as exc:
        raise SourceError(f"{where}: interval: {exc}") from exc
    if interval < MIN_INTERVAL:
        raise SourceError(f"{where}: interval: at least 5m (polling more often is impolite)")
    return interval.total_seconds()


def _optional_text(values: dict[str, Any], key: str, where: str) -> str | None:
    value = values.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise SourceError(f"{where}: {key}: expected text, got {type(value).__name__}")
    return str(value).strip() or None


def source_entry(source: Source) -> dict[str, Any]:
    """The YAML mapping of a source, as `tracker sources add` writes it."""
    entry: dict[str, Any] = {"url": source.url, "kind": source.kind}
    for key in ("name", "language", "jurisdiction", "link_pattern"):
        if getattr(source, key):
            entry[key] = getattr(source, key)
    entry["interval"] = _duration_text(source.interval)
    if source.authority:
        entry["authority"] = True
    return entry


def _duration_text(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def add_source(file: Path, values: dict[str, Any]) -> Source:
    """Validate one entry and append it to `file` (created if missing); SourceError if the entry
    is bad, the file is broken, or the URL is already a source there."""
    source = _validated({k: v for k, v in values.items() if v is not None}, {}, f"{file} (new entry)")
    existing: list[Source] = []
    if file.exists():
        existing, problems = read_source_file(file)
        if problems:
            raise SourceError(f"{problems[0]} (fix the file before adding to it)")
    if any(s.url == source.url for s in existing):
        raise SourceError(f"{file}: {source.url} is already a source there")
    file.parent.mkdir(parents=True, exist_ok=True)
    original = file.read_text(encoding="utf-8") if file.exists() else None
    text = original if original and original.strip() else "sources:\n"
    block = yaml.safe_dump([source_entry(source)], sort_keys=False, allow_unicode=True)
    indented = "".join(f"  {line}\n" for line in block.splitlines())
    file.write_text(text.rstrip("\n") + "\n" + indented, encoding="utf-8")
    written, problems = read_source_file(file)
    if problems or len(written) != len(existing) + 1:  # a list indented otherwise than ours
        if original is None:
            file.unlink()
        else:
            file.write_text(original, encoding="utf-8")
        raise SourceError(f"{file}: could not append to its `sources:` list (indent it as `  - url: ...`)")
    return source
