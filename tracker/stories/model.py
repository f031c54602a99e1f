"""What the clustering works with: its options, the items it takes, the assignments it gives and
the features it computes for each item (plain data, and the dot product of two sparse vectors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

DAY = 86400.0


# The tracker's beat: words in nearly every article it follows, so they tell no two stories apart
# (a privacy tracker's "facial recognition" is a general news reader's "the"). Window statistics
# learn this too, but only once the window holds many articles.
BEAT_TERMS = frozenset("""
privacy data protection surveillance facial recognition biometric personal information consent
gdpr regulator regulation watchdog tracking spyware encryption cybersecurity security breach
""".split())


@dataclass(frozen=True)
class ClusterOptions:
    """Every knob of the clustering, in one frozen object. The two similarity thresholds were chosen
    on the tune half of the UCI sample (`tracker bench cluster`), among the settings under which the
    given seed comes out as its three stories (threshold 0.15 to 0.2). The evidence settings are
    round values with a stated meaning (Zipf 4, two marks or half of them, half the originals), checked on the
    seed-stories labels at their neighbours rather than fitted to them."""

    threshold: float = 0.18
    merge_threshold: float = 0.10
    merge_candidates: int = 8
    gap_days: float = 3.0
    span_days: float = 14.0
    idf_days: float = 7.0
    common_share: float = 0.05
    prior_docs: int = 50  # a few articles say little about what is common: count this many more
    beat_terms: frozenset[str] = BEAT_TERMS
    beat_weight: float = 0.25
    body_terms: int = 40
    body_weight: float = 0.5
    url_weight: float = 0.3
    max_postings: int = 400
    probe_terms: int = 64  # fewer is faster but misses stories (docs/benchmarks.md)
    dup_threshold: float = 90.0
    dup_chars: int = 2000
    dup_compare: int = 50
    # evidence of one event (tracker/stories/evidence.py)
    mark_rarity: float = 4.0  # a mark in the text: rarer than Zipf 4, 1 in 100,000 words
    title_mark_rarity: float = 4.5  # in a headline, which is written in common words, rarer still
    name_rarity: float = 4.5  # a name written with a capital counts at least this rare
    min_marks: int = 3  # an item with fewer marks has too little text to judge: similarity decides
    min_shared: float = 2.0  # marks shared with the cluster's originals, on average...
    evidence_share: float = 0.5  # ...or this share of those it could share, if fewer
    dominance: float = 0.5  # the item shares a mark that more than half the originals carry
    telling_similarity: float = 0.3  # so alike that the words themselves are the evidence
    own_outlet_weight: float = 0.0  # a mark shared only with the item's own outlet: its template
    unanimous_share: float = 0.3  # enough shared marks when one of them is in every original
    copy_similarity: float = 0.9  # so alike it is the same text: evidence even within one outlet
    use_tags: bool = True  # differing companies, regulators, actions, jurisdictions keep apart
    tag_share: float = 0.25  # ...counting a side's tags that at least this share of its articles carry
    event_share: float = 0.5  # a side's main target: a company or regulator most of its originals name
    event_similarity: float = 0.22  # with the lens naming one event, this alike in words on average is enough
    event_theme_weight: float = 1.0  # a story naming no action: a shared theme that is no topic's mark
    split_min: int = 2  # a part split off a story holds this many originals at least (tracker/stories/split.py)
    split_cohesion: float = 1.5  # ...and its articles are this many times more alike each other than the rest
    topic_share: float = 0.01  # a mark in more of the open stories than this is a topic's: weighs less


@dataclass(frozen=True)
class Item:
    """One article as the clustering sees it; `time` is seconds since the epoch."""

    id: int
    time: float
    title: str = ""
    body: str = ""
    publisher: str = ""
    language: str = ""
    url: str = ""
    tags: frozenset[str] = frozenset()  # "kind:tag" from the privacy lens, when it has run


@dataclass(frozen=True)
class Assignment:
    """Where an item went: its cluster's leader (first item) and, if a copy, what it copies."""

    item_id: int
    leader: int
    duplicate_of: int | None = None
    similarity: float | None = None


class Features(NamedTuple):
    """An item's terms as the clustering weighs them."""

    vector: dict[str, float]  # L2-normalised term weights
    marks: frozenset[str]  # distinctive terms: the evidence of which event it reports


def dot(sparse: dict[str, float], other: dict[str, float]) -> float:
    """Dot product of two sparse vectors, walking the first (pass the shorter one first)."""
    return sum(value * other.get(term, 0.0) for term, value in sparse.items())
