"""Story clustering and near-duplicate detection, in memory: the one module that imports rapidfuzz.

Pure: `Item`s in, `Assignment`s out; the database side lives in `tracker.stories.cluster_stage`. The parts,
each its own module, in the order an item meets them:

* **Terms** (`terms.py`): title, excerpt/text lead and URL slug become words (or character bigrams
  for unspaced scripts), names (words written with a capital where grammar does not ask for one) and
  their rarity in ordinary language (wordfreq).
* **Features** (here, with `window.py`): each item becomes a sparse, L2-normalised vector of its
  title terms (weight 1), the leading terms of its excerpt/text (`body_weight`) and the words of its
  URL's slug (`url_weight`: "/fed-official-says-weak-data-caused-by-weather" often names the story
  in other words), each times how specific the term is (`window.TermWindow`: rarity in ordinary
  text, damped for the collection's subject), and a set of *marks*, its distinctive terms: rarer
  than `mark_rarity` (Zipf 4; `title_mark_rarity` in headlines, which are written in common words)
  or names (counted at least `name_rarity` rare), minus numbers, slug words and terms in more than
  `common_share` of the open stories.
* **Blocking** (`index.py`): only open clusters sharing a term rare among open clusters are
  candidates, so the cost per item depends on how much news is open, not on the archive size.
* **Assignment** (here): the item joins the candidate whose centroid (sum of member vectors) is most
  similar (cosine), among those at least `threshold` similar that also show evidence of one event
  (`evidence.py`), else it starts a cluster. Comparing with the centroid, not with the nearest
  member, stops single-link chaining; but a centroid of diverse articles grows more similar to
  everything (its cosine to an item is the mean similarity times n / |centroid|), so the evidence
  is counted per original. A bare headline (fewer than `min_marks` marks) joins on similarity
  alone, counting words many open stories share at their topic weight (evidence.py). A cluster
  only takes items written in its script (and, when both declare one, its language): an Arabic
  title never joins an English story because of a shared "2024" or "iPhone".
* **Merges** (`merge.py`): after each join the cluster is compared with the item's next-best
  candidates, and fragments of one story merge (average linkage, the same evidence); the cluster
  that began first survives and the merge is reported (`Clusterer.merges`), so stored results and
  stable ids follow it. An item refused by every candidate starts its own cluster and is not then
  merged into one of them (the merge test, laxer when one side has few marks, was a back door).
* **Evidence of one event** (`evidence.py`, `same_event`): where the lens's tags show the item
  (or a fragment) to report a story's event (same target or action, nothing that differs), a mean
  similarity of `event_similarity`, counting every word in full, is enough to join or merge.
* **Splits** (`split.py`): when an article naming a step of enforcement (a lawsuit, a fine) joins
  a story that names none, and two or more such articles form a group of their own, they are
  split off into a story of their own (`Clusterer.splits`, `Clusterer.moved`); the larger part
  keeps the story.
* **Duplicates** (here): inside the chosen cluster, the item's normalised text (title +
  excerpt/text lead) is compared with the cluster's last `dup_compare` originals by rapidfuzz
  `ratio`; at `dup_threshold` or above it is a duplicate of the closest one and does not move the
  centroid (a syndicated story published ten times is one voice).
* **Corrections.** Items in `pinned` (analyst splits) always stand alone and take no members.

Figures, and what was tried and left out: docs/benchmarks.md.

Determinism is what makes incremental runs equal full ones: the state before time t depends only on
the items before t, so `warm` rebuilds it from stored assignments (each into the cluster its own
was merged into before t) and the run goes on from t.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Iterable, Iterator, Sequence

from rapidfuzz import fuzz, process

from tracker.stories.evidence import Weight, supports_join
from tracker.stories.index import OpenCluster, OpenClusters
from tracker.stories.merge import merge_fragments, merge_roots
from tracker.stories.split import split_part, staged_tags
from tracker.stories.model import DAY, Assignment, ClusterOptions, Features, Item, dot
from tracker.stories.terms import name_terms, normalise, own_names, script_of, tokenize, url_terms
from tracker.stories.window import TermWindow

__all__ = ["DAY", "Assignment", "ClusterOptions", "Clusterer", "Item", "cluster_items", "fingerprint",
           "lookback_seconds", "merge_roots", "pick_headline"]


class Clusterer:
    """Online clustering state: feed items in `(time, id)` order to `add`, or old ones to `warm`."""

    def __init__(self, options: ClusterOptions | None = None, pinned: Iterable[int] = ()) -> None:
        self.options = options or ClusterOptions()
        self.pinned = frozenset(pinned)
        self.merges: list[tuple[int, int, float]] = []  # (absorbed leader, surviving leader, time)
        self.splits: list[tuple[int, int, float]] = []  # (leader of the part split off, story's leader, time)
        self.moved: dict[int, int] = {}  # item -> the leader of the part it was split off into
        self._window = TermWindow(self.options)
        self._open = OpenClusters(self.options)
        self._last_key: tuple[float, int] = (-math.inf, -1)

    def add(self, item: Item) -> Assignment:
        """Assign `item` (later than every item seen so far) to a cluster."""
        features = self._prepare(item)
        script = script_of(item.title or item.body)
        ranked = [] if item.id in self.pinned else self._ranked(features.vector, script, item)
        cluster = self._choose(ranked, features, item)
        if cluster is None:  # refused by every candidate: not merged into one by the merge test either
            return self._join(self._start(item, script), item, features)
        assignment = self._join(cluster, item, features)
        others = [other.leader for _, other in ranked if other.leader != cluster.leader]
        merged = merge_fragments(self._open, cluster, others[: self.options.merge_candidates], self.options)
        self.merges.extend((gone, keep, item.time) for gone, keep in merged)
        if self.options.use_tags and staged_tags(item.tags):
            leader = cluster.leader
            for gone, keep in merged:
                leader = keep if gone == leader else leader
            self._split(leader, item.time)
        return assignment

    def _split(self, leader: int, now: float) -> None:
        """Split off a second event the story took in, if its articles show one (split.py)."""
        cluster = self._open.get(leader)
        if cluster is None or cluster.pinned:
            return
        part = split_part(cluster.staged, cluster.leader, cluster.size, cluster.centroid, cluster.evidence,
                          self.options)
        if not part:
            return
        new = self._open.split_off(cluster, part)
        # the part's first article may have led a fragment merged into the story: that link is undone
        self.merges = [link for link in self.merges if link[0] != new.leader]
        self.splits.append((new.leader, cluster.leader, now))
        self.moved.update((entry.item.id, new.leader) for entry in part)

    def open_cluster(self, leader: int) -> OpenCluster | None:
        """The open cluster led by `leader`, if any (the object lives on after it closes)."""
        return self._open.get(leader)

    def warm(self, item: Item, leader: int, duplicate_of: int | None) -> None:
        """Replay an item already assigned (to `leader`'s cluster, after the merges made before the
        replay starts) without deciding anything."""
        features = self._prepare(item)
        cluster = self._open.get(leader)
        if cluster is None:
            if leader != item.id:
                return  # its cluster began before the look-back: closed for anything later
            cluster = self._start(item, script_of(item.title or item.body))
        self._absorb(cluster, item, features, duplicate_of)

    # -- features --

    def _prepare(self, item: Item) -> Features:
        key = (item.time, item.id)
        if key <= self._last_key:
            raise ValueError(f"items out of order: {key} after {self._last_key}")
        self._last_key = key
        self._window.slide(item.time)
        title = tokenize(item.title)
        body = [t for t in tokenize(item.body)[: self.options.body_terms] if t not in title]
        slug = [t for t in url_terms(item.url) if t not in title]
        names = name_terms(item.title, item.body) - own_names(item.publisher, item.url)
        features = self._weigh(title, body, slug, item.language, names)
        self._window.add(item.time, list(dict.fromkeys(title + body + slug)))
        self._open.sweep(item.time)
        return features

    def _weigh(self, title: list[str], body: list[str], slug: list[str], language: str,
               names: set[str]) -> Features:
        vector: dict[str, float] = {}
        marks: set[str] = set()
        options = self.options
        parts = ((title, 1.0, options.title_mark_rarity), (body, options.body_weight, options.mark_rarity),
                 (slug, options.url_weight, math.inf))  # no marks from slugs: ids as often as words
        for terms, weight, bar in parts:
            for term in terms:
                rarity, damped = self._window.rarity(term, language, term in names)
                vector[term] = max(vector.get(term, 0.0), weight * damped)
                if rarity >= bar and not term.isdigit() and not self._open.widespread(term):
                    marks.add(term)
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return Features({term: value / norm for term, value in vector.items()}, frozenset(marks))

    # -- candidates and choice --

    def _ranked(self, vector: dict[str, float], script: str, item: Item) -> list[tuple[float, OpenCluster]]:
        """Eligible candidate clusters with their similarity to the item, best first (ties: oldest)."""
        scored = []
        for leader in self._open.candidates(vector):
            cluster = self._open.get(leader)
            if cluster is not None and cluster.size and self._eligible(cluster, script, item):
                scored.append((dot(vector, cluster.centroid) / math.sqrt(cluster.norm2), cluster))
        scored.sort(key=lambda pair: (-pair[0], pair[1].leader))
        return scored

    def _choose(self, ranked: list[tuple[float, OpenCluster]], features: Features, item: Item) -> OpenCluster | None:
        """The most similar candidate that reaches the threshold and has evidence of one event."""
        weight = self._open.topic_weight()
        options = self.options
        for similarity, cluster in ranked:
            if similarity < options.threshold:
                return None
            telling = self._event_similarity(similarity, cluster, features, weight)
            if len(features.marks) < options.min_marks and telling < options.threshold:
                continue  # too little text to judge, and alike only in a topic's words
            per_original = math.sqrt(cluster.norm2) / cluster.size  # cosine to the centroid -> mean to each original
            if supports_join(cluster.evidence, item, features.marks, similarity * per_original, options,
                             weight, telling * per_original):
                return cluster
        return None

    @staticmethod
    def _event_similarity(similarity: float, cluster: OpenCluster, features: Features, weight: Weight) -> float:
        """The item's similarity to the cluster counting each term `weight` times: words that many
        open stories share (a templated series: "X Market 2020 Global Trends, Industry Share..." with
        a different X each time) do not make two items alike."""
        if weight is None:
            return similarity
        centroid = cluster.centroid
        total = sum(value * centroid.get(term, 0.0) * weight(term) for term, value in features.vector.items())
        return total / math.sqrt(cluster.norm2)

    def _eligible(self, cluster: OpenCluster, script: str, item: Item) -> bool:
        if cluster.pinned or cluster.script != script:
            return False
        if item.language and cluster.language and item.language[:2] != cluster.language[:2]:
            return False
        options = self.options
        return (item.time - cluster.last <= options.gap_days * DAY
                and item.time - cluster.first <= options.span_days * DAY)

    # -- joining --

    def _start(self, item: Item, script: str) -> OpenCluster:
        return self._open.start(item, script, pinned=item.id in self.pinned)

    def _join(self, cluster: OpenCluster, item: Item, features: Features) -> Assignment:
        text = self._dup_text(item)
        original, similarity = None, None
        if text and cluster.originals:
            recent = cluster.originals[-self.options.dup_compare:]
            match = process.extractOne(text, [t for _, t in recent], scorer=fuzz.ratio,
                                       score_cutoff=self.options.dup_threshold)
            if match is not None:  # the closest original (originals are never copies of each other)
                original, similarity = recent[match[2]][0], round(match[1] / 100.0, 4)
        self._absorb(cluster, item, features, original, text)
        return Assignment(item.id, cluster.leader, original, similarity)

    def _absorb(self, cluster: OpenCluster, item: Item, features: Features,
                duplicate_of: int | None, text: str | None = None) -> None:
        cluster.last = max(cluster.last, item.time)
        if duplicate_of is None:
            self._open.absorb(cluster, item, features, text if text is not None else self._dup_text(item))

    def _dup_text(self, item: Item) -> str:
        return normalise(f"{item.title} {item.body}")[: self.options.dup_chars]


ALGORITHM_VERSION = 5  # bump when a change makes stored assignments stale


def fingerprint(options: ClusterOptions) -> str:
    """A stable text naming the algorithm version and every option (sets sorted)."""
    fields = {name: sorted(value) if isinstance(value, frozenset) else value
              for name, value in dataclasses.asdict(options).items()}
    return json.dumps({"version": ALGORITHM_VERSION, **fields}, sort_keys=True)


def cluster_items(items: Iterable[Item], options: ClusterOptions | None = None,
                  pinned: Iterable[int] = ()) -> Iterator[Assignment]:
    """Cluster items from scratch (they are sorted by `(time, id)` first); each assignment names
    the leader of the cluster its item ended up in, after every merge and split."""
    clusterer = Clusterer(options, pinned)
    assignments = [clusterer.add(item) for item in sorted(items, key=lambda i: (i.time, i.id))]
    root = merge_roots(clusterer.merges)
    for a in assignments:
        leader = clusterer.moved.get(a.item_id, a.leader)
        yield Assignment(a.item_id, root.get(leader, leader), a.duplicate_of, a.similarity)


def lookback_seconds(options: ClusterOptions) -> float:
    """How far before the first new item a run must replay stored items to rebuild the state."""
    return (options.span_days + options.idf_days) * DAY


def pick_headline(titles: Sequence[str], limit: int = 40) -> str:
    """The most representative title: the one most like the others (token_set_ratio); earliest wins ties."""
    sample = [t for t in titles[:limit] if t]
    if len(sample) <= 2:
        return sample[0] if sample else ""
    matrix = process.cdist(sample, sample, scorer=fuzz.token_set_ratio, processor=normalise)
    totals = matrix.sum(axis=1)
    best = max(range(len(sample)), key=lambda i: (totals[i], -i))
    return sample[best]

