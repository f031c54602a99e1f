"""The project's shape kept by tests: imports go one way, `--db` goes anywhere, no source-tree paths."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import main
from tracker.config import PROJECT_ROOT


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_nothing_in_tracker_imports_spiders() -> None:
    """`spiders/` (the Scrapy project) depends on `tracker`, never the other way round."""
    offenders = sorted(str(path.relative_to(PROJECT_ROOT)) for path in (PROJECT_ROOT / "tracker").rglob("*.py")
                       if any(m == "spiders" or m.startswith("spiders.") for m in _imported_modules(path)))
    assert offenders == []


def test_the_scan_sees_an_import_of_spiders(tmp_path: Path) -> None:
    """The check above can fail: it finds both forms of import."""
    module = tmp_path / "m.py"
    module.write_text("import spiders.settings\nfrom spiders import faults\n", encoding="utf-8")
    assert _imported_modules(module) == {"spiders.settings", "spiders"}


def test_db_goes_before_or_after_the_subcommand(tmp_path: Path) -> None:
    """`tracker --db X stats` and `tracker stats --db X` open X (here: say X does not exist)."""
    runner = CliRunner()
    before = runner.invoke(main, ["--db", str(tmp_path / "before.db"), "stats"])
    after = runner.invoke(main, ["stats", "--db", str(tmp_path / "after.db")])
    both = runner.invoke(main, ["--db", str(tmp_path / "outer.db"), "stats", "--db", str(tmp_path / "inner.db")])
    assert "before.db: no such database" in before.output
    assert "after.db: no such database" in after.output
    assert "inner.db: no such database" in both.output and "outer.db" not in both.output  # the subcommand's wins
    assert before.exit_code == after.exit_code == both.exit_code == 1


def test_run_from_a_folder_without_seeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default seeds are `seeds/` under the current folder, never the source tree's: elsewhere a
    run has none to load and says so, and still completes."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRACKER_DB", raising=False)
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 0, result.output
    assert "no seeds/ folder here" in result.output
    assert "0 seed files" in result.output
    assert (tmp_path / "data" / "tracker.db").is_file()
