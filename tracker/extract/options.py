"""How to extract: one frozen object instead of many keyword arguments (read by page, text,
metadata and pool alike, so it lives apart from all of them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExtractOptions:
    """How to extract; one frozen object instead of many keyword arguments."""

    max_bytes: int = 5_000_000  # characters of decoded HTML; trafilatura.extract() applies no cap
    time_budget: float = 20.0  # seconds per page, enforced by ExtractorPool
    favor_precision: bool = True  # scored better than balanced mode on the benchmark
    # trafilatura's fast mode skips checking its own result against readability and jusText,
    # about a quarter of extract_page's time on the benchmark (14.6 -> 11.2 ms of CPU a page).
    # Those fallbacks matter only where its own extractor finds little, so a fast text shorter
    # than `retry_below_chars` is redone in full. False: always in full.
    fast_first: bool = True
    # A precision-mode text shorter than this is re-extracted in balanced mode, and the longer one
    # kept when it is `retry_gain` times longer: precision mode sometimes keeps only a stray block.
    retry_below_chars: int = 1000
    retry_gain: float = 2.0
    # JSON-LD articleBody replaces trafilatura's text when that text is under this share of it.
    jsonld_body_share: float = 0.6
    jsonld_body_min_chars: int = 500
    # Latest plausible date for htmldate; None means today (the one input taken from the clock).
    max_date: str | None = None
