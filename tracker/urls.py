"""URL identity: normalise URLs, recognise AMP and CDN-AMP aliases, compute a story key.

The only module that imports courlan and w3lib. Everything here is pure.

Two notions are kept apart on purpose:
- `normalize_url` gives the fetchable form of a URL (lower-case scheme and host, no default port, no
  fragment, no tracking parameters, sorted query). Each alias is stored in this form.
- `story_key` gives the identity of the story behind a URL: the normalised form with the AMP wrapping
  removed (CDN-AMP unwrapped, `amp.`/`/amp/`/`.amp.html`/`?outputType=amp`/`/google-amp/` dropped),
  `www.`/`m.` dropped and the scheme ignored, and a path ending in `/<number>.article` reduced to
  that number (see ID_DOT_ARTICLE). Two URLs with one key are one article.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import courlan
from w3lib.url import safe_url_string

from tracker.errors import UrlError

# Query parameters that only track a click. courlan drops utm_*, fbclid and a few others; this list
# covers what it leaves and what news sites add (Google, Microsoft, Mailchimp, social share buttons).
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "_ga",
    "_gl", "mkt_tok", "ocid", "ncid", "cmpid", "icid", "sr_share", "soc_src", "soc_trk", "smid",
    "s_cid", "mbid", "ito", "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3",
    "at_custom4", "__twitter_impression", "ref_src", "ref_url", "share", "rss", "cid", "xtor",
    "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee", "wt.mc_id", "guccounter",
    "guce_referrer", "guce_referrer_sig", "spm", "__s", "vero_id", "oly_anon_id", "oly_enc_id",
    # The Register's campaign tag (?td=rt-3a, td=keepreading...): one article under many addresses
    "td",
    # added by the AMP viewer (cdn.ampproject.org/v/...), never part of the story's address
    "amp_js_v", "amp_gsa", "amp_tf", "usqp", "ampshare", "aoh",
})
TRACKING_PREFIXES = ("utm_", "pk_", "hsa_", "mtm_", "at_")
AMP_QUERY = {("outputtype", "amp"), ("amp", "1"), ("amp", "true"), ("amp", ""), ("amp", "yes"),
             ("amp_markup", "1")}
AMP_SEGMENTS = frozenset({"amp", "google-amp", "amp-articles"})
HOST_PREFIXES = ("www.", "amp.", "m.", "mobile.")
CDN_AMP_HOST = ".cdn.ampproject.org"
# /c/ pages, /v/ viewer, /wp/ web packages; an `s/` after it means https.
CDN_AMP_PATH = re.compile(r"^/(?:c|v|wp)/(s/)?(?P<rest>[^/]+\..+)$")
# An article path ending in `/<number>.article`: the URL form of one publishing platform that many
# trade outlets share (Compliance Week, Chemistry World, Retail Week, Drapers, HSJ, Nursing Times,
# Screen Daily...). The number identifies the article on its host; the section and slug before it
# are rewritten when an editor renames or moves the piece, and the old forms keep circulating in
# seeds and related lists (one Compliance Week article under three slugs). The story key keeps the
# number only. Deliberately this form and not "any number in a path": elsewhere a number is often a
# date part, a page, a per-section or per-type id (/video/123 beside /news/123) or a WordPress
# `slug-2` suffix, and joining those would merge different articles; such aliases are folded only
# when a fetch shows them to be one (a redirect, a same-site rel=canonical).
ID_DOT_ARTICLE = re.compile(r"/(\d+\.article)$")
MAX_URL_LENGTH = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOSTNAME = re.compile(r"^[a-z0-9_.-]+$")  # after IDNA encoding by safe_url_string


@dataclass(frozen=True)
class Alias:
    """One URL of an article, in normalised form, and what kind of alias it is."""

    url: str
    kind: str
    key: str


def normalize_url(raw: str) -> str:
    """The fetchable normal form of an http(s) URL; raises UrlError naming the URL if unusable."""
    url = _check_basic(raw)
    url = courlan.normalize_url(url, strict=False, trailing_slash=True)
    parts = urlsplit(url)
    query = _drop_tracking(parts.query)
    # user:password@ is never kept: a stored URL is shown and exported, and never logs in
    netloc = _drop_default_port(parts.scheme, parts.netloc.rpartition("@")[2].lower())
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))


def _check_basic(raw: object) -> str:
    if not isinstance(raw, str):
        raise UrlError(f"not a URL string: {raw!r}")
    url = raw.strip()
    if not url:
        raise UrlError("empty URL")
    if len(url) > MAX_URL_LENGTH:
        raise UrlError(f"URL longer than {MAX_URL_LENGTH} characters: {url[:80]}...")
    if _CONTROL.search(url):
        raise UrlError(f"URL contains control characters: {url!r}")
    host = _raw_host(url)
    if host is not None and (not host or not _HOSTNAME.match(host)):
        raise UrlError(f"URL has no usable host: {url}")
    try:
        url = safe_url_string(url)  # percent-encodes spaces and non-ASCII, as browsers do
    except ValueError as exc:  # w3lib rejects bad ports and hosts (UnicodeError is a ValueError)
        raise UrlError(f"URL cannot be parsed: {url} ({exc})") from exc
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise UrlError(f"only http and https URLs are tracked: {url}")
    host = parts.hostname or ""
    if "." not in host.strip(".") or not _HOSTNAME.match(host):
        raise UrlError(f"URL has no usable host: {url}")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise UrlError(f"URL has a bad port: {url}") from exc
    return url


def _raw_host(url: str) -> str | None:
    """The host as written (lower case, no port or user), checked before w3lib sees it: its error
    wording for a bad host changes between releases, ours names the URL and says "host". None when
    the URL is not of the `scheme://` form (the scheme check then refuses it)."""
    match = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)", url)
    if match is None:
        return None
    netloc = match.group(1).rpartition("@")[2]
    if netloc.startswith("["):  # an IPv6 literal: w3lib and urlsplit judge it
        return None
    host = netloc.split(":", 1)[0].lower()
    try:  # a Unicode host is judged in its IDNA form, as it is fetched
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return ""


def _drop_default_port(scheme: str, netloc: str) -> str:
    if (scheme == "http" and netloc.endswith(":80")) or (scheme == "https" and netloc.endswith(":443")):
        return netloc.rsplit(":", 1)[0]
    return netloc


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def _drop_tracking(query: str) -> str:
    if not query:
        return ""
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not _is_tracking(k)]
    return urlencode(sorted(pairs))


def unwrap_cdn_amp(url: str) -> str | None:
    """The origin URL inside a `*.cdn.ampproject.org/c/s/...` URL, or None if it is not one."""
    parts = urlsplit(url)
    if not (parts.hostname or "").endswith(CDN_AMP_HOST):
        return None
    match = CDN_AMP_PATH.match(parts.path)
    if not match:
        return None
    scheme = "https" if match.group(1) else "http"
    inner = f"{scheme}://{match.group('rest')}"
    if parts.query:
        inner += f"?{parts.query}"
    return inner


def is_amp(url: str) -> bool:
    """True if the URL has one of the usual AMP forms (host, path segment, suffix or query)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host.endswith(CDN_AMP_HOST) or host.startswith("amp."):
        return True
    if any(seg.lower() in AMP_SEGMENTS for seg in parts.path.split("/")):
        return True
    if re.search(r"\.amp(\.html?)?$", parts.path, re.I):
        return True
    return any((k.lower(), v.lower()) in AMP_QUERY for k, v in parse_qsl(parts.query, keep_blank_values=True))


def strip_amp(url: str) -> str:
    """The non-AMP form of a normalised URL (CDN-AMP unwrapped, AMP host/path/query removed)."""
    inner = unwrap_cdn_amp(url)
    if inner is not None:
        url = normalize_url(inner)
    parts = urlsplit(url)
    host = parts.netloc
    if host.startswith("amp."):
        host = host[len("amp."):]
    segments = [s for s in parts.path.split("/") if s.lower() not in AMP_SEGMENTS]
    path = "/".join(segments) or "/"
    if parts.path.endswith("/") and not path.endswith("/"):
        path += "/"
    path = re.sub(r"\.amp(\.html?)?$", lambda m: m.group(1) or "", path, flags=re.I)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if (k.lower(), v.lower()) not in AMP_QUERY]
    return urlunsplit((parts.scheme, host, path, urlencode(pairs), ""))


def story_key(url: str) -> str:
    """Identity of the story behind a URL: scheme-less, www/m/amp-less, AMP-less, no trailing slash."""
    parts = urlsplit(strip_amp(normalize_url(url)))
    host = parts.netloc
    for prefix in HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix):]
            break
    path = parts.path.rstrip("/") or "/"
    numbered = ID_DOT_ARTICLE.search(path)
    if numbered:
        path = "/" + numbered.group(1)
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")


def url_kind(url: str, declared: str | None = None) -> str:
    """The kind of an alias: `cdn_amp` and `amp` are detected, anything else keeps its declared kind."""
    if (urlsplit(url).hostname or "").endswith(CDN_AMP_HOST):
        return "cdn_amp"
    if is_amp(url):
        return "amp"
    return declared or "web"


@functools.lru_cache(maxsize=65536)  # pure: seeds repeat the same related URLs hundreds of times
def make_alias(raw: str, declared: str | None = None) -> Alias:
    """Normalise a raw URL into an Alias with its kind and story key."""
    url = normalize_url(raw)
    return Alias(url=url, kind=url_kind(url, declared), key=story_key(url))


def preferred_url(aliases: list[Alias]) -> str:
    """The URL an article is known by: the first non-AMP alias, else the de-AMPed first alias."""
    for alias in aliases:
        if alias.kind not in ("amp", "cdn_amp"):
            return alias.url
    return strip_amp(aliases[0].url)


def host_of(url: str) -> str:
    """Lower-case host of a URL, without `www.`."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def host_label(host: str) -> str:
    """`xn--80ak6aa92e.com (аррӏе.com)` for an internationalised host, else the host: shown alone,
    the Unicode form of a look-alike passes for the name it imitates ("аррӏе.com" is not apple.com)."""
    try:
        ascii_form = host.encode("idna").decode("ascii").lower()
        shown = ascii_form.encode("ascii").decode("idna")
    except UnicodeError:
        return host
    return ascii_form if shown == ascii_form else f"{ascii_form} ({shown})"


def site_of(url: str) -> str:
    """The registered domain of a URL (bbc.co.uk for www.bbc.co.uk); the host for IPs and locals."""
    if unwrap_cdn_amp(url):
        url = unwrap_cdn_amp(url) or url
    return courlan.extract_domain(url) or (urlsplit(url).hostname or "").lower()


def same_site(a: str, b: str) -> bool:
    """True if two URLs belong to one site: a page may only name a canonical on its own site."""
    try:
        return site_of(a) == site_of(b)
    except ValueError:
        return False
