"""Story clustering and near-duplicate detection, in memory: the one module that imports rapidfuzz
and wordfreq.

Pure: `Item`s in, `Assignment`s out; the database side lives in `tracker.stories.stage`.

How it works (one pass over the items in time order, `(time, id)`):

* **Features.** Each item becomes a sparse, L2-normalised vector of its title terms (weight 1), the
  leading terms of its excerpt/text (`body_weight`) and the words of its URL's slug (`url_weight`:
  "/fed-official-says-weak-data-caused-by-weather" often names the story in other words), each
  times how specific the term is. For words of a language wordfreq knows, that is their rarity in
  ordinary text (8 minus the Zipf frequency): the terms that name a story ("Titanfall", "Gox",
  "Keibler") are rare in general but *common in the week's news*, so an IDF over the news window
  weighs them down just when they matter. Other terms (other scripts, unknown languages) fall back
  to an IDF over the news of the last `idf_days` (a sliding window, the same value however the run
  is cut up). A word in more than `common_share` of the window's news (counting `prior_docs` more
  articles, so a handful of articles proves nothing) is the collection's subject rather than a
  story's ("AI" in a feed of AI news) and shrinks with log(1/share). The tracker's beat
  (`beat_terms`: privacy, surveillance, facial recognition...) is known in advance: those terms
  count a quarter even before the window has learnt it.
  Latin/Cyrillic/Greek... text is split into words (English stop words dropped, plural `s` folded,
  "Co-op" one word); Chinese, Japanese, Thai runs become character bigrams.
* **Blocking.** Only clusters that are still *open* are candidates: their last article at most
  `gap_days` ago and their first at most `span_days` ago (stories live days, not years). Among
  those, candidates share at least one term that is rare among open clusters (an inverted index
  over open clusters; terms in more than `max_postings` of them find no candidates). So the cost
  per item depends on how much news is open at that moment, not on the archive size: linear overall.
* **Assignment.** The item joins the candidate whose centroid (sum of member vectors) is most
  similar (cosine), among those at least `threshold` similar that also show evidence of one event
  (below), else it starts a cluster. Comparing with the centroid, not with the nearest member,
  stops single-link chaining; but a centroid of diverse articles grows more similar to everything
  (its cosine to an item is the mean similarity times n / |centroid|), so the evidence is counted
  per original.
* **Merges.** A story often starts as fragments worded differently that only later turn out to
  be one. After each join, the cluster is compared with the item's next-best candidates
  (`merge_candidates`) and merged with those whose average linkage (sum . sum / (n_a n_b): the mean
  similarity of all cross pairs) reaches `merge_threshold` (a lone article must pass the joining
  test instead); the cluster that began first survives and the merge is reported
  (`Clusterer.merges`), so stored results and stable ids follow it.
* **Evidence of one event** (tracker/stories/evidence.py). Alike in words is not enough: each item also
  has *marks*, its terms rarer than `mark_rarity` (Zipf 4; `title_mark_rarity` in headlines, which
  are written in common words) and the names it writes with a capital (`name_terms`: counted at
  least `name_rarity` rare), minus numbers, slug words and terms in more than `common_share` of the
  open stories (the collection's subject, "AI" in AI news). A join needs a mark that more than
  half the cluster's originals carry (`dominance`: this stops chaining, A like B, B like C, A
  unlike C) and, on average over the originals, `min_shared` shared marks (or `evidence_share` of
  those it could share; `unanimous_share` when a mark it carries is in every original): one
  shared verb, name or number is a coincidence. Marks shared with the item's own outlet's
  articles count `own_outlet_weight` (nothing: an outlet's template is no evidence). An item whose mean
  similarity to the originals reaches `telling_similarity` needs no more (unless every original
  is from its own outlet, whose template makes its articles alike); an item with fewer than
  `min_marks` marks (a bare headline) has too little text to judge, and similarity alone decides.
  Merges need the same evidence between the two clusters. When the privacy lens has tagged the
  articles (`Item.tags`), two sides naming different companies, regulators, actions or
  jurisdictions never join. Figures, and what was tried and left out: README, "Tests and
  benchmarks".
* **Scripts.** A cluster only takes items written in its script (and, when both declare one, its
  language): an Arabic title never joins an English story because of a shared "2024" or "iPhone".
* **Duplicates.** Inside the chosen cluster, the item's normalised text (title + excerpt/text lead)
  is compared with the cluster's last `dup_compare` originals by rapidfuzz `ratio`; at
  `dup_threshold` or above it is a duplicate of the closest one and does not move the centroid (a
  syndicated story published ten times is one voice).
* **Corrections.** Items in `pinned` (analyst splits) always stand alone and take no members.

Determinism is what makes incremental runs equal full ones: the state before time t depends only on
the items before t, so `warm` rebuilds it from stored assignments (each into the cluster its own
was merged into before t) and the run goes on from t.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import unicodedata
from collections import Counter, deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Iterator, NamedTuple, Sequence
from urllib.parse import parse_qsl, unquote, urlsplit

from rapidfuzz import fuzz, process
from wordfreq import available_languages, zipf_frequency

from tracker.stories.evidence import Evidence, linkage, one_outlet, support, tags_by_kind, tags_conflict

DAY = 86400.0

STOPWORDS = frozenset("""
a about after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers him his how i if in into is it its itself just me more most my no nor not
now of off on once only or other our out over own same she should so some such than that the their
them then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your new says said say after vs via amid over
""".split())

# The tracker's beat: words in nearly every article it follows, so they tell no two stories apart
# (a privacy tracker's "facial recognition" is a general news reader's "the"). Window statistics
# learn this too, but only once the window holds many articles.
BEAT_TERMS = frozenset("""
privacy data protection surveillance facial recognition biometric personal information consent
gdpr regulator regulation watchdog tracking spyware encryption cybersecurity security breach
""".split())

_WORD = re.compile(r"\w+", re.UNICODE)
_COMPOUND = re.compile(r"\w+(?:-\w+)+", re.UNICODE)
_BIGRAM_SCRIPTS = frozenset({"han", "kana", "thai", "lao", "khmer", "myanmar"})


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
    probe_terms: int = 64  # fewer is faster but misses stories (3 terms: UCI F1 0.33)
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


class _Features(NamedTuple):
    vector: dict[str, float]  # L2-normalised term weights
    marks: frozenset[str]  # distinctive terms: the evidence of which event it reports


@dataclass
class _Cluster:
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
    for word in _WORD.findall(_COMPOUND.sub(_join_short_parts, text.lower())):
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


_WORDFREQ_LANGUAGES = frozenset(available_languages()) - {"zh", "ja", "ko"}  # CJK: needs extra tokenizers


@lru_cache(maxsize=500_000)
def specificity(term: str, language: str = "") -> float | None:
    """How rare `term` is in ordinary text of `language` (default English): 8 minus its Zipf
    frequency ("the" 0.3, "stocks" 3.7, a name never seen 8), or None where wordfreq cannot tell
    (words outside ASCII with no known language)."""
    language = language[:2].lower()
    if language not in _WORDFREQ_LANGUAGES:
        if not term.isascii():
            return None
        language = "en"
    # tokenize folds plurals by dropping an "s" ("launches" -> "launche"): look the word up whole too
    frequency = max(zipf_frequency(term, language), zipf_frequency(term + "s", language))
    return max(0.3, 8.0 - frequency)


_SLUG_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)  # letters only: ids and dates in URLs are noise
_SLUG_SEPARATOR = re.compile(r"[-_+ ]")


def url_terms(url: str) -> list[str]:
    """Terms of the URL's slug: the path segments (or query values) of three or more words joined
    by "-", "_" or "+" ("/2014/03/10/fed-official-says-weak-data.html"), which often name the
    story in other words than the headline; ids, dates and section names are left out."""
    try:
        parts = urlsplit(url)
    except ValueError:  # ("http://[bad"): not a URL, so no slug; the title still counts
        return []
    terms: list[str] = []
    for piece in parts.path.split("/") + [value for _, value in parse_qsl(parts.query)]:
        piece = unquote(piece)
        if len(_SLUG_SEPARATOR.findall(piece)) >= 2:
            terms.extend(tokenize(" ".join(_SLUG_WORDS.findall(piece.rsplit(".", 1)[0]))))
    return terms


_ALWAYS_CAPITAL = frozenset("""
january february march april may june july august september october november december jan feb mar apr
jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday mon tue wed
thu fri sat sun
""".split())  # capitalised by grammar, not because they name anything
_SENTENCE_END = ("." , "!", "?", ":", ";", "--", "—", "–", "|")


def name_terms(title: str, body: str = "") -> set[str]:
    """Terms written with a capital where grammar does not ask for one: the names of a text
    ("Apple", "Xnor.ai", "Met Police"). Words opening a sentence are skipped, and so is a title in
    title case ("Apple Acquires AI Startup"), where capitals say nothing (its acronyms and
    inner-capital words like "iPhone" still count)."""
    names: set[str] = set()
    for text, in_title in ((title, True), (body, False)):
        words = text.split()
        title_case = in_title and _is_title_case(words)
        for index, word in enumerate(words):
            previous = words[index - 1] if index else ""
            if not title_case and index + 1 < len(words) and words[index + 1][:1].isupper():
                previous = "x"  # "Southern Co-op said": a sentence may open with a name of two words
            # "Seattle-based": Seattle is a name, "based" is not; "Co-op" is one word (tokenize)
            parts = word.split("-") if "-" in word and len(tokenize(word)) > 1 else [word]
            for part in parts:
                if _is_name(part, previous, title_case):
                    names.update(t for t in tokenize(part) if t not in _ALWAYS_CAPITAL and not t.isdigit())
                previous = "x"  # later parts of a compound never open a sentence
    return names


def _is_name(word: str, previous: str, title_case: bool) -> bool:
    core = word.strip("\"'“”‘’()[]«»,")
    if not core or not core[0].isalpha():
        return False
    if any(c.isupper() for c in core[1:]) and any(c.islower() for c in core):  # iPhone, DeepMind
        return True
    if title_case or not core[0].isupper():
        return core.isupper() and len(core) > 1 and title_case  # acronyms in title case
    return bool(previous) and not previous.rstrip("\"'“”’)").endswith(_SENTENCE_END)


def _is_title_case(words: list[str]) -> bool:
    long = [w for w in words if len(w) > 3 and w[0].isalpha()]
    return len(long) >= 2 and sum(w[0].isupper() for w in long) >= 0.6 * len(long)


def _own_names(item: Item) -> set[str]:
    """The publisher's own name and host ("Reuters", "PRNewswire"): in its bylines, not its stories."""
    try:
        host = urlsplit(item.url).hostname or ""
    except ValueError:  # not a URL: no host to leave out
        host = ""
    return set(tokenize(item.publisher)) | set(tokenize(host.replace(".", " ")))


def _join_short_parts(match: re.Match[str]) -> str:
    """"co-op" -> "coop", "t-mobile" -> "tmobile": a name with a part of one or two letters means
    nothing split up ("co", "op"); "privacy-law" and "18-year-old" stay separate words."""
    parts = match.group(0).split("-")
    short = any(len(part) <= 2 and part.isalpha() for part in parts)
    return "".join(parts) if short else " ".join(parts)


def normalise(text: str) -> str:
    """Lower-cased words joined by single spaces: the form duplicates are compared in."""
    return " ".join(_WORD.findall(text.lower()))


# --- The clusterer ---------------------------------------------------------------------------------

class Clusterer:
    """Online clustering state: feed items in `(time, id)` order to `add`, or old ones to `warm`."""

    def __init__(self, options: ClusterOptions | None = None, pinned: Iterable[int] = ()) -> None:
        self.options = options or ClusterOptions()
        self.pinned = frozenset(pinned)
        self.merges: list[tuple[int, int, float]] = []  # (absorbed leader, surviving leader, time)
        self._window: deque[tuple[float, list[str]]] = deque()
        self._df: Counter[str] = Counter()
        self._open: dict[int, _Cluster] = {}
        self._postings: dict[str, set[int]] = {}
        self._last_sweep = -math.inf
        self._last_key: tuple[float, int] = (-math.inf, -1)

    def add(self, item: Item) -> Assignment:
        """Assign `item` (later than every item seen so far) to a cluster."""
        features = self._prepare(item)
        script = script_of(item.title or item.body)
        ranked = [] if item.id in self.pinned else self._ranked(features.vector, script, item)
        cluster = self._choose(ranked, features, item) or self._start(item, script)
        assignment = self._join(cluster, item, features)
        others = [leader for _, leader in ranked if leader != cluster.leader]
        self._merge_with(cluster, others[: self.options.merge_candidates], item.time)
        return assignment

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

    def _prepare(self, item: Item) -> _Features:
        key = (item.time, item.id)
        if key <= self._last_key:
            raise ValueError(f"items out of order: {key} after {self._last_key}")
        self._last_key = key
        self._slide(item.time)
        title = tokenize(item.title)
        body = [t for t in tokenize(item.body)[: self.options.body_terms] if t not in title]
        slug = [t for t in url_terms(item.url) if t not in title]
        names = name_terms(item.title, item.body) - _own_names(item)
        features = self._weigh(title, body, slug, item.language, names)
        terms = list(dict.fromkeys(title + body + slug))
        self._window.append((item.time, terms))
        self._df.update(terms)
        if item.time - self._last_sweep > 3600:
            self._sweep(item.time)
        return features

    def _slide(self, now: float) -> None:
        horizon = now - self.options.idf_days * DAY
        while self._window and self._window[0][0] < horizon:
            for term in self._window.popleft()[1]:
                left = self._df[term] - 1
                if left:
                    self._df[term] = left
                else:
                    del self._df[term]

    def _weigh(self, title: list[str], body: list[str], slug: list[str], language: str,
               names: set[str]) -> _Features:
        vector: dict[str, float] = {}
        marks: set[str] = set()
        options = self.options
        parts = ((title, 1.0, options.title_mark_rarity), (body, options.body_weight, options.mark_rarity),
                 (slug, options.url_weight, math.inf))  # no marks from slugs: ids as often as words
        for terms, weight, bar in parts:
            for term in terms:
                rarity, damped = self._rarity(term, language, term in names)
                vector[term] = max(vector.get(term, 0.0), weight * damped)
                if rarity >= bar and not term.isdigit() and not self._widespread(term):
                    marks.add(term)
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return _Features({term: value / norm for term, value in vector.items()}, frozenset(marks))

    def _rarity(self, term: str, language: str, name: bool) -> tuple[float, float]:
        """How much `term` says about a story, before and after damping a term that is in more
        than `common_share` of the window's news."""
        options = self.options
        size = len(self._window) + 1
        df = self._df.get(term, 0)
        known = specificity(term, language)
        if known is None:  # the window's IDF already weighs common terms down
            rarity = math.log((size + 1) / (df + 1)) + 1.0
        else:
            rarity = max(known, options.name_rarity) if name else known
        if term in options.beat_terms:
            rarity *= options.beat_weight
        damped = rarity
        if known is not None and df > options.common_share * (size + options.prior_docs):
            damped *= self._damping(df, size + options.prior_docs)
        return rarity, damped

    def _widespread(self, term: str) -> bool:
        """A term in more than `common_share` of the open stories is the collection's subject ("AI"
        in AI news), no evidence of any one event. (Counted over stories, not articles: a big
        story's name is in many articles of the window but in one story.)"""
        leaders = self._postings.get(term)
        options = self.options
        return leaders is not None and len(leaders) > options.common_share * (len(self._open) + options.prior_docs)

    def _damping(self, df: int, size: int) -> float:
        """A term in more than `common_share` of the window's news is the collection's subject, not
        a story's ("AI" in a feed of AI news): its weight shrinks with log(1/share), to nothing for
        a term in everything."""
        return max(0.0, math.log(size / df)) / math.log(1.0 / self.options.common_share)

    # -- candidates and choice --

    def _ranked(self, vector: dict[str, float], script: str, item: Item) -> list[tuple[float, int]]:
        """Eligible candidate clusters as (average similarity, leader), best first (ties: oldest)."""
        scored = []
        for leader in self._candidates(vector):
            cluster = self._open[leader]
            if cluster.size and self._eligible(cluster, script, item):
                scored.append((_dot(vector, cluster.centroid) / math.sqrt(cluster.norm2), leader))
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return scored

    def _choose(self, ranked: list[tuple[float, int]], features: _Features, item: Item) -> _Cluster | None:
        """The most similar candidate that reaches the threshold and has evidence of one event."""
        for similarity, leader in ranked:
            if similarity < self.options.threshold:
                return None
            cluster = self._open[leader]
            mean = similarity * math.sqrt(cluster.norm2) / cluster.size  # to each original, on average
            if self._supported(cluster, item, features, mean):
                return cluster
        return None

    def _supported(self, cluster: _Cluster, item: Item, features: _Features, similarity: float) -> bool:
        """Evidence that the item reports the cluster's event (see tracker/stories/evidence.py)."""
        evidence, options, marks = cluster.evidence, self.options, features.marks
        if options.use_tags and item.tags and tags_conflict(tags_by_kind(item.tags), evidence.tags):
            return False
        if len(marks) < options.min_marks:
            return True
        if similarity >= options.telling_similarity and evidence.publishers != {item.publisher}:
            return True  # (one outlet's own template makes its articles alike: not evidence)
        if similarity >= options.copy_similarity:
            return True  # the same text again, from any outlet: a copy (found as a duplicate on joining)
        available = min(len(marks), evidence.marks_per_original())
        shared = support(marks, evidence, item.publisher, options.own_outlet_weight)
        if evidence.size > 1 and evidence.unanimous(marks) and shared >= options.unanimous_share * available:
            return True
        needed = min(options.min_shared, options.evidence_share * available)
        return evidence.dominant(marks, options.dominance) and shared >= needed

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

    def _merge_with(self, cluster: _Cluster, leaders: list[int], now: float) -> None:
        """Merge `cluster` with each of `leaders` whose average linkage to it reaches the merge
        threshold; the cluster that began first survives."""
        if cluster.pinned or not cluster.size:
            return
        for leader in leaders:
            other = self._open.get(leader)
            if other is None or other is cluster or not self._mergeable(cluster, other):
                continue
            dot = _dot(*sorted((cluster.centroid, other.centroid), key=len))
            mean = dot / (cluster.size * other.size)  # average linkage
            if min(cluster.size, other.size) == 1:  # merging a lone article is joining: same test
                lone, group = (cluster, other) if cluster.size == 1 else (other, cluster)
                merge = dot / math.sqrt(lone.norm2 * group.norm2) >= self.options.threshold
            else:
                merge = mean >= self.options.merge_threshold
            if merge and self._evidenced(cluster, other, mean):
                keep, gone = sorted((cluster, other), key=lambda c: (c.first, c.leader))
                self._fold(keep, gone)
                self.merges.append((gone.leader, keep.leader, now))
                cluster = keep

    def _evidenced(self, a: _Cluster, b: _Cluster, similarity: float) -> bool:
        """Evidence that two clusters report one event: tags that do not conflict, a mark most
        originals carry on both sides, and enough marks shared by their originals on average."""
        ea, eb = a.evidence, b.evidence
        if self.options.use_tags and tags_conflict(ea.tags, eb.tags):
            return False
        options = self.options
        available = min(ea.marks_per_original(), eb.marks_per_original())
        if available < options.min_marks:
            return True
        if similarity >= options.telling_similarity and not one_outlet(ea, eb) or similarity >= options.copy_similarity:
            return True  # (as for a join: one outlet's template is no evidence, its copies are)
        needed = min(options.min_shared, options.evidence_share * available)
        return ea.shares_theme(eb, options.dominance) and linkage(ea, eb, options.own_outlet_weight) >= needed

    def _mergeable(self, a: _Cluster, b: _Cluster) -> bool:
        if b.pinned or not b.size or a.script != b.script:
            return False
        if a.language and b.language and a.language != b.language:
            return False
        return max(a.last, b.last) - min(a.first, b.first) <= self.options.span_days * DAY

    def _fold(self, keep: _Cluster, gone: _Cluster) -> None:
        """Move everything of `gone` into `keep` and forget `gone`."""
        del self._open[gone.leader]
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
        keep.evidence.fold(gone.evidence)

    def _start(self, item: Item, script: str) -> _Cluster:
        cluster = _Cluster(item.id, script, item.language[:2], item.time, item.time,
                           pinned=item.id in self.pinned)
        self._open[item.id] = cluster
        return cluster

    def _join(self, cluster: _Cluster, item: Item, features: _Features) -> Assignment:
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

    def _absorb(self, cluster: _Cluster, item: Item, features: _Features,
                duplicate_of: int | None, text: str | None = None) -> None:
        cluster.last = max(cluster.last, item.time)
        if duplicate_of is not None:
            return
        cluster.originals.append((item.id, text if text is not None else self._dup_text(item)))
        cluster.size += 1
        cluster.evidence.add(features.marks, item.tags, item.publisher)
        centroid = cluster.centroid
        for term, value in features.vector.items():
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


def _dot(sparse: dict[str, float], other: dict[str, float]) -> float:
    """Dot product of two sparse vectors, walking the first (pass the shorter one first)."""
    return sum(value * other.get(term, 0.0) for term, value in sparse.items())


ALGORITHM_VERSION = 3  # bump when a change makes stored assignments stale


def fingerprint(options: ClusterOptions) -> str:
    """A stable text naming the algorithm version and every option (sets sorted)."""
    fields = {name: sorted(value) if isinstance(value, frozenset) else value
              for name, value in dataclasses.asdict(options).items()}
    return json.dumps({"version": ALGORITHM_VERSION, **fields}, sort_keys=True)


def cluster_items(items: Iterable[Item], options: ClusterOptions | None = None,
                  pinned: Iterable[int] = ()) -> Iterator[Assignment]:
    """Cluster items from scratch (they are sorted by `(time, id)` first); each assignment names
    the leader of the cluster its item ended up in, after every merge."""
    clusterer = Clusterer(options, pinned)
    assignments = [clusterer.add(item) for item in sorted(items, key=lambda i: (i.time, i.id))]
    root = merge_roots(clusterer.merges)
    for a in assignments:
        yield Assignment(a.item_id, root.get(a.leader, a.leader), a.duplicate_of, a.similarity)


def merge_roots(merges: Iterable[tuple[int, int, float]]) -> dict[int, int]:
    """Absorbed leader -> the leader that finally holds it, from (absorbed, survivor, time) merges."""
    into = {gone: keep for gone, keep, _ in merges}
    roots: dict[int, int] = {}
    for leader in into:
        path, node = [], leader
        while node in into and node not in roots and node not in path:  # (no cycles, even in bad data)
            path.append(node)
            node = into[node]
        top = roots.get(node, node)
        for seen in path:
            roots[seen] = top
    return roots


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
