"""The word-rarity window: how rare a term is, and whether the last days' news is full of it.

For words of a language wordfreq knows, a term's rarity is how rare it is in ordinary text (8 minus
the Zipf frequency, `tracker.stories.terms.specificity`): the terms that name a story ("Titanfall",
"Gox", "Keibler") are rare in general but *common in the week's news*, so an IDF over the news
window would weigh them down just when they matter. Other terms (other scripts, unknown languages)
fall back to an IDF over the news of the last `idf_days` (a sliding window, the same value however
the run is cut up). A word in more than `common_share` of the window's news (counting `prior_docs`
more articles, so a handful of articles proves nothing) is the collection's subject rather than a
story's ("AI" in a feed of AI news) and shrinks with log(1/share). The tracker's beat
(`beat_terms`) counts `beat_weight` even before the window has learnt it.
"""

from __future__ import annotations

import math
from collections import Counter, deque

from tracker.stories.model import DAY, ClusterOptions
from tracker.stories.terms import specificity


class TermWindow:
    """Document frequencies over the items of the last `idf_days`, fed in time order."""

    def __init__(self, options: ClusterOptions) -> None:
        self.options = options
        self._items: deque[tuple[float, list[str]]] = deque()
        self._df: Counter[str] = Counter()

    def slide(self, now: float) -> None:
        """Forget the items older than `idf_days` before `now`."""
        horizon = now - self.options.idf_days * DAY
        while self._items and self._items[0][0] < horizon:
            for term in self._items.popleft()[1]:
                left = self._df[term] - 1
                if left:
                    self._df[term] = left
                else:
                    del self._df[term]

    def add(self, time: float, terms: list[str]) -> None:
        """Count one more item (its distinct terms)."""
        self._items.append((time, terms))
        self._df.update(terms)

    def rarity(self, term: str, language: str, name: bool) -> tuple[float, float]:
        """How much `term` says about a story, before and after damping a term that is in more
        than `common_share` of the window's news."""
        options = self.options
        size = len(self._items) + 1
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

    def _damping(self, df: int, size: int) -> float:
        """A term in more than `common_share` of the window's news is the collection's subject, not
        a story's ("AI" in a feed of AI news): its weight shrinks with log(1/share), to nothing for
        a term in everything."""
        return max(0.0, math.log(size / df)) / math.log(1.0 / self.options.common_share)
