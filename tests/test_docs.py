"""Docs kept honest by code: every CLI command is in the README, whose first commands are real."""

from __future__ import annotations

import click

from tracker.cli import main
from tracker.config import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "tracker") -> list[str]:
    names = []
    for name, command in group.commands.items():
        names.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            names.extend(_commands(command, f"{prefix} {name}"))
    return names


def test_every_command_is_documented() -> None:
    missing = [name for name in _commands(main) if f"`{name}" not in README and
               not (name.startswith("tracker bench ") and name.split()[-1] in README)]
    assert missing == []


def test_readme_opens_with_the_two_setup_commands() -> None:
    block = README.split("```bash", 1)[1].split("```", 1)[0].strip().splitlines()
    assert [line.split("#")[0].strip() for line in block] == ["bash scripts/run", "bash scripts/test"]
    assert (PROJECT_ROOT / "scripts" / "run").read_text().rstrip().endswith('tracker run "$@"')
    assert "bash scripts/test" in (PROJECT_ROOT / ".ci" / "run").read_text()
