"""Dates: everything stored as ISO 8601 in UTC (`YYYY-MM-DDTHH:MM:SSZ`). The one home of dateutil."""

from __future__ import annotations

from datetime import date, datetime, timezone

from dateutil import parser as date_parser


class BadDate(ValueError):
    """A value that is not a date; the caller names the field."""


def to_utc_iso(value: object) -> str | None:
    """A datetime, date or date string as UTC ISO; naive times are taken as UTC. None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return format_iso(value)
    if isinstance(value, date):  # PyYAML's unquoted 2020-12-07: midnight UTC, as the quoted string
        return format_iso(datetime(value.year, value.month, value.day))
    if isinstance(value, str):
        return _parse_string(value.strip())
    raise BadDate(f"expected a date, got {type(value).__name__} {value!r}")


def _parse_string(text: str) -> str:
    try:
        parsed = date_parser.isoparse(text)
    except (ValueError, OverflowError):
        try:
            parsed = date_parser.parse(text)
        except (ValueError, OverflowError) as exc:
            raise BadDate(f"not a date: {text!r}") from exc
    try:
        return format_iso(parsed)
    except (ValueError, OverflowError) as exc:  # 9999-12-31T23:00-05:00 is past year 9999 in UTC
        raise BadDate(f"not a date in UTC's years 1 to 9999: {text!r}") from exc


# The one time format stored (UTC, to the second): every module formats through this one.
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_iso(moment: datetime) -> str:
    """A datetime as the stored format, e.g. "2020-12-07T06:11:00Z" (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    utc = moment.astimezone(timezone.utc)
    # strftime's %Y does not pad years below 1000 on glibc ("1-01-01"): the year is written here
    return f"{utc.year:04d}" + utc.strftime(ISO_FORMAT[2:])


def now_iso() -> str:
    """The current UTC time in the stored format."""
    return format_iso(datetime.now(timezone.utc))


def epoch_iso(seconds: float) -> str:
    """Epoch seconds in the stored format."""
    return format_iso(datetime.fromtimestamp(seconds, timezone.utc))


def parse_iso(value: str | None) -> datetime | None:
    """A stored ISO string back to an aware datetime (None or garbage gives None)."""
    if not value:
        return None
    try:
        parsed = date_parser.isoparse(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
