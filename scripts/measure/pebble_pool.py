"""The pool measured against ours: ExtractorPool's interface on pebble.ProcessPool (per-task timeout,
a hung worker killed and replaced). Not part of the package: see docs/decisions.md for why."""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import pebble

from tracker.errors import ExtractionError
from tracker.extract.options import ExtractOptions
from tracker.extract.page import Extraction, extract_page
from tracker.extract.pool import (SERVER_PRELOAD, ExtractionTimeout, Page, WorkerCrashedError,
                                  _start_method)

logger = logging.getLogger(__name__)


def _extract(body: bytes, url: str, content_type: str | None, options: ExtractOptions) -> Extraction:
    try:
        return extract_page(body, url, content_type, options)
    except ExtractionError:
        raise
    except Exception as exc:  # a library bug on one page must not kill the worker
        logger.exception("extraction failed for %s", url)
        raise ExtractionError(f"{url}: {type(exc).__name__}: {exc}") from None


class ExtractorPool:
    def __init__(self, workers: int = 2, options: ExtractOptions = ExtractOptions(),  # noqa: B008 - frozen
                 timeout: float | None = None) -> None:
        self.options = options
        self.timeout = options.time_budget if timeout is None else timeout
        self.restarts = 0
        self._lock = threading.Lock()
        context: Any = multiprocessing.get_context(_start_method())
        if context.get_start_method() == "forkserver":
            context.set_forkserver_preload(SERVER_PRELOAD)
        self._pool = pebble.ProcessPool(max_workers=max(1, workers), context=context)

    def submit(self, body: bytes, url: str, content_type: str | None = None,
               timeout: float | None = None) -> Future[Extraction]:
        budget = self.timeout if timeout is None else timeout
        inner = self._pool.schedule(_extract, args=(body, url, content_type, self.options), timeout=budget)
        outer: Future[Extraction] = Future()
        outer.set_running_or_notify_cancel()
        inner.add_done_callback(lambda done: self._settle(done, outer, url, budget))
        return outer

    def _settle(self, inner: Future[Extraction], outer: Future[Extraction], url: str, budget: float) -> None:
        try:
            outer.set_result(inner.result())
        except ExtractionError as exc:
            outer.set_exception(exc)
        except FutureTimeout:
            self._count(f"{url}: extraction over its {budget:g} s budget")
            outer.set_exception(ExtractionTimeout(f"{url}: extraction over its {budget:g} s budget"))
        except pebble.ProcessExpired:
            self._count(f"{url}: extraction worker died")
            outer.set_exception(WorkerCrashedError(f"{url}: extraction worker died"))
        except CancelledError:
            outer.set_exception(ExtractionError(f"{url}: pool closed"))
        except Exception as exc:  # pebble's own errors (a broken pool)
            outer.set_exception(ExtractionError(f"{url}: {type(exc).__name__}: {exc}"))

    def _count(self, why: str) -> None:
        logger.warning("%s; restarting the worker", why)
        with self._lock:
            self.restarts += 1

    def map(self, pages: Iterable[Page]) -> Iterator[Extraction | ExtractionError]:
        futures = [self.submit(*page) for page in pages]
        for future in futures:
            exc = future.exception()
            yield exc if isinstance(exc, ExtractionError) else future.result()

    def close(self, wait: bool = True) -> None:
        if wait:
            self._pool.close()
        else:
            self._pool.stop()
        self._pool.join()

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
