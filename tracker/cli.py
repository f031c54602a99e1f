"""The `tracker` command: a thin layer that parses options, calls one library function and prints."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, Callable

import click

from tracker import __version__
from tracker.config import DB_ENV, resolve_db_path
from tracker.errors import TrackerError


class TrackerGroup(click.Group):
    """Turns every TrackerError into one clear line on stderr and its exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrackerError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)


def db_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The shared --db option: a path, $TRACKER_DB, or data/tracker.db."""

    @click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
                  help=f"SQLite database (default: ${DB_ENV} or data/tracker.db).")
    @functools.wraps(fn)
    def wrapper(*args: Any, db: str | None, **kwargs: Any) -> Any:
        return fn(*args, db_path=resolve_db_path(db), **kwargs)

    return wrapper


@click.group(cls=TrackerGroup)
@click.version_option(__version__)
def main() -> None:
    """Privacy-regulation news tracker."""


@main.group()
def bench() -> None:
    """Benchmarks that print figures (extraction, crawl, clustering, serving)."""


def _open(db_path: Path, create: bool = True) -> Any:
    from tracker.db import open_db

    return open_db(db_path, create=create)


def _print_lines(lines: list[str], err: bool = True) -> None:
    for line in lines:
        click.echo(line, err=err)


@main.group()
def seeds() -> None:
    """Load or check seed files (Markdown/text with YAML front matter)."""


@seeds.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@db_option
def seeds_load(paths: tuple[str, ...], db_path: Path) -> None:
    """Load seed files and folders (recursive) into the database."""
    import time

    from tracker.seeds import load_seeds

    started = time.perf_counter()
    summary = load_seeds(_open(db_path), paths)
    _seed_report(summary, time.perf_counter() - started)


@seeds.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def seeds_check(paths: tuple[str, ...]) -> None:
    """Validate seed files without writing anything."""
    from tracker.seeds import check_seeds

    _seed_report(check_seeds(paths), None)


def _seed_report(summary: Any, seconds: float | None) -> None:
    _print_lines(summary.notes)
    _print_lines([f"Error: {e}" for e in summary.errors])
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    click.echo(f"{summary.files} files ({summary.loaded} ok, {summary.unchanged} unchanged, "
               f"{summary.skipped} skipped, {len(summary.errors)} errors), "
               f"{summary.articles} articles ({summary.new_articles} new), "
               f"{summary.relations} relations{took}")
    if summary.errors:
        sys.exit(1)


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@db_option
def import_cmd(files: tuple[str, ...], db_path: Path) -> None:
    """Import already-extracted articles from JSON Lines files."""
    from tracker.importer import import_jsonl

    summary = import_jsonl(_open(db_path), list(files))
    _print_lines([f"Error: {e}" for e in summary.errors])
    click.echo(f"{summary.files} files, {summary.lines} lines: {summary.saved} saved "
               f"({summary.new_articles} new articles), {len(summary.errors)} errors")
    if summary.errors:
        sys.exit(1)


@main.command("export")
@click.argument("what", type=click.Choice(["articles", "fetches", "clusters", "stories"]))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="File to write (default: stdout).")
@db_option
def export_cmd(what: str, fmt: str, output: str, db_path: Path) -> None:
    """Stream every row of articles, fetches, clusters (one row per article) or stories."""
    from tracker.export import export_rows

    database = _open(db_path, create=False)
    with click.open_file(output, "w", encoding="utf-8", newline="") as out:
        count = export_rows(database, what, fmt, out)
    if output != "-":
        click.echo(f"{count} rows written to {output}", err=True)


@main.command()
@db_option
def stats(db_path: Path) -> None:
    """Counts per table and per status."""
    from tracker.db import status_counts, table_counts

    database = _open(db_path, create=False)
    for table, count in table_counts(database).items():
        click.echo(f"{table:20} {count:>9}")
    for table, column in (("articles", "status"), ("fetches", "outcome"), ("urls", "kind")):
        for value, count in status_counts(database, table, column).items():
            click.echo(f"{table}.{column}={value:<16} {count:>9}")
