"""Docs kept honest by code: the command reference is generated from --help and checked for staleness,
the configuration page lists exactly the settings module's TRACKER_ keys, named paths exist, and the
README's first commands are real."""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

import click
from cogapp import Cog

import spiders.settings
from tracker.cli import main
from tracker.config import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
DOCS = PROJECT_ROOT / "docs"
CLI_DOC = DOCS / "cli.md"
CONFIG_DOC = DOCS / "configuration.md"
# A documented setting: "- `TRACKER_X` = `default`: meaning" (the settings module's entries).
DOCUMENTED_DEFAULT = re.compile(r"^- `(TRACKER_[A-Z0-9_]+)` = `(.+?)`:", re.M)
TRACKER_NAME = re.compile(r"\bTRACKER_[A-Z0-9_]*[A-Z0-9]\b")
# Repository paths named in backticks: they must exist (data/ is made at run time, so not checked).
REPO_PATH = re.compile(r"`((?:tracker|spiders|tests|scripts|deploy|docs|requirements|seeds|\.ci)/[^`\s<>*]*)`")


def _commands(group: click.Group, prefix: str = "tracker") -> list[str]:
    names = []
    for name, command in group.commands.items():
        names.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            names.extend(_commands(command, f"{prefix} {name}"))
    return names


def _cog_check(path: Path) -> int:
    """cog's exit status in check mode (0: the generated text is current), its output swallowed."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return Cog().main(["cog", "--check", str(path)])


def _settings_names() -> dict[str, object]:
    return {name: getattr(spiders.settings, name) for name in dir(spiders.settings) if name.startswith("TRACKER_")}


def test_command_reference_is_current() -> None:
    assert _cog_check(CLI_DOC) == 0, "docs/cli.md is stale: run `.venv/bin/cog -r docs/cli.md`"


def test_stale_command_reference_is_caught(tmp_path: Path) -> None:
    stale = tmp_path / "cli.md"
    text = CLI_DOC.read_text(encoding="utf-8")
    stale.write_text(text.replace("Show this message and exit.", "Show this message.", 1), encoding="utf-8")
    assert _cog_check(stale) != 0


def test_every_command_is_documented() -> None:
    headings = set(re.findall(r"^#+ (tracker[a-z -]*)$", CLI_DOC.read_text(encoding="utf-8"), re.M))
    commands = _commands(main)
    assert len(commands) > 20
    assert [name for name in commands if name not in headings] == []


def _settings_module_section() -> str:
    """The configuration page's part about the settings module (the page also lists settings read elsewhere)."""
    text = CONFIG_DOC.read_text(encoding="utf-8")
    return text.split("\n## Settings in `tracker/crawl/defaults.py`\n", 1)[1].split("\n## ", 1)[0]


def test_every_setting_is_documented_with_its_default() -> None:
    documented = dict(DOCUMENTED_DEFAULT.findall(_settings_module_section()))
    settings = _settings_names()
    assert len(settings) >= 29
    assert sorted(set(settings) - set(documented)) == []
    assert sorted(set(documented) - set(settings)) == []
    wrong = {name: text for name, text in documented.items() if ast.literal_eval(text) != settings[name]}
    assert wrong == {}


def test_scrapy_values_quoted_in_the_docs_are_the_settings_modules() -> None:
    quoted = re.findall(r"`([A-Z][A-Z0-9_]+) = ([^`]+)`", CONFIG_DOC.read_text(encoding="utf-8"))
    assert len(quoted) >= 5
    wrong = {name: text for name, text in quoted if ast.literal_eval(text) != getattr(spiders.settings, name)}
    assert wrong == {}


def test_every_setting_name_in_the_docs_exists() -> None:
    """A TRACKER_ name in the docs is a settings module key, or one the code or scripts read by that
    name (the recrawl policy's, the benchmark resolver's, the environment's)."""
    sources = [path.read_text(encoding="utf-8") for folder in ("tracker", "spiders") for path in
               (PROJECT_ROOT / folder).rglob("*.py")]
    sources += [path.read_text(encoding="utf-8") for path in (PROJECT_ROOT / "scripts").iterdir() if path.is_file()]
    known = set(_settings_names()) | {name for text in sources for name in TRACKER_NAME.findall(text)}
    named = {name for doc in [README, *(path.read_text(encoding="utf-8") for path in DOCS.glob("*.md"))]
             for name in TRACKER_NAME.findall(doc)}
    assert sorted(named - known) == []


def test_every_setting_the_code_reads_is_documented() -> None:
    """Settings read by name with a default of their own (outside the settings module) are documented."""
    read = {name for folder in ("tracker", "spiders") for path in (PROJECT_ROOT / folder).rglob("*.py")
            for name in re.findall(r"[\"'](TRACKER_[A-Z0-9_]*[A-Z0-9])[\"']", path.read_text(encoding="utf-8"))}
    documented = set(TRACKER_NAME.findall(CONFIG_DOC.read_text(encoding="utf-8")))
    assert "TRACKER_RECRAWL_OLD" in read
    assert sorted(read - documented) == []


def test_named_paths_exist() -> None:
    """Paths the README and docs/ name exist (not the changelog's: it names old paths on purpose)."""
    for doc in [PROJECT_ROOT / "README.md", *DOCS.glob("*.md")]:
        paths = REPO_PATH.findall(doc.read_text(encoding="utf-8"))
        missing = [path for path in paths if not (PROJECT_ROOT / path.split(":")[0]).exists()]
        assert missing == [], doc.name


def test_readme_is_short_and_links_every_doc() -> None:
    assert len(README.splitlines()) < 150
    assert [path.name for path in sorted(DOCS.glob("*.md")) if f"(docs/{path.name})" not in README] == []


def test_readme_opens_with_the_two_setup_commands() -> None:
    block = README.split("```bash", 1)[1].split("```", 1)[0].strip().splitlines()
    assert [line.split("#")[0].strip() for line in block] == ["bash scripts/run", "bash scripts/test"]
    assert (PROJECT_ROOT / "scripts" / "run").read_text().rstrip().endswith('tracker run "$@"')
    assert "bash scripts/test" in (PROJECT_ROOT / ".ci" / "run").read_text()
