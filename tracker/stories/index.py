"""The open clusters and the inverted index that finds them.

Only clusters that are still *open* are candidates for a new item: their last article at most
`gap_days` ago and their first at most `span_days` ago (stories live days, not years). Among those,
candidates share at least one term that is rare among open clusters: an inverted index from term to
the leaders of the open clusters whose centroid has it; terms in more than `max_postings` of them
find no candidates. So the cost per item depends on how much news is open at that moment, not on
the archive size: linear overall. Closed clusters are forgotten once an hour (`sweep`), which only
saves memory. The same index says how many open stories carry a term, which is what makes a mark
a topic's rather than an event's (`topic_weight`, used by tracker/stories/evidence.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tracker.stories.evidence import Evidence, Weight
from tracker.stories.model import DAY, ClusterOptions, Features, Item
from tracker.stories.split import Staged, staged_tags


@dataclass
class OpenCluster:
    """One cluster's state: its centroid (sum of its originals' vectors), originals and evidence."""

    leader: int
    script: str
    language: str
    first: float
    last: float
    pinned: bool = False
    centroid: dict[str, float] = field(default_factory=dict)
    size: int = 0  # originals summed into the centroid
    norm2: float = 0.0  # the centroid's squared length
    originals: list[tuple[int, str]] = field(default_factory=list)
    evidence: Evidence = field(default_factory=Evidence)
    staged: list[Staged] = field(default_factory=list)  # originals naming a step of enforcement (split.py)


class OpenClusters:
    """The clusters that can still take items, by leader, with the term -> leaders index."""

    def __init__(self, options: ClusterOptions) -> None:
        self.options = options
        self._clusters: dict[int, OpenCluster] = {}
        self._postings: dict[str, set[int]] = {}
        self._last_sweep = -math.inf

    def __len__(self) -> int:
        return len(self._clusters)

    def get(self, leader: int) -> OpenCluster | None:
        """The open cluster led by `leader`, if any."""
        return self._clusters.get(leader)

    def start(self, item: Item, script: str, pinned: bool) -> OpenCluster:
        """Open a cluster led by `item` (not yet holding it: see `absorb`)."""
        cluster = OpenCluster(item.id, script, item.language[:2], item.time, item.time, pinned=pinned)
        self._clusters[item.id] = cluster
        return cluster

    def candidates(self, vector: dict[str, float]) -> set[int]:
        """Leaders of the open clusters sharing one of the item's `probe_terms` weightiest terms,
        among the terms in at most `max_postings` open clusters."""
        found: set[int] = set()
        limit = self.options.max_postings
        rarest = sorted(vector, key=vector.__getitem__, reverse=True)[: self.options.probe_terms]
        for term in rarest:
            leaders = self._postings.get(term)
            if leaders and len(leaders) <= limit:
                found |= leaders
        return found

    def widespread(self, term: str) -> bool:
        """A term in more than `common_share` of the open stories is the collection's subject ("AI"
        in AI news), no evidence of any one event. (Counted over stories, not articles: a big
        story's name is in many articles of the window but in one story.)"""
        leaders = self._postings.get(term)
        options = self.options
        return leaders is not None and len(leaders) > options.common_share * (len(self._clusters) + options.prior_docs)

    def topic_weight(self) -> Weight:
        """A mark's weight as evidence of one event: 1, or less for a mark in more than
        `topic_share` of the open stories (a big company, a template's word: a topic's, shared by
        many unrelated stories), in proportion. None when `topic_share` is 0 (all weigh 1)."""
        options = self.options
        if not options.topic_share:
            return None
        most = max(1.0, options.topic_share * (len(self._clusters) + options.prior_docs))  # (one story: its own)

        def weight(mark: str) -> float:
            spread = len(self._postings.get(mark, ()))
            return 1.0 if spread <= most else most / spread
        return weight

    def absorb(self, cluster: OpenCluster, item: Item, features: Features, text: str) -> None:
        """Add `item` to `cluster` as an original: its centroid, evidence and the index."""
        cluster.originals.append((item.id, text))
        cluster.size += 1
        cluster.evidence.add(features.marks, item.tags, item.publisher)
        if staged_tags(item.tags):
            cluster.staged.append(Staged(item, features, text))
        centroid = cluster.centroid
        for term, value in features.vector.items():
            old = centroid.get(term, 0.0)
            cluster.norm2 += 2 * old * value + value * value
            centroid[term] = old + value
            if not old and not cluster.pinned:
                self._postings.setdefault(term, set()).add(cluster.leader)

    def fold(self, keep: OpenCluster, gone: OpenCluster) -> None:
        """Move everything of `gone` into `keep` and forget `gone`."""
        del self._clusters[gone.leader]
        centroid = keep.centroid
        for term, value in gone.centroid.items():
            if term not in centroid:
                self._postings.setdefault(term, set()).add(keep.leader)
            centroid[term] = centroid.get(term, 0.0) + value
            leaders = self._postings.get(term)
            if leaders is not None:
                leaders.discard(gone.leader)
        keep.size += gone.size
        keep.norm2 = sum(value * value for value in centroid.values())
        keep.first, keep.last = min(keep.first, gone.first), max(keep.last, gone.last)
        keep.originals.extend(gone.originals)
        keep.staged.extend(gone.staged)
        keep.evidence.fold(gone.evidence)

    def split_off(self, cluster: OpenCluster, part: list[Staged]) -> OpenCluster:
        """Move the originals of `part` out of `cluster` into a new cluster led by the first of
        them (tracker/stories/split.py)."""
        part = sorted(part, key=lambda entry: (entry.item.time, entry.item.id))
        gone = {entry.item.id for entry in part}
        centroid = cluster.centroid
        for entry in part:
            for term, value in entry.features.vector.items():
                left = centroid.get(term, 0.0) - value
                if left > 1e-9:
                    centroid[term] = left
                else:  # (the term was this part's alone)
                    centroid.pop(term, None)
                    leaders = self._postings.get(term)
                    if leaders is not None:
                        leaders.discard(cluster.leader)
            cluster.evidence.remove(entry.features.marks, entry.item.tags, entry.item.publisher)
            cluster.size -= 1
        cluster.norm2 = sum(value * value for value in centroid.values())
        cluster.originals = [original for original in cluster.originals if original[0] not in gone]
        cluster.staged = [entry for entry in cluster.staged if entry.item.id not in gone]
        first = part[0].item
        new = OpenCluster(first.id, cluster.script, cluster.language, first.time, part[-1].item.time)
        self._clusters[new.leader] = new
        for entry in part:
            self.absorb(new, entry.item, entry.features, entry.text)
        return new

    def sweep(self, now: float) -> None:
        """At most once an hour, forget clusters that can take no more items (only saves memory:
        results do not change)."""
        if now - self._last_sweep <= 3600:
            return
        self._last_sweep = now
        options = self.options
        closed = [leader for leader, c in self._clusters.items()
                  if now - c.last > options.gap_days * DAY or now - c.first > options.span_days * DAY]
        for leader in closed:
            for term in self._clusters.pop(leader).centroid:
                leaders = self._postings.get(term)
                if leaders is not None:
                    leaders.discard(leader)
                    if not leaders:
                        del self._postings[term]
