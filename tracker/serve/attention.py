"""Attention over time as a picture: the weekly counts of one or several searches drawn as an SVG
line chart, made on the server (no script, no library fetched by the browser), and the searches'
top outlets. Pure functions for the `attention` page (plugins/tracker_attention.py)."""

from __future__ import annotations

from datetime import date, timedelta
from html import escape
from typing import Any, Mapping, Sequence

COLOURS = ("#1f77b4", "#d62728", "#2ca02c")  # one per search, in the order typed
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 860, 260, 48, 28, 12


def weeks_between(first: str, last: str) -> list[str]:
    """Every Monday from `first` to `last` (ISO dates), so that a week with nothing shows as 0."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(weeks=i)).isoformat() for i in range((end - start).days // 7 + 1)]


def weekly_chart(rows: Sequence[Mapping[str, Any]], searches: Sequence[str], measure: str = "articles") -> str:
    """An SVG line per search of `measure` per week; '' when there is nothing to draw."""
    weeks = sorted({str(r["week"]) for r in rows if r["week"]})
    if not weeks:
        return ""
    axis = weeks_between(weeks[0], weeks[-1])
    values = {(str(r["week"]), r["search"]): int(r[measure] or 0) for r in rows}
    top = max(values.values(), default=0) or 1
    x = {week: LEFT + (WIDTH - LEFT - 10) * i / max(1, len(axis) - 1) for i, week in enumerate(axis)}

    def y(n: int) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - n / top)

    parts = [f'<svg class="tracker-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(measure)} per week">',
             f'<line x1="{LEFT}" y1="{y(0):.1f}" x2="{WIDTH - 10}" y2="{y(0):.1f}" stroke="#999"/>',
             f'<text x="{LEFT - 6}" y="{y(top) + 4:.1f}" text-anchor="end">{top}</text>',
             f'<text x="{LEFT - 6}" y="{y(0) + 4:.1f}" text-anchor="end">0</text>',
             f'<text x="{LEFT}" y="{HEIGHT - 6}">{escape(axis[0])}</text>',
             f'<text x="{WIDTH - 10}" y="{HEIGHT - 6}" text-anchor="end">{escape(axis[-1])}</text>']
    for i, search in enumerate(searches):
        points = " ".join(f"{x[w]:.1f},{y(values.get((w, search), 0)):.1f}" for w in axis)
        colour = COLOURS[i % len(COLOURS)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
                     f"<title>{escape(search)}</title></polyline>")
        parts.append(f'<text x="{LEFT + 8 + 200 * i}" y="{TOP + 10}" fill="{colour}">{escape(search)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def top_outlets(rows: Sequence[Mapping[str, Any]], per_search: int = 10) -> dict[str, list[tuple[str, int]]]:
    """(search, publisher, n) rows, most first -> the first `per_search` outlets of each search."""
    found: dict[str, list[tuple[str, int]]] = {}
    for row in rows:
        outlets = found.setdefault(row["search"], [])
        if len(outlets) < per_search:
            outlets.append((row["publisher"], int(row["n"])))
    return found
