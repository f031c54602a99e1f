"""A missing path among several: the others are still loaded, and the error names the path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import query
from tracker.cli import main


def test_missing_path_is_reported_and_the_rest_loaded(runner: Any, tmp_path: Path, shared_dir: Path) -> None:
    db = tmp_path / "t.db"
    given = shared_dir / "seeds" / "given"
    result = runner.invoke(main, ["seeds", "load", str(tmp_path / "nope"), str(given), "--db", str(db)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'nope'}: no such file or folder" in result.output
    assert query(db, "SELECT COUNT(*) FROM articles")[0][0] == 7
