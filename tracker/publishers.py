"""Publisher names a reader recognises: the site's own name when crawled, else a shipped table of
outlets (tracker/outlets.csv, data), else the domain.

Seed files often name publishers poorly ("Biometric Companies" for biometricupdate.com, "India"
for analyticsindiamag.com), so the table comes before a seed's name: `outlet_name(domain, given)`
is the table's name, else the name given (seed or import), else the domain. A crawled page's
`og:site_name` / JSON-LD publisher replaces it (tracker/crawl/pages.py).
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

from tracker.urls import host_label

OUTLETS_FILE = Path(__file__).resolve().parent / "outlets.csv"


@functools.lru_cache(maxsize=1)  # a read-only table shipped with the code: the same for every call
def load_outlets(path: Path = OUTLETS_FILE) -> dict[str, str]:
    """domain -> outlet name, from the shipped table (lines starting with # are comments)."""
    with path.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        return {row["domain"].strip().lower(): row["name"].strip() for row in csv.DictReader(lines)
                if row.get("domain") and row.get("name")}


def known_outlet(domain: str | None) -> str | None:
    """The table's name for a host (`www.` and sub-domains fall back to the parent); None if unknown."""
    if not domain:
        return None
    labels = domain.strip().lower().removeprefix("www.").split(".")
    outlets = load_outlets()
    for start in range(len(labels) - 1):
        name = outlets.get(".".join(labels[start:]))
        if name:
            return name
    return None


def outlet_name(domain: str | None, given: str | None = None) -> str | None:
    """The table's name for a host, else `given`, else the host (without `www.`; an
    internationalised one in both forms, see `host_label`: every page shows the stored name)."""
    host = domain.strip().lower().removeprefix("www.") if domain else None
    return known_outlet(host) or given or (host_label(host) if host else None)
