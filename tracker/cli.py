"""The `tracker` command: a thin layer that parses options, calls one library function and prints."""

from __future__ import annotations

import functools
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import click

from tracker import __version__
from tracker.config import DB_ENV, resolve_db_path
from tracker.errors import TrackerError, one_line
from tracker.store.exports import EXPORTS


class TrackerGroup(click.Group):
    """Turns every TrackerError into one clear line on stderr and its exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrackerError as exc:
            click.echo(f"Error: {one_line(str(exc))}", err=True)
            sys.exit(exc.exit_code)


def db_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The shared --db option: a path, $TRACKER_DB, or data/tracker.db."""

    @click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
                  help=f"SQLite database (default: ${DB_ENV} or data/tracker.db).")
    @functools.wraps(fn)
    def wrapper(*args: Any, db: str | None, **kwargs: Any) -> Any:
        if db is None:  # `tracker --db X run` as well as `tracker run --db X`
            db = click.get_current_context().find_root().params.get("db")
        return fn(*args, db_path=resolve_db_path(db), **kwargs)

    return wrapper


@click.group(cls=TrackerGroup)
@click.version_option(__version__)
@click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
              help=f"SQLite database for every command (default: ${DB_ENV} or data/tracker.db); "
                   "a subcommand's own --db wins.")
def main(db: str | None) -> None:
    """Privacy-regulation news tracker."""


@main.group()
def bench() -> None:
    """Benchmarks that print figures (extraction, crawl, clustering, serving)."""


def _open(db_path: Path, create: bool = True) -> Any:
    from tracker.store import open_db

    return open_db(db_path, create=create)


def _print_lines(lines: list[str], err: bool = True) -> None:
    """One line each: names quoted inside (files, URLs) cannot break a line in two."""
    for line in lines:
        click.echo(one_line(line), err=err)


@main.group()
def seeds() -> None:
    """Load or check seed files (Markdown/text with YAML front matter)."""


@seeds.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@db_option
def seeds_load(paths: tuple[str, ...], db_path: Path) -> None:
    """Load seed files and folders (recursive) into the database."""
    import time

    from tracker.seeds.files import load_seeds

    started = time.perf_counter()
    summary = load_seeds(_open(db_path), paths)
    _seed_report(summary, time.perf_counter() - started)


@seeds.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def seeds_check(paths: tuple[str, ...]) -> None:
    """Validate seed files without writing anything."""
    from tracker.seeds.files import check_seeds

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
    from tracker.seeds.importer import import_jsonl

    summary = import_jsonl(_open(db_path), list(files))
    _print_lines([f"Error: {e}" for e in summary.errors])
    click.echo(f"{summary.files} files, {summary.lines} lines: {summary.saved} saved "
               f"({summary.new_articles} new articles), {len(summary.errors)} errors")
    if summary.errors:
        sys.exit(1)


@main.command("export")
@click.argument("what", type=click.Choice(list(EXPORTS)))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="File to write (default: stdout).")
@click.option("--story", type=int, default=None, metavar="ID", help="Only this story's rows.")
@click.option("--search", default=None, metavar="TEXT",
              help="Only rows whose article (or, for stories, one of its articles) matches: "
                   "words together are a phrase, OR/AND/NOT, prefix*.")
@click.option("--since", default=None, metavar="DATE",
              help="Only rows published (fetches: requested; stories: last published) on or after DATE.")
@click.option("--excel", is_flag=True, help="CSV starts with a byte-order mark, so Excel reads UTF-8.")
@click.option("--raw", is_flag=True,
              help="CSV cells exactly as stored (by default a cell starting with = + - @ is "
                   "prefixed with ' so that spreadsheets do not run it as a formula).")
@db_option
def export_cmd(what: str, fmt: str, output: str, story: int | None, search: str | None,
               since: str | None, excel: bool, raw: bool, db_path: Path) -> None:
    """Stream the rows of articles, fetches, clusters (one row per article), stories, tags (one row
    per article and tag) or fines (one row per reported amount)."""
    from tracker.serve.export_formats import ExportOptions, export_rows

    database = _open(db_path, create=False)
    options = ExportOptions(story=story, search=search, since=since, raw=raw, excel=excel)
    with click.open_file(output, "w", encoding="utf-8") as out:
        count = export_rows(database, what, fmt, out, options)
    if output != "-":
        click.echo(f"{count} rows written to {output}", err=True)


@main.group()
def taxonomy() -> None:
    """The lens taxonomy (regulators, laws, actions, technologies, jurisdictions, companies)."""


@taxonomy.command("check")
@click.argument("path", required=False, type=click.Path())
def taxonomy_check(path: str | None) -> None:
    """Validate a taxonomy folder or file (default: the shipped one); one line per problem."""
    from tracker.lens.taxonomy import DEFAULT_TAXONOMY, check_taxonomy

    entries, problems = check_taxonomy(path)
    _print_lines(problems)
    click.echo(f"{path or DEFAULT_TAXONOMY}: {entries} entries, {len(problems)} problems")
    if problems:
        sys.exit(1)


@main.command("tag")
@click.option("--rebuild", is_flag=True, help="Retag every article, changed or not.")
@click.option("--taxonomy", "taxonomy_path", type=click.Path(), default=None,
              help="Taxonomy folder or file (default: the shipped tracker/lens/taxonomy).")
@click.option("--workers", type=int, default=None, help="Tagging processes (default: one per core when many).")
@db_option
def tag_cmd(rebuild: bool, taxonomy_path: str | None, workers: int | None, db_path: Path) -> None:
    """Tag new and changed articles with the taxonomy; find fines; score relevance."""
    from tracker.lens.tag_stage import tag_articles

    s = tag_articles(_open(db_path, create=False), taxonomy_path, rebuild=rebuild, workers=workers)
    click.echo(f"{s.articles} articles looked at{' (all: rebuild)' if s.rebuilt else ''}: "
               f"{s.retagged} tagged, {s.changed} changed, {s.tags} tags, {s.fines} fines; "
               f"{s.decisions} decisions{' (record rebuilt)' if s.record_rebuilt else ''}")


@main.group()
def decisions() -> None:
    """Correct the enforcement record (kept and applied by every later `tracker tag`)."""


def _record_changed(db: Any, taxonomy_path: str | None) -> None:
    from tracker.lens.record import update_record
    from tracker.lens.taxonomy import load_taxonomy

    summary = update_record(db, load_taxonomy(taxonomy_path), force=True)
    click.echo(f"correction stored; {summary.decisions} decisions in {summary.cases} cases")


taxonomy_option = click.option("--taxonomy", "taxonomy_path", type=click.Path(), default=None,
                               help="Taxonomy folder or file (default: the shipped one).")


@decisions.command("merge")
@click.argument("kept", type=int)
@click.argument("other", type=int)
@taxonomy_option
@db_option
def decisions_merge(kept: int, other: int, taxonomy_path: str | None, db_path: Path) -> None:
    """Decisions KEPT and OTHER are one decision."""
    from tracker.lens.record import merge_decisions

    db = _open(db_path, create=False)
    merge_decisions(db, kept, other)
    _record_changed(db, taxonomy_path)


@decisions.command("split")
@click.argument("decision", type=int)
@click.argument("article", type=int)
@taxonomy_option
@db_option
def decisions_split(decision: int, article: int, taxonomy_path: str | None, db_path: Path) -> None:
    """What ARTICLE reports is a decision of its own, not DECISION."""
    from tracker.lens.record import split_decision

    db = _open(db_path, create=False)
    split_decision(db, decision, article)
    _record_changed(db, taxonomy_path)


@decisions.command("correct")
@click.argument("decision", type=int)
@click.option("--amount", default=None, help="The amount decided, in its currency (7552800).")
@click.option("--currency", default=None, help="ISO code of that amount (GBP).")
@click.option("--kind", default=None, help="fine, intended fine, settlement or damages.")
@click.option("--date", "decided", default=None, help="Date of the decision (YYYY-MM-DD).")
@taxonomy_option
@db_option
def decisions_correct(decision: int, amount: str | None, currency: str | None, kind: str | None,
                      decided: str | None, taxonomy_path: str | None, db_path: Path) -> None:
    """Correct a decision's amount, kind or date."""
    from tracker.lens.record import correct_decision

    given = {"amount": amount, "currency": currency, "kind": kind, "decided": decided}
    db = _open(db_path, create=False)
    correct_decision(db, decision, {k: v for k, v in given.items() if v is not None})
    _record_changed(db, taxonomy_path)


@bench.command("tag")
@click.option("--articles", type=int, default=1_000_000, show_default=True, help="Synthetic articles.")
@click.option("--workers", type=int, default=None, help="Tagging processes (default: one per core).")
def bench_tag_cmd(articles: int, workers: int | None) -> None:
    """Tag N synthetic articles made from the shared seeds' titles and excerpts; articles/s."""
    from tracker.bench.tag import run_tag_bench

    _print_lines(run_tag_bench(articles, workers), err=False)


@main.group()
def watch() -> None:
    """Saved searches with filters; after each run, alerts for what is new or grown."""


@watch.command("add")
@click.argument("name")
@click.option("--query", "-q", default="", help="Search words, as on the search pages (empty: every story).")
@click.option("--regulator", "--law", "--action", "--jurisdiction", "--technology", "--company", "tags",
              multiple=True, help="A taxonomy id the stories must name (repeatable; see tracker taxonomy check).")
@click.option("--min-relevance", type=float, default=None, help="Only stories at least this relevant (0-1).")
@click.option("--outlet", default=None, help="Only stories an outlet (publisher name) took part in.")
@click.option("--all", "everything", is_flag=True,
              help="Also stories of discovered articles off the beat (hidden by default, as on the home page).")
@click.option("--email", default=None, help="smtp://host:port/?from=ADDRESS&to=ADDRESS (smtps:// for TLS).")
@click.option("--webhook", default=None, help="URL the alert is POSTed to as JSON.")
@db_option
def watch_add(name: str, query: str, tags: tuple[str, ...], min_relevance: float | None, outlet: str | None,
              everything: bool, email: str | None, webhook: str | None, db_path: Path) -> None:
    """Save a watch; what it matches now counts as seen."""
    from tracker.watches import add_watch, filters_from_tags

    filters = filters_from_tags(_open(db_path, create=False), tags, min_relevance, outlet, everything)
    seen = add_watch(_open(db_path, create=False), name, query, filters, email, webhook)
    click.echo(f"watch {name!r} saved: {seen} stories match now (seen); alerts follow new runs")


@watch.command("list")
@db_option
def watch_list(db_path: Path) -> None:
    """The watches, their searches, filters and where they deliver."""
    from tracker.watches import list_watches

    for w in list_watches(_open(db_path, create=False)):
        click.echo(one_line(f"{w['name']}  q={w['query']!r}  filters={w['filters']}  "
                            f"email={w['email'] or '-'}  webhook={w['webhook'] or '-'}"))


@watch.command("remove")
@click.argument("name")
@db_option
def watch_remove(name: str, db_path: Path) -> None:
    """Delete a watch with what it saw and its undelivered alerts."""
    from tracker.watches import remove_watch

    remove_watch(_open(db_path, create=False), name)
    click.echo(f"watch {name!r} removed")


@main.command()
@db_option
def stats(db_path: Path) -> None:
    """Counts per table and per status."""
    from tracker.store.schema import status_counts, table_counts

    database = _open(db_path, create=False)
    for table, count in table_counts(database).items():
        click.echo(f"{table:20} {count:>9}")
    for table, column in (("articles", "status"), ("fetches", "outcome"), ("urls", "kind")):
        for value, count in status_counts(database, table, column).items():
            click.echo(f"{table}.{column}={value:<16} {count:>9}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0: any free port, printed on start).")
@click.option("--base-url", default=None, metavar="URL",
              help="Public address of the site (https://news.example.org), for absolute links in "
                   "feeds; default: the address each request came to.")
@db_option
def serve(host: str, port: int, base_url: str | None, db_path: Path) -> None:
    """Serve the database read-only in Datasette, with the project's metadata and plugins."""
    from tracker.serve.server import ServeOptions, serve as run_server

    run_server(db_path, ServeOptions(host=host, port=port, base_url=base_url))


def _parse_settings(pairs: tuple[str, ...]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r}: use NAME=VALUE", param_hint="-s")
        settings[name.strip()] = value
    return settings


def _crawl_report(summary: Any) -> None:
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(summary.outcomes.items())) or "none"
    click.echo(f"{summary.due} due, {summary.attempts} attempts ({outcomes}): "
               f"{summary.fetched} fetched, {summary.failed} failed")
    if getattr(summary, "note", None):
        click.echo(summary.note)


def crawl_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The crawl options `tracker crawl` and `tracker run` share, handed on as one `flags`
    (tracker.crawl.runner.CrawlFlags)."""

    @click.option("--limit", type=int, default=0, help="Fetch at most N due articles (0: all).")
    @click.option("--recrawl-after", metavar="DURATION", help="Also revisit articles fetched longer ago (6h, 2d).")
    @click.option("--allow-private", is_flag=True, help="Allow loopback/private/link-local targets.")
    @click.option("--max-runtime", metavar="DURATION", default=None,
                  help="Stop scheduling requests after this long (45m, 2h); in-flight pages "
                       "finish, the rest stays due. Setting: TRACKER_MAX_RUNTIME.")
    @click.option("-s", "settings", multiple=True, metavar="NAME=VALUE", help="A Scrapy or TRACKER_ setting.")
    @functools.wraps(fn)
    def wrapper(*args: Any, limit: int, recrawl_after: str | None, allow_private: bool,
                max_runtime: str | None, settings: tuple[str, ...], **kwargs: Any) -> Any:
        from tracker.crawl.runner import CrawlFlags

        flags = CrawlFlags(limit, recrawl_after, allow_private, max_runtime,
                           tuple(_parse_settings(settings).items()))
        return fn(*args, flags=flags, **kwargs)

    return wrapper


@main.command()
@crawl_options
@click.option("--replay", is_flag=True, help="Run the pipeline from WARC_FILES, with no network.")
@click.option("--redis", "redis_url", metavar="URL",
              help="Be a worker of this shared queue (redis://HOST:PORT/DB); needs no database.")
@click.argument("warc_files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@db_option
def crawl(flags: Any, replay: bool, redis_url: str | None, warc_files: tuple[str, ...], db_path: Path) -> None:
    """Fetch, archive and extract every due article (or, with --replay, re-run WARC files;
    with --redis, work for a distributed crawl: WARC files go beside --db, which is not opened).
    Holds the database's run lock, as `tracker run` does."""
    from tracker.crawl.runner import crawl_settings

    if replay != bool(warc_files):
        raise click.UsageError("WARC files go with --replay, and --replay needs WARC files")
    if redis_url:
        if replay or flags.limit or flags.recrawl_after or flags.max_runtime:
            raise click.UsageError("--limit, --recrawl-after, --max-runtime and --replay are not for a "
                                   "--redis worker (the first two go with `tracker enqueue`)")
        _work(redis_url, crawl_settings(db_path, flags.overrides()))
        return
    from tracker.job import run_lock

    with run_lock(db_path):  # one lock for all that crawls: beside `tracker run`, hosts got double gaps
        _crawl_here(flags, warc_files, db_path)


def _crawl_here(flags: Any, warc_files: tuple[str, ...], db_path: Path) -> None:
    from tracker.crawl.runner import RunInterrupted, crawl_settings, replay_warcs, run_crawl

    if warc_files:
        _crawl_report(replay_warcs(_open(db_path), warc_files, create=False))
        return
    from tracker.progress import progress_bar

    # Scrapy's log (its start-up dump, every middleware, each page) goes to a file beside the
    # database, as in `tracker run`; the terminal gets a progress bar and the summary line.
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    log_file = db_path.parent / "logs" / f"crawl-{stamp}.log"
    try:
        with progress_bar() as progress:
            summary = run_crawl(db_path, crawl_settings(db_path, flags.overrides()), log_file=log_file,
                                progress=progress)
        _crawl_report(summary)
        click.echo(f"crawl log: {log_file}", err=True)
    except RunInterrupted as exc:
        click.echo(f"crawl {exc}: stopped; what was not fetched stays due", err=True)
        sys.exit(128 + exc.signum)


def _work(redis_url: str, options: dict[str, str]) -> None:
    from tracker.crawl.distributed import work
    from tracker.progress import configure_logging

    configure_logging(True)
    work(redis_url, options)  # does not return: this process becomes the worker


@main.command()
@click.option("--redis", "redis_url", metavar="URL", required=True, help="The shared queue (redis://HOST:PORT/DB).")
@click.option("--limit", type=int, default=0, help="Enqueue at most N due articles (0: all).")
@click.option("--recrawl-after", metavar="DURATION", help="Also revisit articles fetched longer ago (6h, 2d).")
@db_option
def enqueue(redis_url: str, limit: int, recrawl_after: str | None, db_path: Path) -> None:
    """Push the due articles into the shared queue for `tracker crawl --redis` workers."""
    from tracker.crawl.distributed import enqueue_from

    s = enqueue_from(db_path, redis_url, limit, recrawl_after)
    click.echo(f"{s.due} due: {s.added} enqueued, {s.already} already queued")


@main.command()
@click.option("--redis", "redis_url", metavar="URL", required=True, help="The shared queue (redis://HOST:PORT/DB).")
@click.option("--follow", is_flag=True,
              help="Keep waiting for results (the writer service); else stop when none is left.")
@click.option("--name", default="writer", show_default=True,
              help="This writer's name in Redis (a restart resumes its batch).")
@click.option("--batch", type=click.IntRange(1), default=200, show_default=True, help="Results per SQLite transaction.")
@db_option
def ingest(redis_url: str, follow: bool, name: str, batch: int, db_path: Path) -> None:
    """The single writer: save the workers' results into the database (each attempt once)."""
    from tracker.crawl.distributed import IngestOptions, ingest_into
    from tracker.progress import configure_logging

    configure_logging(follow)
    s = ingest_into(db_path, redis_url, IngestOptions(consumer=name, follow=follow, batch=batch))
    click.echo(f"{s.results} results: {s.saved} saved, {s.duplicates} duplicates skipped, "
               f"{s.dead} unsaveable (kept in Redis); {s.items_per_second:.0f} items/s while saving")


@main.command("import-warc")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@db_option
def import_warc(files: tuple[str, ...], db_path: Path) -> None:
    """Ingest WARC files made elsewhere (every HTML response becomes an article)."""
    from tracker.crawl.runner import replay_warcs

    _crawl_report(replay_warcs(_open(db_path), files, create=True))


@main.command("cluster")
@click.option("--rebuild", is_flag=True, help="Recluster every article (ids are kept where possible).")
@click.option("--split", "splits", multiple=True, type=int, metavar="ARTICLE",
              help="Take this article out of its story, now and in every later run.")
@click.option("--merge", "merges", multiple=True, type=(int, int), metavar="CLUSTER CLUSTER",
              help="Join two stories, now and in every later run (the older id survives).")
@db_option
def cluster_cmd(rebuild: bool, splits: tuple[int, ...], merges: tuple[tuple[int, int], ...],
                db_path: Path) -> None:
    """Mark duplicates and group articles into stories (incremental; stable ids)."""
    from tracker.stories.cluster_stage import cluster_articles

    s = cluster_articles(_open(db_path, create=False), rebuild=rebuild, splits=splits, merges=merges)
    click.echo(f"{s.articles} articles ({s.replayed} clustered now): {s.clusters} stories "
               f"({s.new_clusters} new, {s.merged} merged), {s.duplicates} duplicates")


@bench.command("cluster")
@click.option("--scale", type=int, default=0, help="Cluster N synthetic headlines instead (speed, memory).")
def bench_cluster_cmd(scale: int) -> None:
    """Clustering quality on the UCI sample (B-cubed, pairwise), or speed at --scale N."""
    from tracker.bench.cluster import report_lines

    _print_lines(report_lines(scale), err=False)


@bench.command("serve")
@click.option("--articles", type=int, default=1_000_000, show_default=True, help="Synthetic articles.")
@click.option("--requests", type=int, default=40, show_default=True, help="Timed requests per page.")
@click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
              help="Database to build or reuse (default: one in the temp folder, kept for reruns).")
def bench_serve_cmd(articles: int, requests: int, db: str | None) -> None:
    """Latency (p50/p95) of the real Datasette server over N synthetic articles."""
    from tracker.bench.serve import BenchOptions, run_bench

    options = BenchOptions(articles=articles, requests=requests, db_path=Path(db) if db else None)
    _print_lines(run_bench(options), err=False)


@bench.command("crawl")
@click.option("--copies", type=int, default=4, show_default=True,
              help="How many times each of the 181 benchmark pages is served (distinct URLs).")
def bench_crawl_cmd(copies: int) -> None:
    """Crawl real pages from 127.0.0.1 end to end; pages/s against plain trafilatura, peak memory."""
    from tracker.bench.crawl import run_crawl_bench

    _print_lines(run_crawl_bench(copies), err=False)


@bench.command("distributed")
@click.option("--hosts", type=int, default=16, show_default=True, help="Loopback hosts (127.0.0.2 ...).")
@click.option("--pages", type=int, default=10, show_default=True, help="Pages per host.")
@click.option("--latency", type=float, default=0.5, show_default=True, help="Seconds before each page is answered.")
@click.option("--concurrency", type=int, default=4, show_default=True, help="Requests at a time per worker.")
def bench_distributed_cmd(hosts: int, pages: int, latency: float, concurrency: int) -> None:
    """Pages/s of 1, 2 and 4 Redis workers over many loopback hosts, and the writer's items/s."""
    from tracker.bench.distributed import BenchOptions, run_distributed_bench

    _print_lines(run_distributed_bench(BenchOptions(hosts, pages, latency, concurrency)), err=False)


@bench.command("discover")
@click.option("--sources", type=int, default=1000, show_default=True, help="Local feeds to poll.")
@click.option("--items", type=int, default=50, show_default=True, help="Items per feed.")
@click.option("--hosts", type=int, default=16, show_default=True, help="Loopback hosts (127.0.0.2 ...).")
@click.option("--max-runtime", default="5m", show_default=True, metavar="DURATION",
              help="The whole run's limit (and each poll's).")
@click.option("--whole-run/--no-whole-run", default=True, show_default=True,
              help="Also time a whole `tracker run` (poll, crawl until the deadline, tag, cluster).")
def bench_discover_cmd(sources: int, items: int, hosts: int, max_runtime: str, whole_run: bool) -> None:
    """New URLs/s, memory and time of polling many local feeds; the conditional second poll."""
    from tracker.bench.discover import DiscoverBenchOptions, run_discover_bench

    options = DiscoverBenchOptions(sources, items, hosts, max_runtime, whole_run)
    _print_lines(run_discover_bench(options), err=False)


@bench.command("outage")
@click.option("--dead-hosts", type=int, default=200, show_default=True,
              help="Dead hosts beside the live 127.0.0.1 pages in the mixed case.")
@click.option("--copies", type=int, default=2, show_default=True,
              help="How many times each of the 181 benchmark pages is served in the mixed case (0: skip it).")
@click.option("--dns-seconds", type=float, default=0.0, show_default=True,
              help="Each failed lookup of the outage case takes this long (a DNS server that answers nothing).")
def bench_outage_cmd(dead_hosts: int, copies: int, dns_seconds: float) -> None:
    """The crawl over all shared seeds with every DNS lookup failing; live pages beside dead hosts."""
    from tracker.bench.outage import run_outage_bench

    _print_lines(run_outage_bench(copies=copies, dead_hosts=dead_hosts, dns_seconds=dns_seconds),
                 err=False)


@bench.command("extract")
@click.option("--corpus", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Benchmark folder (default: ../shared/corpora/article-extraction-benchmark).")
@click.option("--workers", type=int, default=2, show_default=True, help="Pool size for the pooled run (0: skip).")
def bench_extract_cmd(corpus: Path | None, workers: int) -> None:
    """Extraction F1 (shingles) and pages/s: ours against plain trafilatura, on the benchmark's 181 pages."""
    from tracker.bench.extract import DEFAULT_CORPUS, run_extract_bench

    for s in run_extract_bench(corpus or DEFAULT_CORPUS, workers):
        click.echo(f"{s.name:28} F1 {s.f1:.3f}  precision {s.precision:.3f}  recall {s.recall:.3f}  "
                   f"{s.pages_per_second:6.1f} pages/s  ({s.failures} failed)")


@main.command("run")
@click.argument("seed_paths", nargs=-1, type=click.Path(), metavar="[SEEDS]...")
@crawl_options
@click.option("--sources", "source_paths", multiple=True, type=click.Path(), metavar="PATH",
              help="Discovery sources file or folder (default: sources/ in the current folder).")
@click.option("-v", "--verbose", is_flag=True, help="Log every stage, also on a terminal.")
@click.option("--redis", "redis_url", metavar="URL",
              help="Crawl with `tracker crawl --redis` workers: enqueue, save their results, then cluster.")
@db_option
def run_cmd(seed_paths: tuple[str, ...], flags: Any, source_paths: tuple[str, ...], verbose: bool,
            redis_url: str | None, db_path: Path) -> None:
    """The scheduled job: load seeds (default: seeds/ in the current folder), poll the due discovery
    sources, crawl what is due, tag, cluster. One at a time."""
    from tracker.config import default_seed_paths, default_source_paths
    from tracker.crawl.runner import RunInterrupted, crawl_settings
    from tracker.job import run_job
    from tracker.progress import configure_logging, progress_bar

    configure_logging(verbose)
    overrides = flags.overrides()
    crawl_settings(db_path, overrides)  # a bad duration fails now, before the run takes its lock
    if redis_url:
        overrides["TRACKER_REDIS_URL"] = redis_url
    try:
        with progress_bar() as progress:
            s = run_job(db_path, seed_paths or default_seed_paths(), overrides, progress,
                        source_paths=source_paths or default_source_paths())
    except RunInterrupted as exc:
        click.echo(f"run {exc}: marked interrupted; what was not fetched stays due", err=True)
        sys.exit(128 + exc.signum)
    if not seed_paths and not default_seed_paths():
        click.echo("no seeds/ folder here and no SEEDS named: crawled, tagged and clustered what the "
                   "database already tracks", err=True)
    _print_lines([f"Error: {e}" for e in s.seed_errors])
    _print_lines([f"Source: {e}" for e in s.source_errors])
    _print_lines(s.notes)
    click.echo(f"run {s.run_id} {s.status}: {s.seeds} seed files, {s.new_articles} new articles, "
               f"{s.due} due, {s.fetched} fetched, {s.failed} failed, {s.refused} refused, "
               f"{s.new_stories} new and {s.grown_stories} grown stories, {s.tagged} articles with new tags")


@main.group()
def sources() -> None:
    """Discovery sources: feeds, news sitemaps and listing pages `tracker run` polls (sources/*.yml)."""


@sources.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
def sources_check(paths: tuple[str, ...]) -> None:
    """Validate sources files (default: sources/) without writing anything."""
    from tracker.config import default_source_paths
    from tracker.discover.sources import load_sources

    check = load_sources(paths or default_source_paths())
    _print_lines([f"Error: {e}" for e in check.errors])
    click.echo(f"{check.files} files, {len(check.sources)} sources, {len(check.errors)} errors")
    if check.errors or not check.files:
        sys.exit(1)


@sources.command("add")
@click.argument("url")
@click.option("--kind", type=click.Choice(["feed", "sitemap", "listing"]), required=True)
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path), default=Path("sources/added.yml"),
              show_default=True, help="The sources file to append to.")
@click.option("--name", default=None)
@click.option("--interval", default=None, metavar="DURATION", help="How often to poll (default 6h).")
@click.option("--language", default=None)
@click.option("--jurisdiction", default=None, metavar="ID")
@click.option("--authority", is_flag=True, help="A regulator's own releases (primary sources).")
@click.option("--link-pattern", default=None, metavar="REGEX", help="Listing pages: what article links match.")
def sources_add(url: str, kind: str, file: Path, **values: Any) -> None:
    """Validate one source and append it to a sources file."""
    from tracker.discover.sources import add_source

    source = add_source(file, {"url": url, "kind": kind, **values})
    click.echo(f"{file}: added {source.kind} {source.url}")


@sources.command("list")
@db_option
def sources_list(db_path: Path) -> None:
    """Each source with its last poll, items found, errors and the stories it fed."""
    from tracker.store.sources import load_source_rows

    for r in load_source_rows(_open(db_path, create=False)):
        state = "" if r["active"] else " (inactive)"
        click.echo(f"{r['id']:4} {r['kind']:8} {'A' if r['authority'] else ' '} {r['url']}{state}")
        click.echo(f"       last poll {r['last_poll_at'] or 'never'} {r['last_outcome'] or ''}: "
                   f"{r['items_last'] or 0} items, {r['new_last'] or 0} new ({r['new_total']} in all), "
                   f"{r['stories_fed']} stories fed, {r['errors_total']} polls with errors, next {r['next_poll_at']}")
        if r["last_error"]:
            _print_lines([f"       error: {r['last_error']}"], err=False)
