"""Where things live: the database path and the project folders, never from the current directory's scrapy.cfg."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = Path("data") / "tracker.db"
DEFAULT_SEEDS = PROJECT_ROOT / "seeds"
DB_ENV = "TRACKER_DB"


def resolve_db_path(db: str | os.PathLike[str] | None) -> Path:
    """--db wins, then $TRACKER_DB, then data/tracker.db under the current directory."""
    if db:
        return Path(db)
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env)
    return DEFAULT_DB
