"""Tag a text with the taxonomy: one Aho-Corasick automaton (pyahocorasick, the one module that
imports it) over every alias, built once per run, then the rules a plain substring search lacks.

- Word boundaries: an alias matches only where it does not continue a word ("ICO" is not found in
  "Puerto Rico", "Meta" not in "metadata").
- Case: `case: exact` aliases match in their own capitals only (the automaton runs on lowercased
  text; the original slice is compared afterwards).
- Context: an ambiguous alias needs one of its `context` words, and none of its `not_context` words,
  in the same sentence ("ICO" with "fine" or "data", not with "coin").
- Overlaps: a match inside a longer accepted match is dropped ("UK GDPR" is not also "GDPR"; the
  "California" in "California Consumer Privacy Act" is not a separate mention). An entry's
  `jurisdiction` is tagged whenever the entry is.
- Descriptions: the taxonomy's regexes ("the UK's privacy watchdog"), word-bounded here. Running a
  hundred regexes over every article is the slow part of tagging, so each pattern runs only when the
  automaton has seen a literal that any match of it must contain (read from the parsed pattern).
- Law articles: on a law with `articles: true`, "Article 17 GDPR", "GDPR Article 17" and "Art. 17 of
  the GDPR" also give the tag `gdpr-art-17`.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from re import _parser as sre_parse  # type: ignore[attr-defined]  # the stdlib's own pattern parser
from typing import Any

import ahocorasick

from tracker.lens.taxonomy import Alias, Entry, Taxonomy

# Typographic quotes become plain ones (same length, so offsets hold): "Britain’s" matches "Britain's".
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})
_SENTENCE_END = re.compile(
    r"(?<!\b[A-Z])(?<!\bMr)(?<!\bMs)(?<!\bDr)(?<!\bSt)(?<!\bNo)(?<!\bArt)(?<!\bInc)(?<!\bMrs)(?<!\bCorp)"
    r"(?<!\bvs)[.!?]+[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n+")
_ENDINGS = r"(?:s|es|d|ed|ing|'s)?"
_ARTICLE_BEFORE = re.compile(r"\b(?:articles?|art\.?|artikel|artículo|articolo)\s*(\d{1,3})"
                             r"(?:\s*\(\d+\))*(?:\s*\([a-z]\))?\s*,?\s+(?:of\s+)?(?:the\s+)?(?:EU\s+)?$",
                             re.IGNORECASE)
_ARTICLE_AFTER = re.compile(r"^,?\s+(?:articles?|art\.?|artikel)\s*(\d{1,3})\b", re.IGNORECASE)
MIN_TRIGGER = 3  # shorter literals would let the pattern run on nearly every text anyway


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    tag: str
    kind: str


@dataclass
class Tagged:
    """What one text gave: tag -> [kind, label, mentions], the accepted matches, and the text."""

    text: str
    tags: dict[str, list[Any]] = field(default_factory=dict)
    matches: list[Match] = field(default_factory=list)
    _ends: list[int] | None = None

    def sentence_bounds(self, pos: int) -> tuple[int, int]:
        """(start, end) of the sentence holding position `pos`."""
        if self._ends is None:
            self._ends = [m.end() for m in _SENTENCE_END.finditer(self.text)] + [len(self.text)]
        i = bisect.bisect_right(self._ends, pos)
        i = min(i, len(self._ends) - 1)
        return (self._ends[i - 1] if i else 0), self._ends[i]

    def sentence(self, pos: int) -> str:
        start, end = self.sentence_bounds(pos)
        return self.text[start:end]


def normalise(text: str) -> str:
    """The text matching runs on: typographic quotes and non-breaking spaces made plain."""
    return text.translate(_QUOTES)


def _lower(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    # a few characters lowercase to two ("İ"): keep them as they are so that offsets still agree
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _words_re(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = "|".join(re.escape(normalise(w)) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives}){_ENDINGS}(?!\w)", re.IGNORECASE)


@dataclass
class _Rule:
    """One alias of one entry, with its compiled context checks."""

    entry: Entry
    alias: Alias
    context: re.Pattern[str] | None
    not_context: re.Pattern[str] | None
    bounded_left: bool
    bounded_right: bool


class Matcher:
    """Built once per run from a Taxonomy; `tag(text)` is then pure and cheap."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._automaton = ahocorasick.Automaton()
        self._payloads: list[tuple[list[_Rule], list[int]]] = []
        self._descriptions: list[tuple[Entry, re.Pattern[str]]] = []
        self._always: list[int] = []  # descriptions with no usable trigger literal
        keys: dict[str, int] = {}
        for entry in taxonomy.entries:
            for alias in entry.aliases:
                self._payload(keys, _lower(normalise(alias.text)))[0].append(self._rule(entry, alias))
            for pattern in entry.descriptions:
                self._add_description(keys, entry, pattern)
        for key, index in keys.items():
            self._automaton.add_word(key, (len(key), index))
        if keys:
            self._automaton.make_automaton()

    def _payload(self, keys: dict[str, int], key: str) -> tuple[list[_Rule], list[int]]:
        if key not in keys:
            keys[key] = len(self._payloads)
            self._payloads.append(([], []))
        return self._payloads[keys[key]]

    @staticmethod
    def _rule(entry: Entry, alias: Alias) -> _Rule:
        text = alias.text
        return _Rule(entry, alias, _words_re(alias.context), _words_re(alias.not_context),
                     text[0].isalnum(), text[-1].isalnum())

    def _add_description(self, keys: dict[str, int], entry: Entry, pattern: str) -> None:
        index = len(self._descriptions)
        self._descriptions.append((entry, re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE)))
        triggers = required_literals(pattern)
        if not triggers:
            self._always.append(index)
            return
        for literal in triggers:
            self._payload(keys, _lower(normalise(literal)))[1].append(index)

    # --- tagging -----------------------------------------------------------------------------

    def tag(self, text: str) -> Tagged:
        """Tags of a text (title, excerpt and body joined by newlines)."""
        text = normalise(text)
        result = Tagged(text)
        if not self._payloads and not self._always:
            return result
        found: list[Match] = []
        patterns = set(self._always)
        lowered = _lower(text)
        for end, (length, index) in self._automaton.iter(lowered):
            rules, descriptions = self._payloads[index]
            patterns.update(descriptions)
            start = end - length + 1
            for rule in rules:
                if self._accepts(rule, text, start, end + 1, result):
                    found.append(Match(start, end + 1, rule.entry.id, rule.entry.kind))
        for index in sorted(patterns):
            entry, regex = self._descriptions[index]
            found += [Match(m.start(), m.end(), entry.id, entry.kind) for m in regex.finditer(text)
                      if m.end() > m.start()]
        result.matches = _outermost(found)
        self._count(result)
        return result

    @staticmethod
    def _accepts(rule: _Rule, text: str, start: int, end: int, result: Tagged) -> bool:
        if rule.bounded_left and start > 0 and text[start - 1].isalnum():
            return False
        if rule.bounded_right and end < len(text) and text[end].isalnum():
            return False
        if rule.alias.exact and text[start:end] != normalise(rule.alias.text):
            return False
        if rule.context is None and rule.not_context is None:
            return True
        sentence = result.sentence(start)
        if rule.not_context is not None and rule.not_context.search(sentence):
            return False
        return rule.context is None or rule.context.search(sentence) is not None

    def _count(self, result: Tagged) -> None:
        by_id = self.taxonomy.by_id
        for match in result.matches:
            entry = by_id[match.tag]
            _add(result.tags, entry.id, entry.kind, entry.name)
            if entry.jurisdiction:
                place = by_id[entry.jurisdiction]
                _add(result.tags, place.id, place.kind, place.name)
            if entry.articles:
                number = _article_number(result.text, match)
                if number:
                    _add(result.tags, f"{entry.id}-art-{number}", "law", f"{_short(entry)} Article {number}")


def _add(tags: dict[str, list[Any]], tag: str, kind: str, label: str) -> None:
    if tag in tags:
        tags[tag][2] += 1
    else:
        tags[tag] = [kind, label, 1]


def _outermost(matches: list[Match]) -> list[Match]:
    """Drop matches lying inside a longer one (same-span matches of different entries all stay)."""
    matches.sort(key=lambda m: (m.start, -(m.end - m.start)))
    kept: list[Match] = []
    reach = -1
    for match in matches:
        if match.end <= reach and not (kept and (kept[-1].start, kept[-1].end) == (match.start, match.end)):
            continue
        kept.append(match)
        reach = max(reach, match.end)
    return kept


def _article_number(text: str, match: Match) -> str | None:
    before = _ARTICLE_BEFORE.search(text[max(0, match.start - 40):match.start])
    if before:
        return before.group(1)
    after = _ARTICLE_AFTER.match(text[match.end:match.end + 20])
    return after.group(1) if after else None


def _short(entry: Entry) -> str:
    if entry.short:
        return entry.short
    capitals = [a.text for a in entry.aliases if a.text.isupper() and len(a.text) <= 12]
    return min(capitals, key=len) if capitals else entry.name


# --- Trigger literals --------------------------------------------------------------------------

def required_literals(pattern: str) -> set[str]:
    """Literals of which every match of `pattern` contains at least one (empty: none known).

    Read from the parsed pattern: a run of literal characters outside any optional part is
    required; an alternation requires one of its branches' literals."""
    try:
        parsed = sre_parse.parse(pattern, re.IGNORECASE)
    except re.error:
        return set()
    found = _required(list(parsed))
    return found if found and min(len(s) for s in found) >= MIN_TRIGGER else set()


def _required(items: list[tuple[Any, Any]]) -> set[str] | None:
    candidates: list[set[str]] = []
    run: list[str] = []
    for op, av in items:
        if op is sre_parse.LITERAL:
            run.append(chr(av))
            continue
        if run:
            candidates.append({"".join(run)})
            run = []
        sub = _required_of(op, av)
        if sub:
            candidates.append(sub)
    if run:
        candidates.append({"".join(run)})
    usable = [c for c in candidates if c and min(len(s.strip()) for s in c) > 0]
    return max(usable, key=lambda c: min(len(s.strip()) for s in c), default=None)


def _required_of(op: Any, av: Any) -> set[str] | None:
    if op is sre_parse.SUBPATTERN:
        return _required(list(av[-1]))
    if op is sre_parse.BRANCH:
        branches = [_required(list(b)) for b in av[1]]
        if all(branches):
            return set().union(*branches)  # type: ignore[arg-type]
        return None
    if op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, getattr(sre_parse, "POSSESSIVE_REPEAT", None)):
        low, _high, sub = av
        return _required(list(sub)) if low >= 1 else None
    return None
