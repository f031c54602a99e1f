"""`ExtractorPool`: `extract_page` in worker processes, with a per-page time budget.

trafilatura can spin for minutes on pathological pages, and a thread cannot be stopped, so a hung
worker is killed, replaced, and its page fails with `ExtractionTimeout`.

Why ours and not pebble's `ProcessPool` (a worker dying while idle breaks its whole pool):
docs/decisions.md, with the figures.
"""

from __future__ import annotations

import fcntl
import logging
import multiprocessing
import pickle
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from tracker.errors import ExtractionError
from tracker.extract.options import ExtractOptions
from tracker.extract.page import Extraction, extract_page

logger = logging.getLogger(__name__)


class ExtractionTimeout(ExtractionError):
    """The page took longer than its time budget; its worker was killed and replaced."""


class WorkerCrashedError(ExtractionError):
    """The worker process died while extracting the page (e.g. out of memory)."""


Page = tuple[bytes, str, "str | None"]

# Each worker's inbound pipe is asked to hold this much (Linux caps it at fs.pipe-max-size, 1 MiB by
# default), so that a page can wait in it while the worker extracts the one before.
PIPE_BYTES = 1 << 20


def _worker_main(inbox: Connection, outbox: Connection, options: ExtractOptions) -> None:
    """Worker process loop: receive a page, send back ("ok", Extraction) or ("error", exception)."""
    while True:
        try:
            page: tuple[bytes, str, str | None] = inbox.recv()  # (body, url, content type)
        except EOFError:
            return
        try:
            outbox.send(("ok", extract_page(*page, options=options)))
        except ExtractionError as exc:
            outbox.send(("error", exc))
        except Exception as exc:  # a library bug on one page must not kill the worker
            logger.exception("extraction failed for %s", page[1])
            outbox.send(("error", ExtractionError(f"{page[1]}: {type(exc).__name__}: {exc}")))


@dataclass
class _Task:
    page: Page
    timeout: float
    future: Future[Extraction] = field(default_factory=Future)
    payload: bytes = b""  # the pickled page, while the dispatcher thread is sending it


@dataclass
class _Worker:
    process: Any  # multiprocessing.Process from the chosen start method's context
    inbox: Connection  # pages to the worker: a one-way pipe, written only by the dispatcher
    outbox: Connection  # results from the worker
    room: int  # bytes the inbox holds without blocking its writer
    tasks: deque[_Task] = field(default_factory=deque)  # sent, in order; the first is running
    deadline: float = 0.0  # of tasks[0]


class ExtractorPool:
    """extract_page in `workers` processes; a page over its time budget gets ExtractionTimeout.

    `submit` never blocks and returns a concurrent.futures.Future, so it can be called from an
    event loop (Scrapy/Twisted) and the future bridged back to it. Use as a context manager.

    A busy worker is sent its next page ahead, to wait in its inbox pipe: otherwise it would sit
    idle between pages until this process's dispatcher thread, which shares the GIL with the
    crawl's event loop, got round to sending one. A page goes ahead only when it fits in the pipe,
    so the dispatcher never blocks on a worker that is stuck on a page and must be killed.
    """

    def __init__(self, workers: int = 2, options: ExtractOptions = ExtractOptions(),  # noqa: B008 - frozen
                 timeout: float | None = None) -> None:
        self.options = options
        self.timeout = options.time_budget if timeout is None else timeout
        self.restarts = 0  # workers killed for overrunning their budget or crashing
        # forkserver or fork, both with Process (BaseContext, the declared type, has none)
        self._context: Any = multiprocessing.get_context(_start_method())
        if self._context.get_start_method() == "forkserver":
            # Workers fork from a server that has already imported and warmed up trafilatura:
            # they start at once, and restarts are cheap.
            self._context.set_forkserver_preload(SERVER_PRELOAD)
        self._pending: deque[_Task] = deque()
        self._lock = threading.Lock()
        self._closed = False
        self._draining = True
        self._wake_r, self._wake_w = socket.socketpair()
        self._workers = [self._start_worker() for _ in range(max(1, workers))]
        self._thread = threading.Thread(target=self._run, name="extractor-pool", daemon=True)
        self._thread.start()

    def submit(self, body: bytes, url: str, content_type: str | None = None,
               timeout: float | None = None) -> Future[Extraction]:
        """Queue one page; the future holds its Extraction or raises an ExtractionError."""
        task = _Task((body, url, content_type), self.timeout if timeout is None else timeout)
        with self._lock:
            if self._closed:
                raise RuntimeError("ExtractorPool is closed")
            self._pending.append(task)
        self._wake()
        return task.future

    def map(self, pages: Iterable[Page]) -> Iterator[Extraction | ExtractionError]:
        """Extract pages in order; a failed page yields its error instead of stopping the run."""
        futures = [self.submit(*page) for page in pages]
        for future in futures:
            exc = future.exception()
            yield exc if isinstance(exc, ExtractionError) else future.result()

    def close(self, wait: bool = True) -> None:
        """Stop taking pages; finish queued ones (or fail them if not wait), then stop the workers."""
        with self._lock:
            self._closed = True
            self._draining = wait
        self._wake()
        self._thread.join()

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # dispatcher thread -------------------------------------------------------------------------

    def _start_worker(self) -> _Worker:
        page_r, page_w = self._context.Pipe(duplex=False)
        result_r, result_w = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_worker_main, args=(page_r, result_w, self.options),
                                        daemon=True)
        process.start()
        page_r.close()
        result_w.close()
        return _Worker(process, page_w, result_r, room=_grow_pipe(page_w))

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:  # already closed
            pass

    def _run(self) -> None:
        while not self._finished():
            self._dispatch()
            busy = {w.outbox: w for w in self._workers if w.tasks}
            now = time.monotonic()
            wait_for = min((w.deadline - now for w in busy.values()), default=None)
            ready = wait([self._wake_r, *busy], timeout=None if wait_for is None else max(0.0, wait_for))
            if self._wake_r in ready:
                self._wake_r.recv(4096)
            for conn in busy:
                if conn in ready:
                    self._receive(busy[conn])
            self._kill_overdue()
        self._shutdown()

    def _finished(self) -> bool:
        with self._lock:
            if not self._closed:
                return False
            idle = not self._pending and all(not w.tasks for w in self._workers)
            return idle or not self._draining

    def _dispatch(self) -> None:
        """A page to every idle worker, then one ahead to every busy worker it fits."""
        for ahead in (False, True):
            for worker in self._workers:
                if len(worker.tasks) != int(ahead):
                    continue
                task = self._take(worker.room if ahead else None)
                if task is None:
                    break
                self._send(worker, task)

    def _take(self, room: int | None) -> _Task | None:
        """The next pending page, if its message takes at most `room` bytes (None: any size)."""
        while True:
            with self._lock:
                task = self._pending.popleft() if self._pending else None
            if task is None:
                return None
            if not task.future.running() and not task.future.set_running_or_notify_cancel():
                continue  # cancelled while it waited
            task.payload = task.payload or pickle.dumps(task.page, pickle.HIGHEST_PROTOCOL)
            if room is None or len(task.payload) + 16 <= room:  # 16: the message's length header
                return task
            with self._lock:
                self._pending.appendleft(task)
            return None

    def _send(self, worker: _Worker, task: _Task) -> None:
        if not worker.tasks:
            worker.deadline = time.monotonic() + task.timeout
        worker.tasks.append(task)
        try:
            worker.inbox.send_bytes(task.payload)
            task.payload = b""  # sent: the page is held once, in task.page, for a retry
        except OSError:  # the worker died
            self._replace(worker, WorkerCrashedError(f"{worker.tasks[0].page[1]}: extraction worker died"))

    def _receive(self, worker: _Worker) -> None:
        try:
            status, value = worker.outbox.recv()
        except (EOFError, OSError):
            self._replace(worker, WorkerCrashedError(f"{worker.tasks[0].page[1]}: extraction worker died"))
            return
        task = worker.tasks.popleft()
        if worker.tasks:  # the worker has started the page that waited in its inbox
            worker.deadline = time.monotonic() + worker.tasks[0].timeout
        if status == "ok":
            task.future.set_result(value)
        else:
            task.future.set_exception(value)

    def _kill_overdue(self) -> None:
        now = time.monotonic()
        for worker in self._workers:
            if worker.tasks and worker.deadline <= now:
                task = worker.tasks[0]
                self._replace(worker, ExtractionTimeout(
                    f"{task.page[1]}: extraction over its {task.timeout:g} s budget"))

    def _replace(self, worker: _Worker, error: ExtractionError) -> None:
        """Kill the worker; its running page fails with `error`, pages sent ahead are queued again."""
        logger.warning("%s; restarting the worker", error)
        worker.process.kill()
        worker.process.join()
        worker.inbox.close()
        worker.outbox.close()
        self._workers[self._workers.index(worker)] = self._start_worker()
        self.restarts += 1
        task, *ahead = worker.tasks
        with self._lock:
            self._pending.extendleft(reversed(ahead))
        task.future.set_exception(error)

    def _shutdown(self) -> None:
        with self._lock:
            leftover, self._pending = list(self._pending), deque()
        for task in leftover + [task for w in self._workers for task in w.tasks]:
            task.future.set_exception(ExtractionError(f"{task.page[1]}: pool closed"))
        for worker in self._workers:
            worker.inbox.close()  # the worker sees EOF and returns
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
            worker.outbox.close()
        self._wake_r.close()
        self._wake_w.close()


def _grow_pipe(conn: Connection) -> int:
    """Raise a pipe's capacity to PIPE_BYTES where the OS allows; return its capacity (0: unknown,
    so nothing is sent ahead)."""
    setsize, getsize = getattr(fcntl, "F_SETPIPE_SZ", None), getattr(fcntl, "F_GETPIPE_SZ", None)
    if getsize is None:
        return 0
    try:
        if setsize is not None:
            fcntl.fcntl(conn.fileno(), setsize, PIPE_BYTES)
    except OSError:  # over fs.pipe-max-size or the user's pipe quota: keep the default size
        pass
    try:
        return fcntl.fcntl(conn.fileno(), getsize)
    except OSError:
        return 0


# What the workers' fork server imports: tracker.extract.server, which runs warm_up() once.
SERVER_PRELOAD = ["tracker.extract.server"]
WARM_UP_PAGE = (b"<html><head><title>Warm-up</title></head><body><article><p>A short paragraph, "
                b"published on 7 December 2020.</p></article></body></html>")


def warm_up() -> None:
    """Extract a small built-in page, for what the libraries set up on first use. Its text is
    short, so it takes every path: fast mode, full mode with jusText, the balanced retry."""
    try:
        extract_page(WARM_UP_PAGE, "https://example.org/warm-up", "text/html")
    except ExtractionError:
        pass


def start_worker_server() -> None:
    """Start the server that extraction workers fork from now (it imports trafilatura, ~0.5 s),
    so that it loads while the caller does other start-up work and pools created later start at
    once. Optional: a pool starts it itself when needed. Nothing to do where workers are spawned."""
    context = multiprocessing.get_context(_start_method())
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        context.set_forkserver_preload(SERVER_PRELOAD)
        forkserver.ensure_running()


def _start_method() -> str:
    """forkserver where available: a fork of a threaded (Twisted) process is unsafe, spawn is slow."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"

