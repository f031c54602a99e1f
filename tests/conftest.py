"""Shared fixtures: the read-only ../shared folder, temp-file databases, a CLI runner, seed writers.

Every test module also gets the mock news-site server (`newssite`, `fresh_newssite`).
"""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from click.testing import CliRunner

from tests.newssite_fixture import fresh_newssite, newssite  # noqa: F401
from tracker.config import DB_ENV, PROJECT_ROOT
from tracker.store import Database, open_db

SHARED_DIR = PROJECT_ROOT.parent / "shared"

SeedWriter = Callable[..., Path]
TableDump = dict[str, list[tuple[Any, ...]]]


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared relative to the project root (read-only third-party data; never copied)."""
    if not (SHARED_DIR / "seeds").is_dir():
        pytest.skip(f"{SHARED_DIR} is missing")
    return SHARED_DIR


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path for a database file that does not exist yet."""
    return tmp_path / "db" / "tracker.db"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A shaped tracker database in a temp file."""
    database = open_db(tmp_path / "fixture.db")
    yield database
    database.conn.close()


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A click CliRunner; $TRACKER_DB is cleared so that tests say which database they use."""
    monkeypatch.delenv(DB_ENV, raising=False)
    return CliRunner()


@pytest.fixture
def seeds_dir(tmp_path: Path) -> Path:
    """An empty folder for seed files written by a test."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    return folder


@pytest.fixture
def write_seed(seeds_dir: Path) -> SeedWriter:
    """write_seed(name, text) writes a seed file (text dedented) under `seeds_dir`, returns its path.

    `name` may contain sub-folders; text may be str or bytes (bytes are written as they are).
    """

    def write(name: str, text: str | bytes) -> Path:
        path = seeds_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


def open_read_only(path: Path | str) -> sqlite3.Connection:
    """A read-only connection to an existing database file. Anything but a path (a sqlite-utils
    Database, a connection) is a TypeError, and a missing file an error: given an object, SQLite
    would create a file named after its repr and read nothing, and a check over it could not fail."""
    if not isinstance(path, (str, Path)):
        raise TypeError(f"a database file's path is needed, not {type(path).__name__}")
    resolved = Path(path).resolve()
    if not resolved.is_file():
        raise FileNotFoundError(f"no database file at {resolved}")
    return sqlite3.connect(f"{resolved.as_uri()}?mode=ro", uri=True)


def dump_tables(path: Path) -> TableDump:
    """Every row of every table of the database file at `path`, sorted, for before/after checks."""
    conn = open_read_only(path)
    try:
        names = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE '%_fts%' ORDER BY name")]
        return {name: sorted(conn.execute(f"SELECT * FROM [{name}]"), key=repr) for name in names}
    finally:
        conn.close()


@pytest.fixture
def dump_db() -> Callable[[Path], TableDump]:
    """dump_db(path): every row of every table, sorted (see `dump_tables`)."""
    return dump_tables


def query(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a query on a database file, read back through a fresh read-only connection."""
    conn = open_read_only(path)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


@pytest.fixture
def rows() -> Callable[..., list[tuple[Any, ...]]]:
    """rows(path, sql, params=()): read rows back from a database file through a new connection."""
    return query
