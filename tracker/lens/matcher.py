"""Tag a text with the taxonomy: Aho-Corasick automatons (pyahocorasick, the one module that
imports it) over every alias, built once per run, then the rules a plain substring search lacks.

- Word boundaries: an alias matches only where it does not continue a word ("ICO" is not found in
  "Puerto Rico", "Meta" not in "metadata").
- Case: aliases match in any capitals (an automaton over the lowercased text), except `case:
  exact` ones, which a second automaton finds in the text as written.
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
_QUOTED = ("\u2019", "\u2018", "\u201c", "\u201d", "\u00a0")
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n+")
# a full stop after these is not a sentence's end ("U.S. regulators", "Art. 17", "Mr. Smith")
_ABBREVIATIONS = {"mr", "ms", "mrs", "dr", "st", "no", "art", "inc", "corp", "vs", "co", "ltd", "jr", "sr",
                  "gov", "sen", "rep", "gen", "prof", "dept", "u.s", "u.k", "e.u", "u.n"}
_ENDINGS = r"(?:s|es|d|ed|ing|'s)?"
_ARTICLE_BEFORE = re.compile(r"\b(?:articles?|art\.?|artikel|artículo|articolo)\s*(\d{1,3})"
                             r"(?:\s*\(\d+\))*(?:\s*\([a-z]\))?\s*,?\s+(?:of\s+)?(?:the\s+)?(?:EU\s+)?$",
                             re.IGNORECASE)
_ARTICLE_AFTER = re.compile(r"^,?\s+(?:articles?|art\.?|artikel)\s*(\d{1,3})\b", re.IGNORECASE)
MIN_TRIGGER = 3  # shorter literals would let the pattern run on nearly every text anyway
MAX_TRIGGER_SETS = 3  # a pattern runs only when one literal of each of these sets is in the text


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
            self._ends = [m.end() for m in _SENTENCE_END.finditer(self.text)
                          if "\n" in m.group() or not _abbreviation(self.text, m.start())]
            self._ends.append(len(self.text))
        i = bisect.bisect_right(self._ends, pos)
        i = min(i, len(self._ends) - 1)
        return (self._ends[i - 1] if i else 0), self._ends[i]

    def sentence(self, pos: int) -> str:
        start, end = self.sentence_bounds(pos)
        return self.text[start:end]


def _abbreviation(text: str, dot: int) -> bool:
    """Whether the full stop at `dot` ends an abbreviation or an initial rather than a sentence."""
    if text[dot] != ".":
        return False
    word = text[max(0, dot - 6):dot].rsplit(None, 1)[-1].lower() if dot else ""
    return len(word) == 1 and word.isalpha() or word.strip("(\"'") in _ABBREVIATIONS


def normalise(text: str) -> str:
    """The text matching runs on: typographic quotes and non-breaking spaces made plain."""
    # five substring scans cost less than one translate over a text that has none of them
    if any(c in text for c in _QUOTED):
        return text.translate(_QUOTES)
    return text


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
    exact_text: str


class Matcher:
    """Built once per run from a Taxonomy; `tag(text)` is then pure and cheap."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._automaton = ahocorasick.Automaton()  # over lowercased text: aliases and trigger literals
        # exact-case aliases ("EC", "US", "AI") in a second automaton over the text as written: in
        # lowercase they would be hit inside every "tech", "because" and "said"
        self._exact = ahocorasick.Automaton()
        self._exact_rules: dict[str, list[_Rule]] = {}
        # per automaton key: the alias rules it starts, the descriptions it anchors, and whether it
        # is a trigger literal at all (only those are remembered while scanning)
        self._payloads: list[tuple[list[_Rule], list[int], bool]] = []
        self._keys: dict[str, int] = {}
        self._descriptions: list[tuple[Entry, re.Pattern[str]]] = []
        self._others: list[list[frozenset[int]]] = []  # per description: the other trigger sets
        self._always: list[int] = []  # descriptions with no usable trigger literal
        for entry in taxonomy.entries:
            for alias in entry.aliases:
                if alias.exact:
                    self._exact_rules.setdefault(normalise(alias.text), []).append(self._rule(entry, alias))
                else:
                    self._payload(_lower(normalise(alias.text)))[0].append(self._rule(entry, alias))
        self._add_descriptions([(e, p) for e in taxonomy.entries for p in e.descriptions])
        for key, index in self._keys.items():
            self._automaton.add_word(key, (len(key), index))
        if self._keys:
            self._automaton.make_automaton()
        for key, rules in self._exact_rules.items():
            self._exact.add_word(key, (len(key), rules))
        if self._exact_rules:
            self._exact.make_automaton()

    def _payload(self, key: str, trigger: bool = False) -> tuple[list[_Rule], list[int], bool]:
        if key not in self._keys:
            self._keys[key] = len(self._payloads)
            self._payloads.append(([], [], trigger))
        elif trigger and not self._payloads[self._keys[key]][2]:
            rules, anchored, _ = self._payloads[self._keys[key]]
            self._payloads[self._keys[key]] = (rules, anchored, True)
        return self._payloads[self._keys[key]]

    @staticmethod
    def _rule(entry: Entry, alias: Alias) -> _Rule:
        text = alias.text
        return _Rule(entry, alias, _words_re(alias.context), _words_re(alias.not_context),
                     text[0].isalnum(), text[-1].isalnum(), normalise(text))

    def _add_descriptions(self, patterns: list[tuple[Entry, str]]) -> None:
        """Each description is anchored on its trigger set shared by the fewest descriptions (a
        rare word such as "Portland", not "data"); its other sets are checked once it is a candidate."""
        triggers = [[{_lower(normalise(lit)) for lit in lits} for lits in required_literals(p)]
                    for _, p in patterns]
        usage: dict[str, int] = {}
        for sets in triggers:
            for literal in set().union(*sets) if sets else ():
                usage[literal] = usage.get(literal, 0) + 1
        for (entry, pattern), sets in zip(patterns, triggers):
            index = len(self._descriptions)
            self._descriptions.append((entry, re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE)))
            if not sets:
                self._always.append(index)
                self._others.append([])
                continue
            anchor = min(sets, key=lambda lits: (sum(usage[lit] for lit in lits), -_shortest(lits)))
            for literal in anchor:
                self._payload(literal, trigger=True)[1].append(index)
            self._others.append([frozenset(self._trigger_index(lit) for lit in lits)
                                 for lits in sets if lits is not anchor])

    def _trigger_index(self, literal: str) -> int:
        self._payload(literal, trigger=True)  # also marks an alias key as a trigger
        return self._keys[literal]

    # --- tagging -----------------------------------------------------------------------------

    def tag(self, text: str) -> Tagged:
        """Tags of a text (title, excerpt and body joined by newlines)."""
        text = normalise(text)
        result = Tagged(text)
        if not self._payloads and not self._always and not self._exact_rules:
            return result
        found: list[Match] = []
        candidates: list[int] = list(self._always)
        seen: set[int] = set()
        lowered = _lower(text)
        for end, (length, index) in self._automaton.iter(lowered):
            rules, anchored, trigger = self._payloads[index]
            if trigger:
                seen.add(index)
                candidates += anchored
            start = end - length + 1
            for rule in rules:
                if self._accepts(rule, text, start, end + 1, result):
                    found.append(Match(start, end + 1, rule.entry.id, rule.entry.kind))
        if self._exact_rules:
            for end, (length, rules) in self._exact.iter(text):
                start = end - length + 1
                found += [Match(start, end + 1, rule.entry.id, rule.entry.kind) for rule in rules
                          if self._accepts(rule, text, start, end + 1, result)]
        for index in self._due(candidates, seen):
            entry, regex = self._descriptions[index]
            found += [Match(m.start(), m.end(), entry.id, entry.kind) for m in regex.finditer(text)
                      if m.end() > m.start()]
        result.matches = _outermost(found)
        self._count(result)
        return result

    def _due(self, candidates: list[int], seen: set[int]) -> list[int]:
        """Candidate descriptions (anchor seen, or always run) whose other trigger sets were seen."""
        return sorted(i for i in set(candidates)
                      if all(not keys.isdisjoint(seen) for keys in self._others[i]))

    @staticmethod
    def _accepts(rule: _Rule, text: str, start: int, end: int, result: Tagged) -> bool:
        if rule.bounded_left and start > 0 and text[start - 1].isalnum():
            return False
        if rule.bounded_right and end < len(text) and text[end].isalnum():
            return False
        if rule.alias.exact and text[start:end] != rule.exact_text:
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
    """Drop matches lying inside a longer one (same-span matches of different entries all stay);
    a name (a place, regulator, company...) is not dropped inside an action's match: an action
    description spans a clause ("calls for a US moratorium"), whose names still count."""
    names = _nest([m for m in matches if m.kind != "action"])
    actions = [m for m in _nest(matches) if m.kind == "action"]
    return sorted(names + actions, key=lambda m: (m.start, -(m.end - m.start)))


def _nest(matches: list[Match]) -> list[Match]:
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

def required_literals(pattern: str) -> list[set[str]]:
    """Sets of literals such that every match of `pattern` contains one literal of each set (at
    most MAX_TRIGGER_SETS sets, the most selective first; empty: nothing known, always run).

    Read from the parsed pattern: a run of literal characters outside any optional part is
    required; an alternation requires one of its branches' literals."""
    try:
        parsed = sre_parse.parse(pattern, re.IGNORECASE)
    except re.error:
        return []
    usable = [c for c in _all_required(list(parsed)) if _shortest(c) >= MIN_TRIGGER]
    usable.sort(key=_shortest, reverse=True)
    return usable[:MAX_TRIGGER_SETS]


def _shortest(literals: set[str]) -> int:
    return min((len(s.strip()) for s in literals), default=0)


def _all_required(items: list[tuple[Any, Any]]) -> list[set[str]]:
    found: list[set[str]] = []
    run: list[str] = []
    for op, av in items:
        if op is sre_parse.LITERAL:
            run.append(chr(av))
            continue
        if run:
            found.append({"".join(run)})
            run = []
        if op is sre_parse.SUBPATTERN:
            found += _all_required(list(av[-1]))
        elif op is sre_parse.BRANCH:
            best = [max(_all_required(list(b)), key=_shortest, default=None) for b in av[1]]
            if all(b and _shortest(b) > 0 for b in best):
                found.append(set().union(*best))  # type: ignore[arg-type]
        elif op in _REPEATS and av[0] >= 1:
            found += _all_required(list(av[2]))
    if run:
        found.append({"".join(run)})
    return found


_REPEATS = tuple(op for op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT,
                               getattr(sre_parse, "POSSESSIVE_REPEAT", None)) if op is not None)
