"""How much an article is about privacy regulation, in [0, 1], from its tags.

Regulators and laws weigh most, then enforcement actions; a technology, company or place alone
says an article is about tech, not about its regulation. An action word ("ban", "order", "ruling")
without a regulator or law counts for less, since such words are everywhere in the news; a fine
found in the text adds a little. An entry's `weight` in the taxonomy (default 1) scales its kind's
weight: the SEC or a competition authority is a regulator, but a story about it is less often about
privacy than one about a data-protection authority; a kind counts at its heaviest tag. A story's
relevance is the highest of its articles' (see the
`story_lens` table): one article about the enforcement makes the story about it.
"""

from __future__ import annotations

from typing import Any, Mapping

WEIGHTS: dict[str, float] = {"regulator": 0.4, "law": 0.35, "action": 0.2, "technology": 0.08,
                             "company": 0.05, "jurisdiction": 0.04}
LONE_ACTION = 0.4  # share of the action weight left when no regulator or law is named
SECOND_TAG = 0.25  # a second distinct tag of a kind adds this share of the kind's weight
FINE_BONUS = 0.15


def score(tags: Mapping[str, list[Any]], n_fines: int = 0, weights: Mapping[str, float] | None = None) -> float:
    """Relevance of an article with these tags (tag -> [kind, label, mentions]) and fines; `weights`
    holds the taxonomy entries whose weight is not 1."""
    weights = weights or {}
    per_kind: dict[str, int] = {}
    heaviest: dict[str, float] = {}
    for tag, (kind, _label, _mentions) in tags.items():
        per_kind[kind] = per_kind.get(kind, 0) + 1
        heaviest[kind] = max(heaviest.get(kind, 0.0), weights.get(tag, 1.0))
    core = "regulator" in per_kind or "law" in per_kind
    total = 0.0
    for kind, count in per_kind.items():
        weight = WEIGHTS.get(kind, 0.0) * heaviest[kind] * (1 + SECOND_TAG * (count > 1))
        if kind == "action" and not core:
            weight *= LONE_ACTION
        total += weight
    if n_fines:
        total += FINE_BONUS
    return round(min(total, 1.0), 3)
