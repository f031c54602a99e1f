"""Stories that change their mind: splitting a story whose articles report two events.

Joining is decided one article at a time, so a story can take in a follow-up that turns out to be
another event: an expose and, days later, the class action filed over it ("Class-action lawsuit
filed against ..."), worded alike and naming the same company. Once the story has formed, the
lens's tags show it: a minority of its originals names an action, company or regulator that the
story as a whole does not (`minority_tags`). Only such stories are looked at again (so the pass
costs nothing on stories the lens sees as one event, and nothing on untagged news).

The story's items are clustered again on their own, with the lens's relaxation of the joining test
turned off (`event_similarity` out of reach: words alone must show one event). A part of two or
more originals whose main tags hold a minority tag, and that the lens does not show to be the
rest's event (`tracker.stories.evidence.same_event`), is split off; everything else stays. The
larger part keeps the story (its first article leads it, and stable ids follow the larger part:
tracker/stories/stage.py). A single article is never split off: one voice is not a second event.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:
    from tracker.stories.cluster import Clusterer

from tracker.stories.evidence import STAGES, TARGET_KINDS, Evidence, main_tags, same_event
from tracker.stories.model import ClusterOptions, Item, dot

SPLIT_KINDS = TARGET_KINDS + ("action",)  # who an event is done by or to, and what was done


def minority_tags(items: Sequence[Item], options: ClusterOptions) -> set[str]:
    """Tags of `SPLIT_KINDS` that at least two of the items carry but fewer than `event_share` of
    them: the mark of a second event inside a story."""
    counts: Counter[str] = Counter(tag for item in items for tag in item.tags
                                   if tag.partition(":")[0] in SPLIT_KINDS)
    return {tag for tag, n in counts.items() if 2 <= n < options.event_share * len(items)}


def split_story(items: Sequence[Item], options: ClusterOptions,
                duplicates: Iterable[int] = ()) -> list[list[int]]:
    """The parts of a story to split off (lists of item ids, each in time order): empty when the
    story is one event. `duplicates` (copies, one voice) count for neither side."""
    from tracker.stories.cluster import Clusterer  # (cluster.py imports this module)

    if len(items) < 2 * options.split_min or not options.use_tags:
        return []
    ordered = sorted(items, key=lambda i: (i.time, i.id))
    minority = minority_tags(ordered, options) & STAGES
    if not minority:
        return []
    copies = set(duplicates)
    originals = [item for item in ordered if item.id not in copies]
    vectors = item_vectors(Clusterer(options, pinned=[i.id for i in originals]), originals)
    taken: list[list[int]] = []
    left = list(originals)
    for tag in sorted(minority):
        part = [item for item in left if tag in item.tags]
        rest = [item for item in left if tag not in item.tags]
        if len(part) < options.split_min or len(rest) <= len(part) or ordered[0] in part:
            continue
        apart = _linkage(vectors, part, rest) * options.split_cohesion < _linkage(vectors, part, part)
        if apart and _different_event(part, rest, options):
            taken.append([item.id for item in part])
            left = rest
    return taken


def item_vectors(clusterer: Clusterer, items: Sequence[Item]) -> dict[int, dict[str, float]]:
    """Each item's term vector as the clustering weighs it (every item pinned alone)."""
    vectors: dict[int, dict[str, float]] = {}
    for item in items:
        clusterer.add(item)
        cluster = clusterer.open_cluster(item.id)
        vectors[item.id] = cluster.centroid if cluster is not None else {}
    return vectors


def _linkage(vectors: dict[int, dict[str, float]], a: Sequence[Item], b: Sequence[Item]) -> float:
    """Average linkage: the mean similarity of the pairs of distinct items across `a` and `b`."""
    total, pairs = 0.0, 0
    for x in a:
        for y in b:
            if x.id != y.id:
                total += dot(vectors[x.id], vectors[y.id])
                pairs += 1
    return total / pairs if pairs else 0.0


def _different_event(part: Sequence[Item], rest: Sequence[Item], options: ClusterOptions) -> bool:
    """True when the part's main tags hold a tag the rest does not mainly carry (another action,
    target or regulator) and the lens does not show the part to be the rest's event."""
    mine, theirs = _evidence(part), _evidence(rest)
    own = main_tags(mine, SPLIT_KINDS, options.event_share) - main_tags(theirs, SPLIT_KINDS, options.event_share)
    return bool(own) and not same_event(mine, theirs, options)


def _evidence(items: Iterable[Item]) -> Evidence:
    evidence = Evidence()
    for item in items:
        evidence.add((), item.tags, item.publisher)
    return evidence
