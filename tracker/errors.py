"""One error base class; the CLI turns each into one clear line and a non-zero exit."""

from __future__ import annotations

import unicodedata


class TrackerError(Exception):
    """Base of every error the tracker raises on purpose."""

    exit_code = 1


class ConfigError(TrackerError):
    """A bad option, setting or environment variable."""


class SeedError(TrackerError):
    """A seed file that cannot be used; the message names the file and field or line."""


class SourceError(TrackerError):
    """A discovery source (sources/*.yml) or a poll of one that cannot be used; the message names
    the file and line, or the source's URL."""


class ImportLineError(TrackerError):
    """A line of an import file that cannot be used; the message names file and line."""


class UrlError(TrackerError):
    """A URL that cannot be tracked (bad scheme, no host, ...)."""


class ExtractionError(TrackerError):
    """A page that could not be turned into text."""


class NotHtmlError(ExtractionError):
    """The response is not an HTML page (PDF, image, JSON, ...): record and skip it."""


class PageTooLargeError(ExtractionError):
    """The decoded page is larger than ExtractOptions.max_bytes."""


class NoTextError(ExtractionError):
    """No article text, or almost none from a large page (e.g. markup nested too deep to parse):
    recorded as `no_text`, not as an article whose text is a few stray characters."""


class CrawlError(TrackerError):
    """The crawl process failed as a whole (not a single page)."""


class LockHeldError(TrackerError):
    """Another run holds the database lock."""

    exit_code = 75  # EX_TEMPFAIL: cron may simply try again later


class TaxonomyError(TrackerError):
    """A lens taxonomy that cannot be used; the message names the file and line."""


def one_line(text: str) -> str:
    """`text` with every control or line-separating character escaped (\\n, \\x1b, \\u2028):
    a file name or URL quoted in an error line cannot start a second, forged line, nor move the
    cursor or recolour the terminal."""
    return "".join(_escape(ch) if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
                   for ch in text)


def _escape(ch: str) -> str:
    escaped = repr(ch)[1:-1]  # '\n', '\t', '\x1b', '\u2028'
    return escaped if escaped != ch else f"\\x{ord(ch):02x}"
