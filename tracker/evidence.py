"""Evidence that articles report one event, kept beside each cluster's centroid (tracker/cluster.py).

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
  shares with each (average linkage in the space of evidence) reaches two, or 0.3 of the marks the
  item and a typical original carry if that is fewer: one shared verb, name or number is a
  coincidence. A merge uses the mean over all cross pairs.
* **Words that are evidence themselves.** An item whose mean similarity to the cluster's originals
  reaches `telling_similarity` shares so much weighted vocabulary that no more is asked, unless
  all the originals come from the item's own outlet (its template makes its pages alike).
* **Too little text to judge.** An item with fewer than `min_marks` marks (a bare headline in
  common words) carries no evidence either way: similarity alone decides, as before.
* **Tags.** When the privacy lens has tagged articles ("company:clearview-ai", "action:fine"), two
  sides that both name companies (or regulators, actions, jurisdictions) and share none of them are
  different events, however alike their words: Clearview's UK fine and its US settlement.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

TAG_KINDS = ("company", "regulator", "action", "jurisdiction")  # kinds that tell events apart


@dataclass
class Evidence:
    """The marks and tags of a cluster's originals (duplicates add nothing: one voice)."""

    size: int = 0
    total: int = 0  # marks summed over the originals
    counts: Counter[str] = field(default_factory=Counter)  # mark -> originals that carry it
    tags: dict[str, set[str]] = field(default_factory=dict)  # kind -> tags any original carries
    publishers: set[str] = field(default_factory=set)

    def add(self, marks: Iterable[str], tags: Iterable[str], publisher: str = "") -> None:
        """Count one more original."""
        marks = set(marks)
        self.publishers.add(publisher)
        self.size += 1
        self.total += len(marks)
        self.counts.update(marks)
        for kind, values in tags_by_kind(tags).items():
            self.tags.setdefault(kind, set()).update(values)

    def fold(self, other: Evidence) -> None:
        """Take in a merged cluster's evidence."""
        self.size += other.size
        self.total += other.total
        self.counts.update(other.counts)
        self.publishers |= other.publishers
        for kind, values in other.tags.items():
            self.tags.setdefault(kind, set()).update(values)

    def marks_per_original(self) -> float:
        """How many marks an original carries, on average."""
        return self.total / self.size if self.size else 0.0

    def dominant(self, marks: Iterable[str], share: float) -> bool:
        """True when one of `marks` is carried by more than `share` of the originals."""
        return any(self.counts.get(mark, 0) > share * self.size for mark in marks)

    def shares_theme(self, other: Evidence, share: float) -> bool:
        """True when one mark is carried by more than `share` of the originals on both sides."""
        return any(n > share * self.size and other.counts.get(mark, 0) > share * other.size
                   for mark, n in self.counts.items())


def support(marks: Iterable[str], evidence: Evidence) -> float:
    """Mean number of marks an item shares with each original of the cluster."""
    if not evidence.size:
        return 0.0
    return sum(evidence.counts.get(mark, 0) for mark in marks) / evidence.size


def linkage(a: Evidence, b: Evidence) -> float:
    """Mean number of marks shared by a pair of originals, one from each cluster."""
    if not a.size or not b.size:
        return 0.0
    small, large = sorted((a.counts, b.counts), key=len)
    return sum(n * large.get(mark, 0) for mark, n in small.items()) / (a.size * b.size)


def tags_conflict(a: dict[str, set[str]], b: dict[str, set[str]]) -> bool:
    """True when both sides carry tags of one kind and have none of that kind in common."""
    return any(a.get(kind) and b.get(kind) and not a[kind] & b[kind] for kind in TAG_KINDS)


def tags_by_kind(tags: Iterable[str]) -> dict[str, set[str]]:
    """{"company:acme", "action:fine", "law:gdpr"} -> {"company": {"acme"}, "action": {"fine"}}
    (only the kinds that tell events apart)."""
    grouped: dict[str, set[str]] = {}
    for text in tags:
        kind, _, tag = text.partition(":")
        if tag and kind in TAG_KINDS:
            grouped.setdefault(kind, set()).add(tag)
    return grouped
