"""The lens taxonomy: YAML files an analyst edits, loaded, validated and fingerprinted here.

A taxonomy is a folder of YAML files (`tracker/lens/taxonomy/` ships one per kind), or one file.
Each file is::

    kind: regulator          # regulator, law, action, technology, jurisdiction or company
    entries:
      - id: ico              # stable id, [a-z0-9-], unique across all files
        name: Information Commissioner's Office (UK)    # display label
        jurisdiction: gb     # optional: a jurisdiction id, tagged too whenever this entry is
        aliases:             # literal phrases, matched case-insensitively on word boundaries
          - Information Commissioner's Office
          - text: ICO
            case: exact      # match in exactly these capitals only
            context: [privacy, data, fine]       # needs one of these words in the same sentence
            not_context: [coin, token, crypto]   # any of these in the sentence vetoes the match
        descriptions:        # Python regexes (case-insensitive) for "the UK's privacy watchdog"
          - "\\b(UK|Britain's) (data|privacy) watchdog\\b"

Optional keys this loader adds to that format: `articles: true` on a law (then "Article 17 GDPR",
"GDPR Article 17", "Art. 17 GDPR" also give the tag `gdpr-art-17`, "GDPR Article 17"); `short:` on a
law, the name used in those article labels (default: its shortest all-capitals alias, else its
name); `weight:` (0 to 1, default 1), how much a tag of this entry says the article is about privacy
regulation: a securities, telecom or competition regulator is a right tag that weighs less in
relevance than a data-protection authority (tracker/lens/relevance.py); `note:` anywhere in an
entry, free text for the analyst, ignored. An entry's `name` is a label
only: list it under `aliases` as well if it should match.

Context words match whole words, also with an English ending (`fine` matches "fine", "fines",
"fined"; `data` does not match "database"), case-insensitively.

Problems are reported one per line as `file:line: message`; `load_taxonomy` raises a TaxonomyError
before anything is used, so a broken taxonomy never tags half an archive.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tracker.errors import TaxonomyError

KINDS = ("regulator", "law", "action", "technology", "jurisdiction", "company")
DEFAULT_TAXONOMY = Path(__file__).resolve().parent / "taxonomy"
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ENTRY_KEYS = {"id", "name", "jurisdiction", "aliases", "descriptions", "articles", "short", "weight", "note"}
ALIAS_KEYS = {"text", "case", "context", "not_context"}
# Bump when matching rules change in a way that changes tags: the fingerprint then retags everything.
MATCHER_VERSION = "1"


@dataclass(frozen=True)
class Alias:
    text: str
    exact: bool = False  # match these capitals only
    context: tuple[str, ...] = ()  # one of these words must be in the sentence
    not_context: tuple[str, ...] = ()  # none of these may be


@dataclass(frozen=True)
class Entry:
    id: str
    name: str
    kind: str
    jurisdiction: str | None = None
    aliases: tuple[Alias, ...] = ()
    descriptions: tuple[str, ...] = ()
    articles: bool = False
    short: str | None = None
    weight: float = 1.0  # share of its kind's relevance weight (a competition regulator: less)
    where: str = ""  # file:line, for messages


@dataclass(frozen=True)
class Taxonomy:
    entries: tuple[Entry, ...]
    fingerprint: str
    by_id: dict[str, Entry] = field(compare=False, default_factory=dict)

    def label(self, tag: str) -> str:
        """Display label of a tag id (an entry's name; article tags carry their own)."""
        return self.by_id[tag].name


# --- Loading -----------------------------------------------------------------------------------

def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and validate a taxonomy folder or file; raise TaxonomyError naming the first problem."""
    entries, problems = _read(Path(path) if path else DEFAULT_TAXONOMY)
    if problems:
        more = f" (and {len(problems) - 1} more: run `tracker taxonomy check`)" if len(problems) > 1 else ""
        raise TaxonomyError(problems[0] + more)
    return Taxonomy(tuple(entries), fingerprint(entries), {e.id: e for e in entries})


def check_taxonomy(path: str | Path | None = None) -> tuple[int, list[str]]:
    """Validate without using: (number of entries, one `file:line: message` per problem)."""
    entries, problems = _read(Path(path) if path else DEFAULT_TAXONOMY)
    return len(entries), problems


def fingerprint(entries: list[Entry] | tuple[Entry, ...]) -> str:
    """Identity of what the taxonomy tags: every entry's matching data and the matcher version."""
    data = [{k: v for k, v in asdict(e).items() if k != "where"} for e in sorted(entries, key=lambda e: e.id)]
    blob = json.dumps([MATCHER_VERSION, data], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())
    return [path]


def _read(path: Path) -> tuple[list[Entry], list[str]]:
    if not path.exists():
        return [], [f"{path}: no such taxonomy file or folder"]
    files = _files(path)
    if not files:
        return [], [f"{path}: no .yml files in this folder"]
    entries: list[Entry] = []
    problems: list[str] = []
    for file in files:
        file_entries, file_problems = _read_file(file)
        entries += file_entries
        problems += file_problems
    problems += _cross_checks(entries)
    return entries, problems


def _read_file(file: Path) -> tuple[list[Entry], list[str]]:
    try:
        root = yaml.compose(file.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        return [], [f"{file}:{line}: broken YAML: {exc.problem or exc}"]
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return [], [f"{file}:1: cannot read: {exc}"]
    if not isinstance(root, yaml.MappingNode):
        return [], [f"{file}:1: expected a mapping with `kind` and `entries`"]
    top = _mapping(root)
    kind = _text(top.get("kind"))
    if kind not in KINDS:
        line = _line(top["kind"]) if "kind" in top else 1
        return [], [f"{file}:{line}: unknown kind {kind!r} (one of {', '.join(KINDS)})"]
    entries_node = top.get("entries")
    if not isinstance(entries_node, yaml.SequenceNode):
        return [], [f"{file}:{_line(root)}: `entries` must be a list"]
    entries, problems = [], []
    for node in entries_node.value:
        entry, entry_problems = _entry(file, kind, node)
        problems += entry_problems
        if entry is not None:
            entries.append(entry)
    return entries, problems


# --- Nodes -------------------------------------------------------------------------------------

def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _mapping(node: yaml.MappingNode) -> dict[str, yaml.Node]:
    return {str(k.value): v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _value(node: yaml.Node | None) -> Any:
    if node is None:
        return None
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _text(node: yaml.Node | None) -> str | None:
    """A scalar as written, never YAML 1.1's reading of it: the id `no` (Norway) stays "no", not
    False, and the alias `702` stays text."""
    if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null" and str(node.value).strip():
        return str(node.value).strip()
    return None


def _strings(node: yaml.Node | None) -> list[str] | None:
    """A list of non-empty texts (a single text counts as a list of one), else None."""
    if isinstance(node, yaml.ScalarNode):
        node = yaml.SequenceNode("tag:yaml.org,2002:seq", [node])
    if not isinstance(node, yaml.SequenceNode):
        return None
    texts = [_text(item) for item in node.value]
    return None if any(t is None for t in texts) else texts  # type: ignore[return-value]


# --- Entries -----------------------------------------------------------------------------------

def _entry(file: Path, kind: str, node: yaml.Node) -> tuple[Entry | None, list[str]]:
    where = f"{file}:{_line(node)}"
    if not isinstance(node, yaml.MappingNode):
        return None, [f"{where}: an entry must be a mapping with id, name and aliases"]
    fields = _mapping(node)
    problems = [f"{file}:{_line(fields[k])}: unknown field {k!r} (one of {', '.join(sorted(ENTRY_KEYS))})"
                for k in fields if k not in ENTRY_KEYS]
    entry_id, name = _text(fields.get("id")), _text(fields.get("name"))
    if not isinstance(entry_id, str) or not ID_RE.match(entry_id):
        return None, problems + [f"{where}: bad id {entry_id!r} (lowercase letters, digits and dashes)"]
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}: entry {entry_id!r} has no name")
    aliases, alias_problems = _aliases(file, entry_id, fields.get("aliases"))
    descriptions, desc_problems = _descriptions(file, entry_id, fields.get("descriptions"))
    problems += alias_problems + desc_problems + _optional_fields(file, kind, entry_id, fields)
    if not aliases and not descriptions:
        problems.append(f"{where}: entry {entry_id!r} has no aliases or descriptions: it can never match")
    entry = Entry(id=entry_id, name=str(name or entry_id).strip(), kind=kind,
                  jurisdiction=_text(fields.get("jurisdiction")), aliases=tuple(aliases),
                  descriptions=tuple(descriptions), articles=bool(_value(fields.get("articles"))),
                  short=_text(fields.get("short")), weight=_weight(fields.get("weight")), where=where)
    return entry, problems


def _weight(node: yaml.Node | None) -> float:
    value = _value(node)
    return float(value) if _is_weight(value) else 1.0  # a bad one is reported by _optional_fields


def _is_weight(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


def _optional_fields(file: Path, kind: str, entry_id: str, fields: dict[str, yaml.Node]) -> list[str]:
    problems = []
    if "jurisdiction" in fields and _text(fields["jurisdiction"]) is None:
        problems.append(f"{file}:{_line(fields['jurisdiction'])}: {entry_id}: jurisdiction must be an id")
    if "articles" in fields:
        if not isinstance(_value(fields["articles"]), bool):
            problems.append(f"{file}:{_line(fields['articles'])}: {entry_id}: articles must be true or false")
        elif kind != "law":
            problems.append(f"{file}:{_line(fields['articles'])}: {entry_id}: articles is for laws only")
    if "short" in fields and _text(fields["short"]) is None:
        problems.append(f"{file}:{_line(fields['short'])}: {entry_id}: short must be text")
    if "weight" in fields:
        if not _is_weight(_value(fields["weight"])):
            problems.append(f"{file}:{_line(fields['weight'])}: {entry_id}: weight must be a number from 0 to 1")
    return problems


def _aliases(file: Path, entry_id: str, node: yaml.Node | None) -> tuple[list[Alias], list[str]]:
    if node is None:
        return [], []
    if not isinstance(node, yaml.SequenceNode):
        return [], [f"{file}:{_line(node)}: {entry_id}: aliases must be a list"]
    aliases, problems = [], []
    for item in node.value:
        alias, problem = _alias(f"{file}:{_line(item)}", entry_id, item)
        if problem:
            problems.append(problem)
        else:
            aliases.append(alias)
    return aliases, problems


def _alias(where: str, entry_id: str, node: yaml.Node) -> tuple[Any, str | None]:
    if isinstance(node, yaml.ScalarNode):
        text = _text(node)
        if text is None:
            return None, f"{where}: {entry_id}: empty alias"
        return Alias(text), None
    if not isinstance(node, yaml.MappingNode):
        return None, f"{where}: {entry_id}: an alias is text or a mapping with `text`"
    fields = _mapping(node)
    unknown = [k for k in fields if k not in ALIAS_KEYS]
    if unknown:
        return None, f"{where}: {entry_id}: unknown alias field {unknown[0]!r} (one of {', '.join(sorted(ALIAS_KEYS))})"
    text = _text(fields.get("text"))
    if text is None:
        return None, f"{where}: {entry_id}: alias without `text`"
    case = _text(fields.get("case"))
    if case not in (None, "exact", "any"):
        return None, f"{where}: {entry_id}: case must be `exact` or `any`, not {case!r}"
    context, not_context = (_strings(fields[k]) if k in fields else [] for k in ("context", "not_context"))
    if context is None or not_context is None:
        return None, f"{where}: {entry_id}: context and not_context must be lists of words"
    return Alias(text, case == "exact", tuple(context), tuple(not_context)), None


def _descriptions(file: Path, entry_id: str, node: yaml.Node | None) -> tuple[list[str], list[str]]:
    if node is None:
        return [], []
    if not isinstance(node, yaml.SequenceNode):
        return [], [f"{file}:{_line(node)}: {entry_id}: descriptions must be a list of patterns"]
    patterns, problems = [], []
    for item in node.value:
        pattern = _text(item)
        if pattern is None:
            problems.append(f"{file}:{_line(item)}: {entry_id}: a description must be a pattern (text)")
            continue
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            problems.append(f"{file}:{_line(item)}: {entry_id}: bad regex {pattern!r}: {exc}")
            continue
        patterns.append(pattern)
    return patterns, problems


# --- Across files ------------------------------------------------------------------------------

def _cross_checks(entries: list[Entry]) -> list[str]:
    problems: list[str] = []
    seen: dict[str, Entry] = {}
    for entry in entries:
        if entry.id in seen:
            problems.append(f"{entry.where}: duplicate id {entry.id!r} (first at {seen[entry.id].where})")
        else:
            seen[entry.id] = entry
    for entry in entries:
        target = seen.get(entry.jurisdiction) if entry.jurisdiction else None
        if entry.jurisdiction and (target is None or target.kind != "jurisdiction"):
            problems.append(f"{entry.where}: {entry.id}: jurisdiction {entry.jurisdiction!r} "
                            "is not the id of a jurisdiction entry")
    return problems + _alias_clashes(entries)


def _alias_clashes(entries: list[Entry]) -> list[str]:
    """An alias two entries claim is ambiguous: allowed only when both say which context they need."""
    claims: dict[str, tuple[Entry, Alias]] = {}
    problems = []
    for entry in entries:
        for alias in entry.aliases:
            key = alias.text.casefold()
            first = claims.setdefault(key, (entry, alias))
            other, other_alias = first
            if other.id == entry.id or (alias.context and other_alias.context):
                continue
            if alias.exact and other_alias.exact and alias.text != other_alias.text:
                continue  # "Meta" and "META" in exact case are different words
            problems.append(f"{entry.where}: {entry.id}: alias {alias.text!r} is also claimed by "
                            f"{other.id!r} ({other.where}); give both a context, or keep one")
    return problems
