"""Bytes to HTML text: refuse what is not HTML, decode what is (the only home of charset_normalizer).

Decoding order: a BOM, valid UTF-8, the HTTP header's charset, a <meta charset>, then detection;
WHATWG's rule that Latin-1 and ASCII labels mean windows-1252.

Why ours and not w3lib's `html_to_unicode` (it trusts a lying header): docs/decisions.md, with the figures.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from tracker.errors import NotHtmlError, PageTooLargeError

# --- refusing what is not HTML ---------------------------------------------------------------

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
SNIFF_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "text/plain"})
MAGIC = ((b"%PDF-", "PDF"), (b"\x89PNG", "PNG image"), (b"GIF8", "GIF image"),
         (b"\xff\xd8\xff", "JPEG image"), (b"PK\x03\x04", "ZIP archive"), (b"\x1f\x8b", "gzip data"),
         (b"RIFF", "RIFF media"), (b"OggS", "Ogg media"), (b"ID3", "MP3 audio"))


def refuse_non_html(body: bytes, url: str, content_type: str | None) -> None:
    """Raise NotHtmlError for PDFs, images, JSON...: by declared type, then by the bytes."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime and mime not in HTML_TYPES and mime not in SNIFF_TYPES:
        raise NotHtmlError(f"{url}: content type {mime} is not HTML")
    head = body[:512].lstrip()
    for magic, what in MAGIC:
        if head.startswith(magic):
            raise NotHtmlError(f"{url}: body is {what}, not HTML")
    if mime in SNIFF_TYPES and not head.lstrip(b"\xef\xbb\xbf").startswith(b"<"):
        raise NotHtmlError(f"{url}: body does not look like HTML (content type {mime or 'missing'})")


# --- decoding ---------------------------------------------------------------------------------

BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
# WHATWG: labels for Latin-1 and ASCII mean windows-1252, which is what servers actually send.
WHATWG_ALIASES = {"latin-1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252"}


def decode_html(body: bytes, url: str, content_type: str | None, max_bytes: int) -> tuple[str, str]:
    """Decode body to text and name the encoding used; refuse pages over max_bytes characters."""
    if len(body) > 4 * max_bytes:  # no encoding takes more than 4 bytes a character
        raise PageTooLargeError(f"{url}: {len(body)} bytes is over the {max_bytes} limit")
    html, encoding = _decode(body, content_type)
    if len(html) > max_bytes:
        raise PageTooLargeError(f"{url}: {len(html)} characters of HTML is over the {max_bytes} limit")
    return html, encoding


def _decode(body: bytes, content_type: str | None) -> tuple[str, str]:
    for bom, encoding in BOMS:
        if body.startswith(bom):
            return body.decode(encoding, errors="replace"), encoding
    # Valid UTF-8 with non-ASCII bytes is practically never anything else, whatever the header says
    # (the usual lie is "iso-8859-1" on a UTF-8 page, and Latin-1 decodes anything without error).
    for declared in ("utf-8", _header_charset(content_type), _meta_charset(body)):
        text = _try_decode(body, declared)
        if text is not None:
            return text, declared or "utf-8"
    guess = charset_normalizer.from_bytes(body[:200_000]).best()
    encoding = _normalise_encoding(guess.encoding if guess else None) or "cp1252"
    return body.decode(encoding, errors="replace"), encoding


def _try_decode(body: bytes, encoding: str | None) -> str | None:
    if not encoding:
        return None
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _header_charset(content_type: str | None) -> str | None:
    match = HEADER_CHARSET.search(content_type or "")
    return _normalise_encoding(match.group(1)) if match else None


def _meta_charset(body: bytes) -> str | None:
    match = META_CHARSET.search(body[:4096])
    return _normalise_encoding(match.group(1).decode("ascii", "ignore")) if match else None


def _normalise_encoding(label: str | None) -> str | None:
    try:
        name = codecs.lookup(label).name if label else None
    except LookupError:
        return None
    return WHATWG_ALIASES.get(name, name) if name else None

