"""Where things live: the database path and the project folders, never from the current directory's scrapy.cfg."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = Path("data") / "tracker.db"
DEFAULT_SEEDS = Path("seeds")  # under the current directory, like the database: never the source tree
DEFAULT_SOURCES = Path("sources")  # discovery sources (tracker/discover/), beside seeds/
DB_ENV = "TRACKER_DB"


def default_seed_paths() -> tuple[str, ...]:
    """`seeds/` under the current directory when there is one; else none (the run then crawls, tags
    and clusters what the database already tracks). An installed package has no seeds of its own."""
    return (str(DEFAULT_SEEDS),) if DEFAULT_SEEDS.is_dir() else ()


def default_source_paths() -> tuple[str, ...]:
    """`sources/` under the current directory when there is one; else none (the run then polls the
    sources the database already has)."""
    return (str(DEFAULT_SOURCES),) if DEFAULT_SOURCES.is_dir() else ()


def resolve_db_path(db: str | os.PathLike[str] | None) -> Path:
    """--db wins, then $TRACKER_DB, then data/tracker.db under the current directory."""
    if db:
        return Path(db)
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env)
    return DEFAULT_DB
