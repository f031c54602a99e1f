"""How much an article is about privacy regulation, in [0, 1], from its tags.

Regulators and laws weigh most, then enforcement actions; a technology, company or place alone
says an article is about tech, not about its regulation. An action word ("ban", "order", "ruling")
without a regulator or law counts for less, since such words are everywhere in the news; a fine
found in the text adds a little. A story's relevance is the highest of its articles' (see the
`story_lens` view): one article about the enforcement makes the story about it.
"""

from __future__ import annotations

from typing import Any, Mapping

WEIGHTS: dict[str, float] = {"regulator": 0.4, "law": 0.35, "action": 0.2, "technology": 0.08,
                             "company": 0.05, "jurisdiction": 0.04}
LONE_ACTION = 0.4  # share of the action weight left when no regulator or law is named
SECOND_TAG = 0.25  # a second distinct tag of a kind adds this share of the kind's weight
FINE_BONUS = 0.15


def score(tags: Mapping[str, list[Any]], n_fines: int = 0) -> float:
    """Relevance of an article with these tags (tag -> [kind, label, mentions]) and fines."""
    per_kind: dict[str, int] = {}
    for kind, _label, _mentions in tags.values():
        per_kind[kind] = per_kind.get(kind, 0) + 1
    core = "regulator" in per_kind or "law" in per_kind
    total = 0.0
    for kind, count in per_kind.items():
        weight = WEIGHTS.get(kind, 0.0) * (1 + SECOND_TAG * (count > 1))
        if kind == "action" and not core:
            weight *= LONE_ACTION
        total += weight
    if n_fines:
        total += FINE_BONUS
    return round(min(total, 1.0), 3)
