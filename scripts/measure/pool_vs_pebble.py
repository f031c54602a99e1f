"""Measure: our ExtractorPool (tracker/extract/pool.py) against the same interface on
pebble.ProcessPool, over the article-extraction benchmark's 181 pages, rounds alternating.

Run: .venv/bin/pip install pebble==5.2.3; .venv/bin/python scripts/measure/pool_vs_pebble.py [ROUNDS]
(the pebble side is scripts/measure/pebble_pool.py).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tracker.bench.extract import load_corpus  # noqa: E402
from tracker.extract import pool  # noqa: E402

import pebble_pool  # noqa: E402 - beside this script


def one_round(cls: type, pages: list[tuple[bytes, str, str]]) -> tuple[float, float, int]:
    start = time.perf_counter()
    with cls(workers=2) as extractors:
        started = time.perf_counter()
        failed = sum(not hasattr(r, "text") for r in extractors.map(pages))
        done = time.perf_counter()
    return len(pages) / (done - started), started - start, failed


def main(rounds: int) -> None:
    pages = [(p.body, p.url, "text/html") for p in load_corpus()]
    pool.start_worker_server()
    figures: dict[str, list[tuple[float, float, int]]] = {"ours": [], "pebble": []}
    for _ in range(rounds):
        for name, cls in (("ours", pool.ExtractorPool), ("pebble", pebble_pool.ExtractorPool)):
            figures[name].append(one_round(cls, pages))
            print(name, f"{figures[name][-1][0]:.1f} pages/s", f"load {os.getloadavg()[0]:.1f}", flush=True)
    for name, runs in figures.items():
        rates = [r for r, _, _ in runs]
        print(f"{name}: pool of 2, {len(pages)} pages, {rounds} rounds: best {max(rates):.1f}, median "
              f"{statistics.median(rates):.1f} pages/s; start {statistics.median(s for _, s, _ in runs) * 1000:.0f} ms;"
              f" failed {sum(f for _, _, f in runs)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
