"""Story clustering and near-duplicate detection, in memory: the one module that imports rapidfuzz.

Pure: `Item`s in, `Assignment`s out; the database side lives in `tracker.stories`.

How it works (one pass over the items in time order, `(time, id)`):

* **Features.** Each item becomes a sparse, L2-normalised vector of its title terms (weight 1) and the
  leading terms of its excerpt/text (weight 0.5), each times an IDF measured against the news of the
  last `idf_days` (a sliding window: rarity *now*, and the same value however the run is cut up).
  Latin/Cyrillic/Greek... text is split into words (English stop words dropped, plural `s` folded);
  Chinese, Japanese, Thai runs become character bigrams.
* **Blocking.** Only clusters that are still *open* are candidates: their last article at most
  `gap_days` ago and their first at most `span_days` ago (stories live days, not years). Among
  those, candidates share at least one term that is rare among open clusters (an inverted index
  over open clusters; terms in more than `max_postings` of them find no candidates). So the cost
  per item depends on how much news is open at that moment, not on the archive size: linear overall.
* **Assignment.** The item joins the candidate whose centroid (sum of member vectors) is most
  similar (cosine) if that is at least `threshold`, else it starts a cluster. Comparing with the
  centroid, not with the nearest member, is what stops single-link chaining.
* **Scripts.** A cluster only takes items written in its script (and, when both declare one, its
  language): an Arabic title never joins an English story because of a shared "2024" or "iPhone".
* **Duplicates.** Inside the chosen cluster, the item's normalised text (title + excerpt/text lead)
  is compared with the cluster's last `dup_compare` originals by rapidfuzz `ratio`; at
  `dup_threshold` or above it is a duplicate of the closest one and does not move the centroid (a syndicated story published ten
  times is one voice).
* **Corrections.** Items in `pinned` (analyst splits) always stand alone and take no members.

Determinism is what makes incremental runs equal full ones: the state before time t depends only on
the items before t, so `warm` rebuilds it from stored assignments and the run goes on from t.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

from rapidfuzz import fuzz, process

DAY = 86400.0

STOPWORDS = frozenset("""
a about after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers him his how i if in into is it its itself just me more most my no nor not
now of off on once only or other our out over own same she should so some such than that the their
them then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your new says said say after vs via amid over
""".split())

_WORD = re.compile(r"\w+", re.UNICODE)
_BIGRAM_SCRIPTS = frozenset({"han", "kana", "thai", "lao", "khmer", "myanmar"})


@dataclass(frozen=True)
class ClusterOptions:
    """Every knob of the clustering, in one frozen object (defaults tuned on half of the UCI sample)."""

    threshold: float = 0.15
    gap_days: float = 3.0
    span_days: float = 14.0
    idf_days: float = 7.0
    body_terms: int = 40
    body_weight: float = 0.5
    max_postings: int = 400
    probe_terms: int = 64  # fewer is faster but misses stories (3 terms: UCI F1 0.33)
    dup_threshold: float = 90.0
    dup_chars: int = 2000
    dup_compare: int = 50


@dataclass(frozen=True)
class Item:
    """One article as the clustering sees it; `time` is seconds since the epoch."""

    id: int
    time: float
    title: str = ""
    body: str = ""
    publisher: str = ""
    language: str = ""


@dataclass(frozen=True)
class Assignment:
    """Where an item went: its cluster's leader (first item) and, if a copy, what it copies."""

    item_id: int
    leader: int
    duplicate_of: int | None = None
    similarity: float | None = None


@dataclass
class _Cluster:
    leader: int
    script: str
    language: str
    first: float
    last: float
    pinned: bool = False
    centroid: dict[str, float] = field(default_factory=dict)
    norm2: float = 0.0
    originals: list[tuple[int, str]] = field(default_factory=list)


# --- Text to terms ---------------------------------------------------------------------------------

def script_of(text: str) -> str:
    """The script of `text` ("latin", "cyrillic", "han", "kana", "arabic", ...; "" if none): the most
    common non-Latin one if it makes a fifth of the letters, else Latin."""
    if text.isascii():
        return "latin" if any(c.isalpha() for c in text) else ""
    counts: Counter[str] = Counter()
    for char in text:
        if char.isalpha():
            counts[_char_script(char)] += 1
    if counts.get("kana"):  # Japanese mixes kanji and kana: one block
        counts["kana"] += counts.pop("han", 0)
    latin = counts.pop("latin", 0)
    if counts:  # brand names in Latin letters do not make a Chinese or Russian title English
        other, n = counts.most_common(1)[0]
        if n * 5 >= n + latin:
            return other
    return "latin" if latin else ""


def _char_script(char: str) -> str:
    if char.isascii():
        return "latin"
    name = unicodedata.name(char, "")
    if "CJK" in name:
        return "han"
    if "HIRAGANA" in name or "KATAKANA" in name:
        return "kana"
    word = name.split(" ", 1)[0].lower()
    return "han" if word == "ideograph" else word


def tokenize(text: str) -> list[str]:
    """Content terms of `text`: lower-cased words minus stop words, or bigrams for unspaced scripts."""
    terms: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word.isascii():
            if word in STOPWORDS or len(word) < 2:
                continue
            if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
                word = word[:-1]
            terms.append(word)
        elif _char_script(word[0]) in _BIGRAM_SCRIPTS:
            terms.extend(word[i:i + 2] for i in range(max(1, len(word) - 1)))
        else:
            terms.append(word)
    return terms


def normalise(text: str) -> str:
    """Lower-cased words joined by single spaces: the form duplicates are compared in."""
    return " ".join(_WORD.findall(text.lower()))


# --- The clusterer ---------------------------------------------------------------------------------

class Clusterer:
    """Online clustering state: feed items in `(time, id)` order to `add`, or old ones to `warm`."""

    def __init__(self, options: ClusterOptions | None = None, pinned: Iterable[int] = ()) -> None:
        self.options = options or ClusterOptions()
        self.pinned = frozenset(pinned)
        self._window: deque[tuple[float, list[str]]] = deque()
        self._df: Counter[str] = Counter()
        self._open: dict[int, _Cluster] = {}
        self._postings: dict[str, set[int]] = {}
        self._last_sweep = -math.inf
        self._last_key: tuple[float, int] = (-math.inf, -1)

    def add(self, item: Item) -> Assignment:
        """Assign `item` (later than every item seen so far) to a cluster."""
        vector = self._prepare(item)
        script = script_of(item.title or item.body)
        cluster = None if item.id in self.pinned else self._best(vector, script, item)
        if cluster is None:
            cluster = self._start(item, script)
        return self._join(cluster, item, vector)

    def warm(self, item: Item, leader: int, duplicate_of: int | None) -> None:
        """Replay an item already assigned (to `leader`'s cluster) without deciding anything."""
        vector = self._prepare(item)
        cluster = self._open.get(leader)
        if cluster is None:
            if leader != item.id:
                return  # its cluster began before the look-back: closed for anything later
            cluster = self._start(item, script_of(item.title or item.body))
        self._absorb(cluster, item, vector, duplicate_of)

    # -- features --

    def _prepare(self, item: Item) -> dict[str, float]:
        key = (item.time, item.id)
        if key <= self._last_key:
            raise ValueError(f"items out of order: {key} after {self._last_key}")
        self._last_key = key
        self._slide(item.time)
        title = tokenize(item.title)
        body = [t for t in tokenize(item.body)[: self.options.body_terms] if t not in title]
        vector = self._weigh(title, body)
        terms = list(dict.fromkeys(title + body))
        self._window.append((item.time, terms))
        self._df.update(terms)
        if item.time - self._last_sweep > 3600:
            self._sweep(item.time)
        return vector

    def _slide(self, now: float) -> None:
        horizon = now - self.options.idf_days * DAY
        while self._window and self._window[0][0] < horizon:
            for term in self._window.popleft()[1]:
                left = self._df[term] - 1
                if left:
                    self._df[term] = left
                else:
                    del self._df[term]

    def _weigh(self, title: list[str], body: list[str]) -> dict[str, float]:
        size = len(self._window) + 1
        vector: dict[str, float] = {}
        for terms, weight in ((title, 1.0), (body, self.options.body_weight)):
            for term in terms:
                idf = math.log((size + 1) / (self._df.get(term, 0) + 1)) + 1.0
                vector[term] = max(vector.get(term, 0.0), weight * idf)
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {term: value / norm for term, value in vector.items()}

    # -- candidates and choice --

    def _best(self, vector: dict[str, float], script: str, item: Item) -> _Cluster | None:
        best, best_score = None, self.options.threshold
        for leader in self._candidates(vector):
            cluster = self._open[leader]
            if not self._eligible(cluster, script, item):
                continue
            dot = sum(value * cluster.centroid.get(term, 0.0) for term, value in vector.items())
            score = dot / math.sqrt(cluster.norm2) if cluster.norm2 else 0.0
            if score > best_score or (score == best_score and best is not None and leader < best.leader):
                best, best_score = cluster, score
        return best

    def _candidates(self, vector: dict[str, float]) -> set[int]:
        found: set[int] = set()
        limit = self.options.max_postings
        rarest = sorted(vector, key=vector.__getitem__, reverse=True)[: self.options.probe_terms]
        for term in rarest:
            leaders = self._postings.get(term)
            if leaders and len(leaders) <= limit:
                found |= leaders
        return found

    def _eligible(self, cluster: _Cluster, script: str, item: Item) -> bool:
        if cluster.pinned or cluster.script != script:
            return False
        if item.language and cluster.language and item.language[:2] != cluster.language[:2]:
            return False
        options = self.options
        return (item.time - cluster.last <= options.gap_days * DAY
                and item.time - cluster.first <= options.span_days * DAY)

    # -- updating clusters --

    def _start(self, item: Item, script: str) -> _Cluster:
        cluster = _Cluster(item.id, script, item.language[:2], item.time, item.time,
                           pinned=item.id in self.pinned)
        self._open[item.id] = cluster
        return cluster

    def _join(self, cluster: _Cluster, item: Item, vector: dict[str, float]) -> Assignment:
        text = self._dup_text(item)
        original, similarity = None, None
        if text and cluster.originals:
            recent = cluster.originals[-self.options.dup_compare:]
            match = process.extractOne(text, [t for _, t in recent], scorer=fuzz.ratio,
                                       score_cutoff=self.options.dup_threshold)
            if match is not None:  # the closest original (originals are never copies of each other)
                original, similarity = recent[match[2]][0], round(match[1] / 100.0, 4)
        self._absorb(cluster, item, vector, original, text)
        return Assignment(item.id, cluster.leader, original, similarity)

    def _absorb(self, cluster: _Cluster, item: Item, vector: dict[str, float],
                duplicate_of: int | None, text: str | None = None) -> None:
        cluster.last = max(cluster.last, item.time)
        if duplicate_of is not None:
            return
        cluster.originals.append((item.id, text if text is not None else self._dup_text(item)))
        centroid = cluster.centroid
        for term, value in vector.items():
            old = centroid.get(term, 0.0)
            cluster.norm2 += 2 * old * value + value * value
            centroid[term] = old + value
            if not old and not cluster.pinned:
                self._postings.setdefault(term, set()).add(cluster.leader)

    def _dup_text(self, item: Item) -> str:
        return normalise(f"{item.title} {item.body}")[: self.options.dup_chars]

    def _sweep(self, now: float) -> None:
        """Forget clusters that can take no more items (only saves memory: results do not change)."""
        self._last_sweep = now
        options = self.options
        closed = [leader for leader, c in self._open.items()
                  if now - c.last > options.gap_days * DAY or now - c.first > options.span_days * DAY]
        for leader in closed:
            for term in self._open.pop(leader).centroid:
                leaders = self._postings.get(term)
                if leaders is not None:
                    leaders.discard(leader)
                    if not leaders:
                        del self._postings[term]


def cluster_items(items: Iterable[Item], options: ClusterOptions | None = None,
                  pinned: Iterable[int] = ()) -> Iterator[Assignment]:
    """Cluster items from scratch (they are sorted by `(time, id)` first)."""
    clusterer = Clusterer(options, pinned)
    for item in sorted(items, key=lambda i: (i.time, i.id)):
        yield clusterer.add(item)


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
