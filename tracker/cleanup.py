"""Text clean-up shared by seeds, imports and extraction: the one module that imports ftfy.

ftfy repairs mojibake ("Franceâ€™s" -> "France’s") far better than a hand-written table of byte
pairs, and seed titles and excerpts carry plenty of it.
"""

from __future__ import annotations

import re

import ftfy

_SPACE = re.compile(r"\s+")
# UTF-8 read as cp1252/latin-1 leaves a lead byte (Â..ô) before a continuation byte shown as a cp1252
# symbol or a Latin-1 sign. Only such text goes through ftfy, which costs ~0.2 ms a call.
_MOJIBAKE_HINT = re.compile("[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d"
                            "\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022"
                            "\u2026\u2030\u2039\u203a\u20ac\u2122]")


# Characters XML 1.0 cannot carry (C0 controls but tab, newline and return; lone surrogates; U+FFFE,
# U+FFFF), with DEL and the C1 controls: an ESC, BEL or NUL in a seed's title made the Atom feed not
# well-formed XML, and such bytes are terminal escapes in a log line. Crawled text never keeps them.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# The longest article text kept: the extractor reads at most 5,000,000 characters of a page, and the
# served database refuses values over 50 MB (tracker/serve/datasette/plugins/tracker_limits.py); an
# import or a worker's result with more is refused with its line or result named.
MAX_TEXT_CHARS = 5_000_000


def xml_safe(value: str) -> str:
    """`value` without the control characters XML 1.0 (and a terminal) cannot take as text."""
    return _CONTROLS.sub("", value)


def _fix(value: str) -> str:
    if value.isascii() or not _MOJIBAKE_HINT.search(value):
        return value
    return ftfy.fix_text(value, normalization="NFC", uncurl_quotes=False)


def clean_text(value: str | None) -> str | None:
    """Fix mojibake and odd whitespace in a short text field (title, excerpt, name); None stays None."""
    if value is None:
        return None
    fixed = _SPACE.sub(" ", xml_safe(_fix(value))).strip()
    return fixed or None


def clean_body(value: str | None) -> str | None:
    """Fix mojibake in a long text, keeping its line breaks."""
    if value is None:
        return None
    fixed = xml_safe(_fix(value)).strip()
    return fixed or None
