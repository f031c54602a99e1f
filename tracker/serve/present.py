"""How stored values are shown to analysts: pure helpers for the Datasette plugins and templates.

- Hosts in their ASCII (punycode) form where the host is the point: `bücher.example` and
  `xn--bcher-kva.example` are the same host, and a look-alike (`xn--80ak6aa92e.com`, which displays
  as Cyrillic "аррӏе.com") must not pass for `apple.com`. The Unicode form is shown beside it.
- Lists stored as JSON (`publishers`, `topics`) as readable text.
- A story's articles with their copies folded under the original they copy.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

_ASCII = re.compile(r"[\x00-\x7f]*")
_STOP = frozenset("""a an and are as at be by for from has have how in into is it its new of on or
over says said than that the their this to up was were what when who why will with after about
more could would should""".split())


def ascii_host(host: str | None) -> str:
    """The host in ASCII (IDNA) form, lower case; unchanged when it cannot be encoded."""
    if not host:
        return ""
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return host.lower()


def unicode_host(host: str | None) -> str:
    """The host as a browser would display it (punycode labels decoded)."""
    if not host:
        return ""
    try:
        return ascii_host(host).encode("ascii").decode("idna")
    except UnicodeError:
        return host


def host_label(host: str | None) -> str:
    """`xn--bcher-kva.example (bücher.example)` for an internationalised host, else the host."""
    ascii_form, shown = ascii_host(host), unicode_host(host)
    return ascii_form if shown == ascii_form else f"{ascii_form} ({shown})"


def is_idn_url(url: Any) -> bool:
    """True for an http(s) URL whose host is internationalised (non-ASCII or punycode labels)."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return False
    host = _host(url)
    return bool(host) and (not _ASCII.fullmatch(host) or "xn--" in host.lower())


def ascii_url(url: str) -> str:
    """The URL with its host in ASCII form (what is really fetched)."""
    parts = urlsplit(url)
    host = ascii_host(parts.hostname)
    netloc = host + (f":{parts.port}" if parts.port else "")
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def json_list(value: Any) -> list[str] | None:
    """The items of a JSON list stored as text; None when `value` is not one."""
    if not isinstance(value, str) or not value.startswith("["):
        return None
    try:
        items = json.loads(value)
    except ValueError:
        return None
    if not isinstance(items, list):
        return None
    return [item if isinstance(item, str) else json.dumps(item) for item in items]


def list_text(value: Any) -> Any:
    """A JSON list as `a; b; c` (for CSV cells and plain text); anything else unchanged."""
    items = json_list(value)
    return value if items is None else "; ".join(items)


def fold_duplicates(rows: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], list[Mapping[str, Any]]]]:
    """[(article, [its copies])] in the rows' order; a copy (`duplicate_of` an article of the same
    list) goes under its original, a copy of an article elsewhere stays an entry of its own."""
    ids = {row["article_id"] for row in rows}
    copies: dict[Any, list[Mapping[str, Any]]] = {}
    for row in rows:
        if row["duplicate_of"] in ids and row["duplicate_of"] != row["article_id"]:
            copies.setdefault(row["duplicate_of"], []).append(row)
    return [(row, copies.get(row["article_id"], [])) for row in rows
            if not (row["duplicate_of"] in ids and row["duplicate_of"] != row["article_id"])]


def headline_words(headline: str | None) -> set[str]:
    """The distinctive words of a headline, lower case (stop words and numbers left out)."""
    return {w.lower() for w in re.findall(r"[^\W_]{3,}", headline or "")
            if w.lower() not in _STOP and not w.isdigit()}


def neighbour_terms(headline: str | None, limit: int = 6) -> list[str]:
    """The longest distinctive words of a headline, lower case: what neighbouring stories share."""
    return sorted(headline_words(headline), key=lambda w: (-len(w), w))[:limit]


def http_url(value: Any) -> str | None:
    """`value` if it is an http(s) URL that is safe to put in a link, else None."""
    if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
        return value
    return None



def money(amount: Any, currency: Any) -> str | None:
    """An amount as a person reads it: thousands separated, cents only when there are any, with
    its currency (`14,542,040.24 GBP`, `7,500,000 GBP`); None for a value that is not a number."""
    if not isinstance(amount, (int, float)) or isinstance(amount, bool):
        return None
    text = f"{amount:,.0f}" if float(amount).is_integer() else f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


_SLUG = re.compile(r"[^a-z0-9]+")


def download_name(stem: str, ident: Any, title: str | None, limit: int = 60) -> str:
    """A file name that says what it holds: `story-42-ico-fines-clearview-ai.csv` (ASCII, no
    separators; the title cut at a word within `limit` characters)."""
    words = _SLUG.sub("-", unicodedata.normalize("NFKD", title or "").encode("ascii", "ignore")
                      .decode().lower()).strip("-")
    if len(words) > limit:
        words = words[:limit].rsplit("-", 1)[0]
    return "-".join(part for part in (stem, str(ident), words) if part) + ".csv"
