"""Measure: what the tests demand of the extraction pool, for ours (tracker/extract/pool.py) and
pebble's (scripts/measure/pebble_pool.py): a worker killed mid-page, a ~4.4 MB result, a page over
its budget, close(wait=False), and a worker killed while idle (the OOM killer, an operator).

Run: .venv/bin/pip install pebble==5.2.3; .venv/bin/python scripts/measure/pool_behaviour.py
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.test_extract import ARTICLE, page  # noqa: E402
from tracker.errors import ExtractionError  # noqa: E402
from tracker.extract import pool  # noqa: E402
from tracker.extract.pool import ExtractionTimeout  # noqa: E402

import pebble_pool  # noqa: E402 - beside this script

NORMAL = page(f"<article>{ARTICLE}</article>").encode()
SLOW = page("<div><p>deep text here</p>" * 20000 + "</div>" * 20000).encode()  # ~1 s of extraction
HUGE = page("<article>" + "".join(f"<p>Paragraph {i}: the regulator said facial recognition in shops needs "
                                  f"consent, and the retailer must delete the images within {i} days.</p>"
                                  for i in range(32000)) + "</article>").encode()


def outcome(future: Any, wait: float = 30) -> str:
    try:
        return "ok" if future.result(wait).text else "empty"
    except ExtractionError as exc:
        return f"{type(exc).__name__}"
    except Exception as exc:  # noqa: BLE001 - what the pool let through is the finding
        return f"{type(exc).__name__}: {exc}"


def worker_pids() -> list[int]:
    return sorted(child.pid for child in multiprocessing.active_children() if child.pid)


def crash_mid_page(cls: type) -> str:
    with cls(workers=1) as extractors:
        extractors.submit(NORMAL, "https://e.org/start", "text/html").result(60)
        running = extractors.submit(SLOW, "https://e.org/crash", "text/html")
        after = extractors.submit(NORMAL, "https://e.org/after", "text/html")
        time.sleep(0.4)
        os.kill(worker_pids()[0], signal.SIGKILL)
        return f"running page {outcome(running, 60)}; next page {outcome(after)}; restarts {extractors.restarts}"


def huge_result(cls: type) -> str:
    with cls(workers=1) as extractors:
        start = time.perf_counter()
        text = extractors.submit(HUGE, "https://e.org/huge", "text/html").result(120).text
        return f"{len(text)} characters back in {time.perf_counter() - start:.1f} s"


def over_budget(cls: type) -> str:
    with cls(workers=2) as extractors:
        extractors.submit(NORMAL, "https://e.org/warm", "text/html").result(60)
        start = time.perf_counter()
        hung = extractors.submit(SLOW, "https://e.org/hung", "text/html", timeout=0.3)
        other = extractors.submit(NORMAL, "https://e.org/other", "text/html")
        timed_out = isinstance(hung.exception(60), ExtractionTimeout)
        seconds = time.perf_counter() - start
        return (f"ExtractionTimeout: {timed_out} after {seconds:.2f} s (budget 0.3 s); other page {outcome(other)};"
                f" restarts {extractors.restarts}")


def close_without_waiting(cls: type) -> str:
    extractors = cls(workers=1)
    futures = [extractors.submit(SLOW, f"https://e.org/q{i}", "text/html") for i in range(5)]
    time.sleep(0.3)
    start = time.perf_counter()
    extractors.close(wait=False)
    closed = time.perf_counter() - start
    return f"closed in {closed:.2f} s; the 5 pages: {[outcome(f, 5) for f in futures]}"


def idle_worker_killed(cls: type, other_busy: bool) -> str:
    with cls(workers=2) as extractors:
        for future in [extractors.submit(NORMAL, f"https://e.org/warm{i}", "text/html") for i in range(4)]:
            future.result(60)
        busy = extractors.submit(SLOW, "https://e.org/busy", "text/html") if other_busy else None
        time.sleep(0.3)
        idle = [pid for pid in worker_pids() if open(f"/proc/{pid}/stat").read().split()[2] != "R"]
        os.kill(idle[0], signal.SIGKILL)
        time.sleep(0.5)
        later = [extractors.submit(NORMAL, f"https://e.org/{i}", "text/html") for i in range(4)]
        found = ([outcome(busy)] if busy else []) + [outcome(f) for f in later]
        return f"{found}; restarts {extractors.restarts}"


def main() -> None:
    pool.start_worker_server()
    checks = [("worker killed mid-page", crash_mid_page), ("huge result", huge_result),
              ("page over budget", over_budget), ("close(wait=False)", close_without_waiting),
              ("idle worker killed, other idle", lambda cls: idle_worker_killed(cls, False)),
              ("idle worker killed, other busy", lambda cls: idle_worker_killed(cls, True))]
    for what, check in checks:
        for name, cls in (("ours", pool.ExtractorPool), ("pebble", pebble_pool.ExtractorPool)):
            try:
                found = check(cls)
            except Exception as exc:  # noqa: BLE001 - e.g. the pool raising on close
                found = f"raised {type(exc).__name__}: {exc}"
            print(f"{what}, {name}: {found}", flush=True)


if __name__ == "__main__":
    main()
