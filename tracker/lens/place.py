"""The jurisdiction of the action: of the places a text names, those where the action is.

An article about the ICO's fine of a US firm that also recalls a case in France is about the United
Kingdom; tagging every country named made the jurisdiction tags right only 57% of the time on real
text. The matcher still finds every place (the fine finder reads them to settle a bare `$` or
`kr`); `action_places` then says which to keep as the article's jurisdiction tags:

- the place of an authority named (a regulator, or a public body such as a police force): where
  that authority acts;
- a place named, or a law's place, in a clause (a sentence, cut at semicolons) that holds an
  action ("fined", "deployed", "sued", "bill"); not a company's home there ("US-based Clearview",
  "a UK firm"), which says where the company is, not where it is acted on;
- a place named in the first line (the title), unless as a company's home;
- when none of these gives a place (no authority, no action beside a place), the places of the first
  sentence that names one (usually the title), so that a story with no action word keeps its place;
- a text naming one place at most keeps it: there is nothing to choose between.
"""

from __future__ import annotations

import re
from typing import Mapping

from tracker.lens.matcher import Match, Tagged
from tracker.lens.taxonomy import Entry

# A company's home right after the place ("US-based", "UK firm", "Chinese-owned" is no alias) ...
_HOME_AFTER = re.compile(r"^(?:-(?:based|headquartered|owned|registered)\b|\s+(?:based|headquartered)\b|"
                         r"\s+(?:(?!(?:the|a|an|and|or|to|in|on|of|for|with)\s)[\w.-]+\s+){0,3}?(?:firm|firms|company|companies|startup|start-up|giant|"
                         r"conglomerate|developer|maker|subsidiary|unit)\b)", re.IGNORECASE)
# ... or right before it ("a startup based in the US", "headquartered in Ireland")
_HOME_BEFORE = re.compile(r"\b(?:based|headquartered|incorporated|registered)\s+in\s+(?:the\s+)?$",
                          re.IGNORECASE)
AUTHORITY_KINDS = ("regulator", "company")  # a company entry with a jurisdiction is a public body


def action_places(tagged: Tagged, by_id: Mapping[str, Entry]) -> set[str]:
    """The jurisdiction ids of `tagged` that are the place of its action (see the module's docstring)."""
    named = {tag for tag, (kind, _label, _n) in tagged.tags.items() if kind == "jurisdiction"}
    if len(named) <= 1:
        return named
    acted = {clause_bounds(tagged, m.start) for m in tagged.matches if m.kind == "action"}
    kept: set[str] = set()
    first: tuple[int, set[str]] | None = None  # the first sentence naming a place, and its places
    for match in tagged.matches:
        places = _places(match, by_id)
        if not places:
            continue
        bounds = clause_bounds(tagged, match.start)
        if first is None or bounds[0] < first[0]:
            first = (bounds[0], set(places))
        elif bounds[0] == first[0]:
            first[1].update(places)
        if match.kind in AUTHORITY_KINDS:
            kept.update(places)
        elif match.kind == "jurisdiction" and is_home(tagged.text, match):
            continue
        elif bounds in acted or (bounds[0] == 0 and match.kind == "jurisdiction"):
            kept.update(places)  # the clause with the action, or the title (the text's first line)
    if not kept and first is not None:
        kept = first[1]
    # the country a kept state lies in stays too ("Texas AG" places the action in the United States)
    kept |= {entry.jurisdiction for place in kept if (entry := by_id.get(place)) and entry.jurisdiction}
    return kept & named


def clause_bounds(tagged: Tagged, pos: int) -> tuple[int, int]:
    """(start, end) of the clause holding `pos`: its sentence, cut at semicolons."""
    start, end = tagged.sentence_bounds(pos)
    before = tagged.text.rfind(";", start, pos)
    after = tagged.text.find(";", pos, end)
    return (before + 1 if before >= 0 else start), (after if after >= 0 else end)


def _places(match: Match, by_id: Mapping[str, Entry]) -> list[str]:
    """The jurisdictions a match places its sentence in: the place and the country it lies in
    (Illinois and the United States), or the place of a regulator, public body or law."""
    entry = by_id.get(match.tag)
    if match.kind == "jurisdiction":
        return [match.tag, entry.jurisdiction] if entry is not None and entry.jurisdiction else [match.tag]
    return [entry.jurisdiction] if entry is not None and entry.jurisdiction and match.kind in (
        "regulator", "company", "law") else []


def is_home(text: str, match: Match) -> bool:
    """Whether the place at `match` is said to be a company's home ("US-based", "a UK firm")."""
    return bool(_HOME_AFTER.match(text[match.end:match.end + 30])
                or _HOME_BEFORE.search(text[max(0, match.start - 40):match.start]))


def keep_action_places(tagged: Tagged, by_id: Mapping[str, Entry]) -> None:
    """Drop from `tagged.tags` the jurisdictions that are not the place of the action."""
    keep = action_places(tagged, by_id)
    for tag in [t for t, (kind, _l, _n) in tagged.tags.items() if kind == "jurisdiction" and t not in keep]:
        del tagged.tags[tag]
