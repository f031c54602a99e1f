"""Pytest fixtures that run ``tests/newssite.py`` in a subprocess for the whole session.

Use it from a test module (or a conftest) with::

    from tests.newssite_fixture import newssite  # noqa: F401

    def test_something(newssite):
        newssite.reset()
        fetch(newssite.url_for("/news/ok-1.html"))
        assert newssite.hits("/news/ok-1.html") == 1

``fresh_newssite`` is the same server, reset before the test. The server is shared by every test
of the session, so a test that counts hits or bumps versions should start with ``reset()``.
"""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote
from urllib.request import Request, urlopen

import pytest

SERVER_SCRIPT = Path(__file__).with_name("newssite.py")
STARTUP_TIMEOUT = 15.0


@dataclass(frozen=True)
class NewsSite:
    """Handle on a running newssite server: its base URL and its control endpoints."""

    url: str  # e.g. http://127.0.0.1:PORT, no trailing slash

    def url_for(self, path: str) -> str:
        """Absolute URL of a site path such as ``/news/ok-1.html``."""
        return self.url + path

    def control(self, endpoint: str, **params: str | float) -> Any:
        """GET a control endpoint (``hits``, ``log``, ``bump``, ``config``, ``reset``) as JSON."""
        query = "&".join(f"{k}={quote(str(v), safe='/')}" for k, v in params.items())
        request = Request(f"{self.url}/__{endpoint}" + (f"?{query}" if query else ""))
        with urlopen(request, timeout=10) as response:
            return json.load(response)

    def hits(self, path: str) -> int:
        """How many times ``path`` (no query string) was requested since the last reset."""
        return int(self.control("hits", path=path)["count"])

    def last_headers(self, path: str) -> dict[str, str] | None:
        """Headers of the last request for ``path`` (e.g. User-Agent, If-None-Match)."""
        headers = self.control("hits", path=path)["last_headers"]
        return None if headers is None else dict(headers)

    def log(self) -> list[dict[str, Any]]:
        """Every non-control request in order: time, method, path, query, status, user_agent."""
        return list(self.control("log"))

    def bump(self, path: str = "/changing/page.html") -> int:
        """Move a changing page to its next version; returns the new version number."""
        return int(self.control("bump", path=path)["version"])

    def set_crawl_delay(self, seconds: float) -> None:
        """Crawl-delay served in robots.txt until the next reset."""
        self.control("config", crawl_delay=seconds)

    def reset(self) -> None:
        """Clear hit counts, log, last headers, page versions and config."""
        self.control("reset")


def read_url_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The server's first stdout line, or '' if it does not come within ``timeout`` seconds."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return process.stdout.readline().strip()


def stop(process: subprocess.Popen[str]) -> None:
    """Terminate the server, killing it if it does not exit promptly."""
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def newssite() -> Iterator[NewsSite]:
    """Start the news-site server on 127.0.0.1, port 0, for the whole test session."""
    # stderr goes to a file, not a pipe: a pipe nobody reads could fill up and stall the server.
    with tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-u", str(SERVER_SCRIPT), "--port", "0"],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
        try:
            url = read_url_line(process, STARTUP_TIMEOUT)
            if not url.startswith("http://"):
                stderr.seek(0)
                raise RuntimeError(f"newssite did not start: {url!r}\n{stderr.read()}")
            yield NewsSite(url)
        finally:
            stop(process)


@pytest.fixture
def fresh_newssite(newssite: NewsSite) -> NewsSite:
    """The session's news-site server, reset before the test."""
    newssite.reset()
    return newssite
