"""Search terms as people type them, turned into an SQLite FTS5 query that cannot be a syntax error.

What an analyst types, and what it means here:

- `AI Act`: the words next to each other, as one phrase (not "AI" and "act" anywhere);
- `"data protection" fine`: a quoted phrase, then another word: both are phrases, both must appear
  (words written together are one phrase; a quote or an operator starts a new one);
- `GDPR OR BIPA`, `Meta AND fine`, `Meta NOT Facebook`: the operators, in capitals as in FTS5;
- `recogn*`: a prefix;
- `fine -GDPR`: the same as `fine NOT GDPR`; `NOT GDPR` or `-ICO` alone cannot be asked of FTS5
  (its NOT only excludes from what comes before it): they are left out and `search_problem` says so;
- `title:ICO`, `title:"data protection"`: the phrase in that column only (title, excerpt, text);
- nothing at all: no full-text condition (the pages then show everything, newest first).

Every word reaches FTS5 inside double quotes, so punctuation, a stray quote or a lone `OR` is only
text, never an error. Pure functions: the Datasette plugin registers `fts_query` as an SQL function,
and `tracker export --search` uses it directly; the table search box's ASGI wrapper uses
`without_empty_searches`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

OPERATORS = ("OR", "AND", "NOT")
FIELDS = ("title", "excerpt", "text")  # the indexed columns `title:ICO` may name
# A quoted phrase (closing quote optional), or a run of characters that are not spaces or quotes.
_TOKEN = re.compile(r'"([^"]*)"?|([^\s"]+)')
# The characters FTS5's default tokenizers treat as part of a word; the rest only separate words.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_FIELD = re.compile(r"(title|excerpt|text):(.*)", re.IGNORECASE)


def fts_query(text: str | None) -> str:
    """The FTS5 MATCH expression for `text` as typed; '' when it has no words (match everything)."""
    return " ".join(_tidy(_parts(text))[0])


def search_problem(text: str | None) -> str | None:
    """What in `text` the search cannot do and left out (None if nothing): FTS5's NOT only
    excludes from what comes before it, so `NOT GDPR` or `-ICO` alone would find nothing."""
    dropped = _tidy(_parts(text))[1]
    if not dropped:
        return None
    return (f"Left out {' '.join(dropped)}: NOT and -word only exclude from the words before them "
            "(search \"fine NOT GDPR\" or \"fine -GDPR\"); a search of exclusions alone is not supported.")


def _parts(text: str | None) -> list[str]:
    """Phrases (with their column filter) and operators, in order."""
    parts: list[str] = []
    words: list[str] = []  # the unquoted words of the phrase being read
    field: list[str] = []  # the column the next phrase is limited to (`title:`), if any
    for match in _TOKEN.finditer(text or ""):
        quoted, bare = match.group(1), match.group(2)
        if bare is not None and bare.startswith("-") and _WORD.search(bare):
            _flush(words, parts, field)
            parts.append("NOT")
            bare = bare[1:]
        found = _FIELD.fullmatch(bare) if bare is not None else None
        if found:
            _flush(words, parts, field)
            field[:] = [found.group(1).lower()]
            bare = found.group(2)
        if bare in OPERATORS:
            _flush(words, parts, field)
            parts.append(bare)
        elif quoted is not None:
            _flush(words, parts, field)
            _add_phrase(_WORD.findall(quoted), False, parts, field)
        elif bare:
            words.append(bare)
    _flush(words, parts, field)
    return parts


def _flush(words: list[str], parts: list[str], field: list[str]) -> None:
    """Close the phrase of bare words read so far (a trailing `*` makes its last word a prefix)."""
    if words:
        prefix = words[-1].endswith("*")
        _add_phrase([w for word in words for w in _WORD.findall(word)], prefix, parts, field)
        words.clear()


def _add_phrase(tokens: list[str], prefix: bool, parts: list[str], field: list[str]) -> None:
    if tokens:
        column = f"{field[0]} : " if field else ""
        parts.append(column + '"' + " ".join(tokens) + '"' + ("*" if prefix else ""))
    field.clear()


def _tidy(parts: list[str]) -> tuple[list[str], list[str]]:
    """Drop operators with nothing on one side (`OR GDPR`, `GDPR OR`, `A OR AND B`), and a NOT
    with nothing before it together with what it would exclude; returns (kept, dropped NOTs)."""
    tidy: list[str] = []
    dropped: list[str] = []
    skip = False
    for part in parts:
        if skip:
            skip = part in OPERATORS  # the excluded phrase is the next one that is not an operator
            if not skip:
                dropped.append(f"NOT {part}")
            continue
        if part in OPERATORS and (not tidy or tidy[-1] in OPERATORS):
            if part == "NOT":
                skip = True
            continue
        tidy.append(part)
    while tidy and tidy[-1] in OPERATORS:
        tidy.pop()
    return tidy, dropped


def without_empty_searches(query_string: str) -> str:
    """The query string without `_search` / `_search_COLUMN` parameters that hold no word to look
    for (unchanged if there are none); `_searchmode` is not a search."""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    raw = ("_searchmode", "raw") in pairs
    kept = [(key, value) for key, value in pairs
            if not (key.startswith("_search") and key != "_searchmode"
                    and not (value.strip() if raw else fts_query(value)))]
    return query_string if len(kept) == len(pairs) else urlencode(kept)
