"""Search terms as people type them, turned into an SQLite FTS5 query that cannot be a syntax error.

What an analyst types, and what it means here:

- `AI Act`: the words next to each other, as one phrase (not "AI" and "act" anywhere);
- `"data protection" fine`: a quoted phrase, then another word: both are phrases, both must appear
  (words written together are one phrase; a quote or an operator starts a new one);
- `GDPR OR BIPA`, `Meta AND fine`, `Meta NOT Facebook`: the operators, in capitals as in FTS5;
- `recogn*`: a prefix;
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
# A quoted phrase (closing quote optional), or a run of characters that are not spaces or quotes.
_TOKEN = re.compile(r'"([^"]*)"?|([^\s"]+)')
# The characters FTS5's default tokenizers treat as part of a word; the rest only separate words.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def fts_query(text: str | None) -> str:
    """The FTS5 MATCH expression for `text` as typed; '' when it has no words (match everything)."""
    parts: list[str] = []  # phrases and operators, in order
    words: list[str] = []  # the unquoted words of the phrase being read
    for match in _TOKEN.finditer(text or ""):
        quoted, bare = match.group(1), match.group(2)
        if bare in OPERATORS:
            _flush(words, parts)
            parts.append(bare)
        elif quoted is not None:
            _flush(words, parts)
            _add_phrase(_WORD.findall(quoted), False, parts)
        else:
            words.append(bare)
    _flush(words, parts)
    return " ".join(_tidy(parts))


def _flush(words: list[str], parts: list[str]) -> None:
    """Close the phrase of bare words read so far (a trailing `*` makes its last word a prefix)."""
    if words:
        prefix = words[-1].endswith("*")
        _add_phrase([w for word in words for w in _WORD.findall(word)], prefix, parts)
        words.clear()


def _add_phrase(tokens: list[str], prefix: bool, parts: list[str]) -> None:
    if tokens:
        parts.append('"' + " ".join(tokens) + '"' + ("*" if prefix else ""))


def _tidy(parts: list[str]) -> list[str]:
    """Drop operators with nothing on one side (`OR GDPR`, `GDPR OR`, `A OR AND B`)."""
    tidy: list[str] = []
    for part in parts:
        if part in OPERATORS and (not tidy or tidy[-1] in OPERATORS):
            continue
        tidy.append(part)
    while tidy and tidy[-1] in OPERATORS:
        tidy.pop()
    return tidy


def without_empty_searches(query_string: str) -> str:
    """The query string without `_search` / `_search_COLUMN` parameters that hold no word to look
    for (unchanged if there are none); `_searchmode` is not a search."""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    raw = ("_searchmode", "raw") in pairs
    kept = [(key, value) for key, value in pairs
            if not (key.startswith("_search") and key != "_searchmode"
                    and not (value.strip() if raw else fts_query(value)))]
    return query_string if len(kept) == len(pairs) else urlencode(kept)
