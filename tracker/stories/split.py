"""Stories that change their mind: splitting off a second event that a story took in.

Joining is decided one article at a time, so a story can take in a follow-up that turns out to be
another event: an expose and, days later, the class action filed over it ("Class-action lawsuit
filed against ..."), worded alike and naming the same company. The lens's tags show it once two
such articles are in: they name a step of enforcement (`tracker.stories.evidence.STAGES`: a
lawsuit, settlement, ruling, fine, order, investigation) that the story as a whole does not
(fewer than `event_share` of its originals carry it).

Such a part is split off when it is a group of its own, in words and by the lens: at least
`split_min` originals, fewer than the rest (the larger part keeps the story, and the story's
first article stays in it), `split_cohesion` times more alike each other than the rest (mean
similarity of their pairs against that of the cross pairs), and not the rest's event by the lens
(`tracker.stories.evidence.same_event`). The part becomes a story led by its first article;
later articles join either side as usual. A single article is never split off: one voice is not
a second event.

The clustering keeps, for each story, only its originals that name a step of enforcement
(`Staged`): vectors are L2-normalised, so the part's sum and the story's centroid are all the
similarities need, and the cost is nothing on stories (and news) without such tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from tracker.stories.evidence import STAGES, Evidence, same_event
from tracker.stories.model import ClusterOptions, Features, Item, dot


@dataclass(frozen=True)
class Staged:
    """An original that names a step of enforcement, as a story holds it (to split it off)."""

    item: Item
    features: Features
    text: str  # its normalised text, as the story's originals keep it for duplicates


def staged_tags(tags: Iterable[str]) -> frozenset[str]:
    """The steps of enforcement among an item's tags."""
    return frozenset(tags) & STAGES


def split_part(staged: Sequence[Staged], leader: int, size: int, centroid: dict[str, float],
               evidence: Evidence, options: ClusterOptions) -> list[Staged]:
    """The originals to split off a story of `size` originals (its `centroid` the sum of their
    vectors, `evidence` theirs, `staged` those naming a step of enforcement), or [] when none."""
    counts: dict[str, int] = {}
    for entry in staged:
        for tag in staged_tags(entry.item.tags):
            counts[tag] = counts.get(tag, 0) + 1
    for tag in sorted(counts):
        n = counts[tag]
        if n < options.split_min or n >= options.event_share * size or 2 * n >= size:
            continue
        part = [entry for entry in staged if tag in entry.item.tags]
        if any(entry.item.id == leader for entry in part):
            continue  # the story's first article stays in it
        if _apart(part, size, centroid, options) and _another_event(part, evidence, options):
            return part
    return []


def _apart(part: Sequence[Staged], size: int, centroid: dict[str, float], options: ClusterOptions) -> bool:
    """True when the part's articles are `split_cohesion` times more alike each other than the
    rest: mean similarity of their pairs against that of the cross pairs (unit vectors, so both
    follow from the part's sum and the story's centroid)."""
    total: dict[str, float] = {}
    for entry in part:
        for term, value in entry.features.vector.items():
            total[term] = total.get(term, 0.0) + value
    n, rest = len(part), size - len(part)
    own = dot(total, total)
    cohesion = (own - n) / (n * (n - 1))  # (each unit vector's similarity with itself left out)
    cross = (dot(total, centroid) - own) / (n * rest)
    return cross * options.split_cohesion < cohesion


def _another_event(part: Sequence[Staged], evidence: Evidence, options: ClusterOptions) -> bool:
    """True when the lens does not show the part to be the rest's event."""
    mine = Evidence()
    rest = evidence.copy()
    for entry in part:
        mine.add(entry.features.marks, entry.item.tags, entry.item.publisher)
        rest.remove(entry.features.marks, entry.item.tags, entry.item.publisher)
    return not same_event(mine, rest, options)
