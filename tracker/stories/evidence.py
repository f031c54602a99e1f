"""Evidence that articles report one event, kept beside each cluster's centroid (tracker/stories/index.py).

A cosine over weighted terms says two texts are *alike*; in a feed about one beat, articles alike in
vocabulary ("launches", "market report", "self-driving") are often different events, and a centroid
that takes each of them grows more alike to the next. So a join or a merge also needs evidence,
counted on each article's *marks*: its distinctive terms (rare in ordinary language, and not in so
many of the open stories that they are the collection's subject) and the names it writes with a
capital. Numbers are never marks.

* **A theme.** The item shares a mark that more than half of the cluster's originals carry. This is
  what stops chaining through a topic (A like B, B like C, A unlike C): C shares a mark with B
  only, which is not a theme of {A, B}. A merge needs a mark that is a theme on both sides.
* **Enough shared marks, on average.** The mean, over the cluster's originals, of the marks the item
  shares with each (average linkage in the space of evidence) reaches two, or half the marks the
  item and a typical original carry if that is fewer: one shared verb, name or number is a
  coincidence. When a mark the item carries is in *every* original of a cluster of two or more (a
  theme that holds without exception) 0.3 of them is enough. A merge uses the mean over all cross
  pairs.
* **One outlet's template is no evidence.** Marks the item shares with originals from its own
  outlet do not count towards the mean (`own_outlet_weight`): an outlet's reports share its
  boilerplate ("Industry Outlook, Comprehensive Insights", the agency's name and city), whatever
  event each reports; its follow-ups to a story of several outlets still share the others' marks.
* **Words that are evidence themselves.** An item whose mean similarity to the cluster's originals
  reaches `telling_similarity` shares so much weighted vocabulary that no more is asked, unless
  all the originals come from the item's own outlet (its template makes its pages alike); the same
  holds for a merge of two clusters that are one outlet's on both sides. Only a copy (similarity
  `copy_similarity`, the outlet's page under a second URL) passes within one outlet.
* **Too little text to judge.** An item with fewer than `min_marks` marks (a bare headline in
  common words) carries no evidence either way: similarity alone decides (but see the next point).
* **A topic's marks weigh less.** A mark in more than `topic_share` of the open stories (at least
  one other) is a topic's rather than an event's: a big company ("Amazon", "AWS"), a template's
  word. It counts in proportion (`weight`, from `tracker.stories.index.OpenClusters.topic_weight`)
  towards the shared marks, and the similarity that lets a bare headline join, or that is telling
  in itself, counts such words the same way (tracker/stories/cluster.py): "X Market 2020 Global
  Trends, Industry Share..." with a different X each time is a templated series, not one event.
* **Tags.** When the privacy lens has tagged articles ("company:clearview-ai", "action:fine"), two
  sides that both name companies (or regulators, actions, jurisdictions) and share none of them are
  different events, however alike their words: Clearview's UK fine and its US settlement. A side's
  tags here are those at least `tag_share` of its originals carry (and any tag of the other side
  may match them): one article's passing mention of Britain does not make a story about Britain.
* **Who did what to whom: one event.** Headlines of one event differ more than their words show
  ("agrees to restrict sales", "settlement curbs firm's database"), and the beat's words that they
  do share ("police", "London") are in many open stories, so the marks above miss them. The lens's
  tags of their titles and excerpts name the target and the kind of action. A newcomer (an item,
  or the smaller of two clusters) that shares a main target with a story (carried by at least
  `event_share` of the originals) whose main action is named (or, with none named, a theme mark
  in few open stories: a company's name alone made blobs of Amazon's and Facebook's news),
  differs in none of them (`tags_conflict`), names no
  other regulator, law or stage (a lawsuit filed, then settled: another event) and no step of
  enforcement where the story names none (a lawsuit after an expose: a new development) is the
  story's event by the tags (`same_event`): then a mean similarity of `event_similarity` to the
  originals, counting every word in full, is evidence enough. Time is the open window's (days).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

from tracker.stories.model import ClusterOptions, Item

TAG_KINDS = ("company", "regulator", "action", "jurisdiction")  # kinds that tell events apart
TARGET_KINDS = ("company", "regulator")  # who an event is done by or to
AUTHORITY_KINDS = ("regulator", "law")  # by whose authority: a different one is a different event
KEPT_KINDS = TAG_KINDS + ("law",)  # the kinds a story's evidence counts
# The stages of enforcement: a lawsuit filed, then settled or ruled on; an investigation, then a
# fine or an order. (Bans, legislation, deployments are not among them: a headline that *calls for*
# a ban or a law is tagged with it too, and a call is commentary on an event, not a new one.)
STAGES = frozenset({"action:lawsuit", "action:settlement", "action:ruling", "action:fine",
                    "action:intended-fine", "action:order", "action:investigation"})


@dataclass
class Evidence:
    """The marks and tags of a cluster's originals (duplicates add nothing: one voice)."""

    size: int = 0
    total: int = 0  # marks summed over the originals
    counts: Counter[str] = field(default_factory=Counter)  # mark -> originals that carry it
    tags: dict[str, Counter[str]] = field(default_factory=dict)  # kind -> tag -> originals carrying it
    publishers: set[str] = field(default_factory=set)
    by_publisher: dict[str, Counter[str]] = field(default_factory=dict)  # outlet -> its marks' counts
    outlets: Counter[str] = field(default_factory=Counter)  # outlet -> its originals (for `remove`)

    def add(self, marks: Iterable[str], tags: Iterable[str], publisher: str = "") -> None:
        """Count one more original."""
        marks = set(marks)
        self.publishers.add(publisher)
        self.outlets[publisher] += 1
        self.by_publisher.setdefault(publisher, Counter()).update(marks)
        self.size += 1
        self.total += len(marks)
        self.counts.update(marks)
        for kind, values in tags_by_kind(tags).items():
            self.tags.setdefault(kind, Counter()).update(values)

    def fold(self, other: Evidence) -> None:
        """Take in a merged cluster's evidence."""
        self.size += other.size
        self.total += other.total
        self.counts.update(other.counts)
        self.publishers |= other.publishers
        self.outlets.update(other.outlets)
        for publisher, counts in other.by_publisher.items():
            self.by_publisher.setdefault(publisher, Counter()).update(counts)
        for kind, counts in other.tags.items():
            self.tags.setdefault(kind, Counter()).update(counts)

    def remove(self, marks: Iterable[str], tags: Iterable[str], publisher: str = "") -> None:
        """Take back one original counted by `add` (a part split off: tracker/stories/split.py)."""
        marks = set(marks)
        self.size -= 1
        self.total -= len(marks)
        self.counts.subtract(marks)
        self.by_publisher.setdefault(publisher, Counter()).subtract(marks)
        self.outlets[publisher] -= 1
        if self.outlets[publisher] <= 0:
            self.publishers.discard(publisher)
        for kind, values in tags_by_kind(tags).items():
            self.tags.setdefault(kind, Counter()).subtract(values)
        for counter in (self.counts, self.by_publisher[publisher], self.outlets, *self.tags.values()):
            for key in [key for key, n in counter.items() if n <= 0]:
                del counter[key]

    def copy(self) -> Evidence:
        """An independent copy."""
        other = Evidence()
        other.fold(self)
        return other

    def marks_per_original(self) -> float:
        """How many marks an original carries, on average."""
        return self.total / self.size if self.size else 0.0

    def dominant(self, marks: Iterable[str], share: float) -> bool:
        """True when one of `marks` is carried by more than `share` of the originals."""
        return any(self.counts.get(mark, 0) > share * self.size for mark in marks)

    def unanimous(self, marks: Iterable[str]) -> bool:
        """True when one of `marks` is carried by every original."""
        return any(self.counts.get(mark, 0) >= self.size for mark in marks)

    def shares_theme(self, other: Evidence, share: float) -> bool:
        """True when one mark is carried by more than `share` of the originals on both sides."""
        return any(n > share * self.size and other.counts.get(mark, 0) > share * other.size
                   for mark, n in self.counts.items())


Weight = Callable[[str], float] | None  # a mark's weight as evidence (1: an event's; less: a topic's)


def supports_join(evidence: Evidence, item: Item, marks: frozenset[str], similarity: float,
                  options: ClusterOptions, weight: Weight = None, telling: float | None = None) -> bool:
    """Evidence that the item (with its `marks`, at mean `similarity` to the originals) reports
    the event of the cluster whose evidence this is."""
    if options.use_tags and item.tags and tags_conflict(item_tags(item.tags), evidence, options.tag_share):
        return False
    if len(marks) < options.min_marks:
        return True
    telling = similarity if telling is None else telling
    if telling >= options.telling_similarity and evidence.publishers != {item.publisher}:
        return True  # (one outlet's own template makes its articles alike: not evidence)
    if (options.use_tags and item.tags and similarity >= options.event_similarity
            and evidence.publishers != {item.publisher}
            and same_event(item_evidence(item, marks), evidence, options, weight)):
        return True  # the lens names the same event: its topic's words count in full
    if similarity >= options.copy_similarity:
        return True  # the same text again, from any outlet: a copy (found as a duplicate on joining)
    available = min(len(marks), evidence.marks_per_original())
    shared = support(marks, evidence, item.publisher, options.own_outlet_weight, weight)
    if evidence.size > 1 and evidence.unanimous(marks) and shared >= options.unanimous_share * available:
        return True
    needed = min(options.min_shared, options.evidence_share * available)
    return evidence.dominant(marks, options.dominance) and shared >= needed


def main_tags(evidence: Evidence, kinds: Iterable[str], share: float) -> set[str]:
    """The tags of `kinds` that at least `share` of the originals carry ("kind:tag" strings)."""
    found: set[str] = set()
    for kind in kinds:
        for tag, n in evidence.tags.get(kind, Counter()).items():
            if n >= share * evidence.size:
                found.add(f"{kind}:{tag}")
    return found


def same_event(new: Evidence, old: Evidence, options: ClusterOptions, weight: Weight = None) -> bool:
    """The lens's evidence that a newcomer (an item, or the smaller of two clusters) reports the
    event of an established story: they share a main target (a company, public body or regulator),
    the story names a main kind of action (or, naming none, shares with the newcomer a theme mark
    that is an event's, not a topic's: who is in the news is not what happened, and Amazon's many
    stories are not one), and nothing differs: no company, regulator, action or jurisdiction of one
    side is missing from the other where both name one (`tags_conflict`), no other authority or
    law, no other stage (both name actions and share none: a lawsuit filed, then settled), and no
    step of enforcement (`STAGES`) where the story names none (a new development: a lawsuit after
    an expose). A newcomer that names no action says less, not something else. (Their time is
    checked by the caller: open stories only.)"""
    if not new.size or not old.size or tags_conflict(new, old, options.tag_share):
        return False
    share = options.event_share
    if not main_tags(old, ("action",), share) and not _event_theme(new, old, options, weight):
        return False  # who is in the news, not what happened
    if not main_tags(new, TARGET_KINDS, share) & main_tags(old, TARGET_KINDS, share):
        return False
    for kind in AUTHORITY_KINDS + ("action",):
        mine, theirs = main_tags(new, (kind,), options.tag_share), main_tags(old, (kind,), options.tag_share)
        if mine and theirs and not mine & theirs:
            return False  # another regulator, law or stage: another event
        if kind == "action" and mine & STAGES and not theirs:
            return False  # a step of enforcement where the story names none: a new development
    return True


def _event_theme(new: Evidence, old: Evidence, options: ClusterOptions, weight: Weight) -> bool:
    """True when a mark that more than half the originals carry on both sides is an event's, not a
    topic's (weight at least `event_theme_weight`: in few of the open stories)."""
    return any(n > options.dominance * new.size and old.counts.get(mark, 0) > options.dominance * old.size
               and (weight is None or weight(mark) >= options.event_theme_weight)
               for mark, n in new.counts.items())


def supports_merge(ea: Evidence, eb: Evidence, similarity: float, options: ClusterOptions,
                   weight: Weight = None) -> bool:
    """Evidence that two clusters (at average linkage `similarity`) report one event: tags that do
    not conflict, a mark most originals carry on both sides, and enough marks shared by their
    originals on average."""
    if options.use_tags and tags_conflict(ea, eb, options.tag_share):
        return False
    available = min(ea.marks_per_original(), eb.marks_per_original())
    if available < options.min_marks:
        return True
    if similarity >= options.telling_similarity and not one_outlet(ea, eb) or similarity >= options.copy_similarity:
        return True  # (as for a join: one outlet's template is no evidence, its copies are)
    small, large = sorted((ea, eb), key=lambda e: e.size)
    if options.use_tags and similarity >= options.event_similarity and not one_outlet(ea, eb) and same_event(
            small, large, options, weight):
        return True  # (as for a join: the lens names the same event)
    needed = min(options.min_shared, options.evidence_share * available)
    return ea.shares_theme(eb, options.dominance) and linkage(ea, eb, options.own_outlet_weight, weight) >= needed


def support(marks: Iterable[str], evidence: Evidence, publisher: str = "", own_weight: float = 1.0,
            weight: Weight = None) -> float:
    """Mean number of marks an item shares with each original of the cluster; a mark shared with an
    original of the item's own outlet counts `own_weight` (one outlet's reports share its template;
    an item that names no outlet has none known)."""
    if not evidence.size:
        return 0.0
    marks = set(marks)
    if weight is None:
        total = float(sum(evidence.counts.get(mark, 0) for mark in marks))
    else:
        total = sum(evidence.counts.get(mark, 0) * weight(mark) for mark in marks)
    own = evidence.by_publisher.get(publisher) if publisher and own_weight != 1.0 else None
    if own:
        total -= (1.0 - own_weight) * _shared(own, Counter(marks), weight)
    return total / evidence.size


def one_outlet(a: Evidence, b: Evidence) -> bool:
    """True when every original on both sides comes from one named outlet."""
    return len(a.publishers) == 1 and a.publishers == b.publishers and "" not in a.publishers


def linkage(a: Evidence, b: Evidence, own_weight: float = 1.0, weight: Weight = None) -> float:
    """Mean number of marks shared by a pair of originals, one from each cluster; a pair from one
    outlet counts its shared marks `own_weight` (as in `support`)."""
    if not a.size or not b.size:
        return 0.0
    total = float(_shared(a.counts, b.counts, weight))
    if own_weight != 1.0:
        for publisher in a.publishers & b.publishers - {""}:  # (no outlet named: no template known)
            total -= (1.0 - own_weight) * _shared(a.by_publisher[publisher], b.by_publisher[publisher], weight)
    return total / (a.size * b.size)


def _shared(a: Counter[str], b: Counter[str], weight: Weight = None) -> float:
    small, large = sorted((a, b), key=len)
    if weight is None:
        return sum(n * large.get(mark, 0) for mark, n in small.items())
    return sum(n * large[mark] * weight(mark) for mark, n in small.items() if mark in large)


def tags_conflict(a: Evidence, b: Evidence, share: float = 0.0) -> bool:
    """True when, for one kind, both sides have tags that at least `share` of their originals carry
    and neither side's such tags are among any of the other's: one article's passing mention of a
    jurisdiction or a company does not make its story about it."""
    for kind in TAG_KINDS:
        mine, theirs = a.tags.get(kind), b.tags.get(kind)
        if not mine or not theirs:
            continue
        main_a = {tag for tag, n in mine.items() if n >= share * a.size}
        main_b = {tag for tag, n in theirs.items() if n >= share * b.size}
        if main_a and main_b and not main_a & theirs.keys() and not main_b & mine.keys():
            return True
    return False


def item_evidence(item: Item, marks: Iterable[str]) -> Evidence:
    """An item's marks and tags as the evidence of a cluster of one."""
    evidence = Evidence()
    evidence.add(marks, item.tags, item.publisher)
    return evidence


def item_tags(tags: Iterable[str]) -> Evidence:
    """An item's tags as the evidence of a cluster of one (no marks)."""
    evidence = Evidence()
    evidence.add((), tags)
    return evidence


def tags_by_kind(tags: Iterable[str]) -> dict[str, set[str]]:
    """{"company:acme", "action:fine", "technology:drones"} -> {"company": {"acme"}, "action": {"fine"}}
    (only the kinds that tell events apart: `KEPT_KINDS`)."""
    grouped: dict[str, set[str]] = {}
    for text in tags:
        kind, _, tag = text.partition(":")
        if tag and kind in KEPT_KINDS:
            grouped.setdefault(kind, set()).add(tag)
    return grouped
