"""Seed files: Markdown/text files that begin with YAML front matter, one news item each.

`load_seed_file` is pure (bytes in, a validated SeedDoc out, or a SeedError naming the file and the
field or line). `save_seeds` writes parsed seeds to the database idempotently. Parsing uses PyYAML's
C loader (seven times faster than the pure-Python one on the shared seeds) in a process pool.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import yaml

from tracker import store
from tracker.store import articles
from tracker.store import seeds as stored
from tracker.dates import BadDate, to_utc_iso
from tracker.errors import SeedError, TrackerError, UrlError
from tracker.publishers import outlet_name
from tracker.cleanup import clean_text
from tracker.urls import Alias, host_of, make_alias, preferred_url

logger = logging.getLogger(__name__)

try:  # the C loader; fall back (slowly) where libyaml is missing
    _BaseLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _BaseLoader = yaml.SafeLoader


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader with timestamps kept as the text written: dates are checked like every
    other field (to_utc_iso names the field), where PyYAML's own constructor raised a bare
    ValueError on an unquoted impossible date (2024-02-30) and stopped the whole load."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp",
                        lambda loader, node: loader.construct_scalar(node))

SEED_SUFFIXES = (".md", ".markdown", ".txt")
# Field -> alias kind, in order of preference for the article's own URL.
URL_FIELDS = (("webUrl", "web"), ("sourceUrl", "web"), ("originalUrl", "original"),
              ("ampWebUrl", "amp"), ("ampUrl", "amp"), ("cdnAmpWebUrl", "cdn_amp"),
              ("cdnAmpUrl", "cdn_amp"))
FRONT_MATTER_END = re.compile(r"^---[ \t]*$", re.M)
MAX_SEED_BYTES = 2_000_000
PARALLEL_THRESHOLD = 200


class NoFrontMatter(SeedError):
    """A file that does not start with YAML front matter: skipped with a note in folders."""


@dataclass(frozen=True)
class SeedItem:
    """One article named by a seed (the seed's own item or one of its related items)."""

    aliases: tuple[Alias, ...]
    url: str
    fields: dict[str, Any]
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeedDoc:
    """A parsed, validated seed file."""

    path: str
    sha256: str
    item: SeedItem
    related: tuple[SeedItem, ...]
    problems: tuple[str, ...] = ()  # bad related items, left out: one line each, "file: related[N]: ..."


@dataclass
class SeedSummary:
    """What a load or check did: counts, and one line per error or note."""

    files: int = 0
    loaded: int = 0
    unchanged: int = 0
    skipped: int = 0
    articles: int = 0
    new_articles: int = 0
    relations: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- Finding and parsing ---------------------------------------------------------------------------

def find_seed_files(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, bool]]:
    """Files named, and seed files under folders named (recursive), as (path, named_explicitly).

    Paths are made absolute: a seed file is recorded by its path, and the same file named from
    another current folder must be the same seed (or its relations would be stored twice)."""
    return _scan(paths)[0]


def _scan(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[tuple[Path, bool]], list[str]]:
    """find_seed_files, and one error line per path named (or seed-named file in a folder) that
    is not a regular file: a FIFO would block the reader, /dev/zero never ends."""
    found: list[tuple[Path, bool]] = []
    errors: list[str] = []
    for raw in paths:
        path = Path(raw).resolve()
        if path.is_dir():
            for entry in sorted(path.rglob("*")):
                if entry.suffix.lower() not in SEED_SUFFIXES or entry.is_dir():
                    continue
                if entry.is_file():
                    found.append((entry, False))
                elif entry.exists():
                    errors.append(_irregular(entry, entry))
        elif path.is_file():
            found.append((path, True))
        elif path.exists():
            errors.append(_irregular(Path(raw), path))
    return found, errors


def _irregular(named: Path, real: Path) -> str:
    mode = real.stat().st_mode
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "not a regular file")
    via = f" (a link to {real})" if named.is_symlink() else ""
    return f"{named}{via}: {kind}, not a seed file; not read"


def missing_paths(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """One error line per path that names no file or folder."""
    return [f"{Path(raw).resolve()}: no such file or folder" for raw in paths if not Path(raw).exists()]


def require_paths(paths: Iterable[str | os.PathLike[str]]) -> None:
    """SeedError naming every missing path (a scheduled job must not run on a mistyped folder)."""
    missing = missing_paths(paths)
    if missing:
        raise SeedError("; ".join(missing))


def load_seed_file(path: str | os.PathLike[str]) -> SeedDoc:
    """Read and validate one seed file; raises SeedError naming the file and the field or line."""
    path = Path(path)
    raw = _read_at_most(path, MAX_SEED_BYTES)
    data = _front_matter(path, _decode(raw))
    item = _item(path, data, "")
    related, problems = _related(path, data.get("related"))
    return SeedDoc(str(path), hashlib.sha256(raw).hexdigest(), item, related, problems)


def _read_at_most(path: Path, limit: int) -> bytes:
    """The file's bytes, refused by its size before reading (a sparse 20 GB file was read whole
    into memory first), and read no further than `limit` + 1 bytes in case it grows meanwhile."""
    too_big = SeedError(f"{path}: larger than {limit} bytes, not a seed")
    try:
        with path.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size > limit:
                raise too_big
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise SeedError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(raw) > limit:
        raise too_big
    return raw


def _decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # old files saved by Windows tools
    return text.replace("\r\n", "\n")


def _front_matter(path: Path, text: str) -> dict[str, Any]:
    if not text.startswith("---") or text[:4].rstrip(" \t") not in ("---\n", "---"):
        raise NoFrontMatter(f"{path}: no YAML front matter (the file must start with a line '---')")
    body_start = text.find("\n") + 1
    end = FRONT_MATTER_END.search(text, body_start)
    if end is None:
        raise SeedError(f"{path}: front matter never ends (no closing line '---')")
    try:
        data = yaml.load(text[body_start:end.start()], Loader=_Loader)  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        raise SeedError(f"{path}: {_yaml_message(exc)}") from exc
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # a constructor's own error
        raise SeedError(f"{path}: invalid YAML: {type(exc).__name__}: {exc}") from exc
    if not isinstance(data, dict):
        raise SeedError(f"{path}: front matter is {type(data).__name__}, expected a mapping of fields")
    return data


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return f"invalid YAML: {problem}"
    return f"line {mark.line + 2}: invalid YAML: {problem}"  # +1 for '---', +1 for 1-based


def _related(path: Path, value: Any) -> tuple[tuple[SeedItem, ...], tuple[str, ...]]:
    """The good related items, and one error line per bad one: a bad item (a `javascript:` URL,
    a wrong type) is left out, not the seed and its other items with it."""
    if value is None:
        return (), ()
    if not isinstance(value, list):
        raise SeedError(f"{path}: related: expected a list, got {type(value).__name__}")
    items, problems = [], []
    for index, entry in enumerate(value):
        where = f"related[{index}]."
        try:
            if not isinstance(entry, dict):
                raise SeedError(f"{path}: related[{index}]: expected a mapping, got {type(entry).__name__}")
            items.append(_item(path, entry, where))
        except SeedError as exc:
            problems.append(str(exc))
    return tuple(items), tuple(problems)


def _item(path: Path, data: dict[str, Any], where: str) -> SeedItem:
    aliases = _aliases(path, data, where)
    provider = data.get("provider")
    if provider is not None and not isinstance(provider, dict):
        raise SeedError(f"{path}: {where}provider: expected a mapping, got {type(provider).__name__}")
    provider = provider or {}
    url = preferred_url(list(aliases))
    fields = {
        "title": _text(path, data, "title", where),
        "excerpt": _text(path, data, "excerpt", where),
        "published": _date(path, data, where),
        "published_source": None,
        "publisher": outlet_name(host_of(url), _text(path, provider, "name", f"{where}provider.")),
        "publisher_domain": _scalar(path, provider, "domain", f"{where}provider.") or host_of(url),
        "image": _image(data.get("images")),
    }
    if fields["published"]:
        fields["published_source"] = "seed"
    return SeedItem(aliases, url, fields, _topics(path, data.get("topics"), where))


def _aliases(path: Path, data: dict[str, Any], where: str) -> tuple[Alias, ...]:
    aliases: dict[str, Alias] = {}
    bad: list[str] = []
    for name, kind in URL_FIELDS:
        value = data.get(name)
        if value in (None, ""):
            continue
        try:
            alias = make_alias(value, kind)
        except UrlError as exc:
            bad.append(f"{where}{name}: {exc}")
            continue
        aliases.setdefault(alias.url, alias)
    if not aliases:
        reason = "; ".join(bad) if bad else "none of " + ", ".join(n for n, _ in URL_FIELDS) + " is set"
        raise SeedError(f"{path}: {where.rstrip('.') + ': ' if where else ''}no usable URL ({reason})")
    for line in bad:  # a bad alias beside a good URL is worth a note, not a lost article
        logger.warning("%s: %s (alias ignored)", path, line)
    return tuple(aliases.values())


def _scalar(path: Path, data: dict[str, Any], name: str, where: str) -> str | None:
    value = data.get(name)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (str, int, float)):
        return str(value)
    raise SeedError(f"{path}: {where}{name}: expected text, got {type(value).__name__}")


def _text(path: Path, data: dict[str, Any], name: str, where: str) -> str | None:
    return clean_text(_scalar(path, data, name, where))


def _date(path: Path, data: dict[str, Any], where: str) -> str | None:
    try:
        return to_utc_iso(data.get("publishedDateTime"))
    except BadDate as exc:
        raise SeedError(f"{path}: {where}publishedDateTime: {exc}") from exc


def _topics(path: Path, value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, (str, int, float)) for t in value):
        raise SeedError(f"{path}: {where}topics: expected a list of names")
    return tuple(str(t).strip() for t in value if str(t).strip())


def _image(value: Any) -> str | None:
    if not isinstance(value, list):
        return None
    for image in value:
        url = image.get("url") if isinstance(image, dict) else None
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            return url
    return None


def parse_seed_files(files: Sequence[Path], workers: int | None = None) -> Iterator[SeedDoc | SeedError]:
    """Parse files in order, in a process pool when there are many; errors are yielded, not raised."""
    if len(files) < PARALLEL_THRESHOLD or workers == 1:
        yield from map(_parse_one, files)
        return
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        yield from pool.map(_parse_one, files, chunksize=64)


def _parse_one(path: Path) -> SeedDoc | SeedError:
    try:
        return load_seed_file(path)
    except SeedError as exc:
        return exc


# --- Checking and saving ---------------------------------------------------------------------------

def check_seeds(paths: Iterable[str | os.PathLike[str]]) -> SeedSummary:
    """Validate seed files without writing anything."""
    summary = SeedSummary()
    keys: set[str] = set()
    for doc in _parsed(paths, summary):
        for item in (doc.item, *doc.related):
            keys.add(item.aliases[0].key)
        summary.relations += len(doc.related)
        summary.loaded += 1
    summary.articles = len(keys)
    return summary


def load_seeds(db: store.Database, paths: Iterable[str | os.PathLike[str]]) -> SeedSummary:
    """Parse seed files and save them (good files saved even when others are bad). Files whose
    content hash is already recorded are not parsed again: reloading the same seeds changes nothing."""
    summary = SeedSummary()
    memo = _LoadMemo()
    before = articles.count_articles(db)
    known = stored.load_loaded_hashes(db)
    with store.transaction(db):
        for doc in _parsed(paths, summary, known):
            _save_doc(db, doc, summary, memo)
    summary.articles = len(set(memo.ids.values()))
    summary.new_articles = articles.count_articles(db) - before
    return summary


def _parsed(paths: Iterable[str | os.PathLike[str]], summary: SeedSummary,
            known: dict[str, str] | None = None) -> Iterator[SeedDoc]:
    paths = list(paths)
    summary.errors.extend(missing_paths(paths))
    found, irregular = _scan(paths)
    summary.errors.extend(irregular)
    explicit = {p for p, named in found if named}
    summary.files = len(found)
    todo = []
    for path, _ in found:
        if known and known.get(str(path)) == _file_hash(path):
            summary.unchanged += 1
        else:
            todo.append(path)
    for path, result in zip(todo, parse_seed_files(todo)):
        if isinstance(result, NoFrontMatter) and path not in explicit:
            summary.skipped += 1
            summary.notes.append(f"{path}: skipped, no YAML front matter")
        elif isinstance(result, SeedError):
            summary.errors.append(str(result))
        else:
            summary.errors.extend(result.problems)
            yield result


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None  # parsed later, where the error is reported with its reason


def _save_doc(db: store.Database, doc: SeedDoc, summary: SeedSummary, memo: _LoadMemo) -> None:
    """Save one file in a savepoint of the load's transaction: a bad file is undone alone."""
    relations = 0
    try:
        with store.transaction(db):
            article_id = _save_item(db, doc.item, memo)
            stored.save_seed_file(db, doc.path, doc.sha256, article_id, len(doc.related))
            for position, item in enumerate(doc.related):
                related_id = _save_item(db, item, memo)
                relations += stored.save_relation(db, doc.path, related_id, article_id, position)
            stored.settle_seed_article(db, doc.path)
    except TrackerError as exc:
        memo.clear()  # ids made in the rolled-back part may be handed out again
        summary.errors.append(f"{doc.path}: {exc}")
    else:
        summary.loaded += 1
        summary.relations += relations


@dataclass
class _LoadMemo:
    """What this load already saved: item -> article id, and article id -> the item last applied.
    The same related item recurs in up to 138 files of one load; an identical repeat needs none
    of the four queries that would change nothing."""

    ids: dict[Any, int] = field(default_factory=dict)
    applied: dict[int, Any] = field(default_factory=dict)

    def clear(self) -> None:
        self.ids.clear()
        self.applied.clear()


def _save_item(db: store.Database, item: SeedItem, memo: _LoadMemo) -> int:
    """Resolve and save one item; a repeat is answered from `memo` (checked to still exist: a
    merge may have folded it away), re-applying its fields only if another version came between."""
    key = (item.aliases, item.url, tuple(sorted(item.fields.items())), item.topics)
    fields = dict(item.fields, topics=list(item.topics))
    known = memo.ids.get(key)
    if known is not None and articles.article_exists(db, known):
        if memo.applied.get(known) != key:  # the last version seen wins, as without the memo
            articles.apply_meta(db, known, fields, "seed")
            memo.applied[known] = key
        return known
    article_id, _ = articles.resolve_article(db, item.aliases, item.url, fields, "seed")
    memo.ids[key] = article_id
    memo.applied[article_id] = key
    return article_id

