"""Text to terms: words, scripts, names and slugs, and how rare a word is in ordinary language (the
one module that imports wordfreq). Pure functions; the clustering (tracker/stories/cluster.py) weighs
what they return.

Latin/Cyrillic/Greek... text is split into words (English stop words dropped, plural `s` folded,
"Co-op" one word); Chinese, Japanese, Thai runs become character bigrams. A word's rarity is 8 minus
its Zipf frequency in its language (wordfreq); names are the words written with a capital where
grammar does not ask for one.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urlsplit

from wordfreq import available_languages, zipf_frequency

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

_WORD = re.compile(r"\w+", re.UNICODE)
_COMPOUND = re.compile(r"\w+(?:-\w+)+", re.UNICODE)
_BIGRAM_SCRIPTS = frozenset({"han", "kana", "thai", "lao", "khmer", "myanmar"})


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



def own_names(publisher: str, url: str) -> set[str]:
    """The publisher's own name and host ("Reuters", "PRNewswire"): in its bylines, not its stories."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # not a URL: no host to leave out
        host = ""
    return set(tokenize(publisher)) | set(tokenize(host.replace(".", " ")))


def _join_short_parts(match: re.Match[str]) -> str:
    """"co-op" -> "coop", "t-mobile" -> "tmobile": a name with a part of one or two letters means
    nothing split up ("co", "op"); "privacy-law" and "18-year-old" stay separate words."""
    parts = match.group(0).split("-")
    short = any(len(part) <= 2 and part.isalpha() for part in parts)
    return "".join(parts) if short else " ".join(parts)


def normalise(text: str) -> str:
    """Lower-cased words joined by single spaces: the form duplicates are compared in."""
    return " ".join(_WORD.findall(text.lower()))

