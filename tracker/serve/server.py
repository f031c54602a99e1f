"""`tracker serve`: Datasette over the tracker database, read-only, with the project's metadata.

The one module that imports or launches Datasette. Everything Datasette shows lives as data in
`tracker/serve/datasette/`: `metadata.json` (descriptions, facets, dashboards, canned query titles),
`queries/*.sql` (the canned queries' SQL), `templates/` (the home, story and search pages),
`plugins/` (cell rendering, page data, safe CSV, the Atom feed) and `static/` (CSS). The database is served as a
normal (mutable) file: Datasette reads it through `mode=ro` connections, so a crawl can keep writing
(WAL), and no write can reach it: no canned write query or writing plugin is configured, and the
`/db?sql=` page accepts only SELECT.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.errors import TrackerError

logger = logging.getLogger(__name__)

DATASETTE_DIR = Path(__file__).resolve().parent / "datasette"

# Datasette settings (`--setting NAME VALUE`), chosen for analysts on a large, growing database.
SETTINGS: dict[str, str] = {
    "sql_time_limit_ms": "3000",  # one query at most 3 s: a runaway query cannot hog the server
    "default_page_size": "50",
    "max_returned_rows": "1000",
    # article texts are long: the row page shows them whole; arbitrary and canned queries stop at
    # max_returned_rows, views stream every row as CSV
    "truncate_cells_html": "300",
    "max_csv_mb": "0",  # no cap on streamed CSV: `stories.csv?_stream=on` returns every row
    "allow_csv_stream": "on",
    "facet_time_limit_ms": "1000",  # facets over a million articles need more than the 200 ms default
    "suggest_facets": "off",  # suggestions cost one query per column on every page view
    "allow_download": "off",  # never hand out a file a crawl may be writing
    "num_sql_threads": "3",
}


@dataclass(frozen=True)
class ServeOptions:
    """Where and how to serve; `settings` override SETTINGS (e.g. from a benchmark)."""

    host: str = "127.0.0.1"
    port: int = 8001
    base_url: str | None = None  # public address for absolute links (feeds); else the request's host
    settings: dict[str, str] = field(default_factory=dict)


def database_name(db_path: Path) -> str:
    """The name Datasette gives a database file: its file name without the extension."""
    return db_path.stem


def build_metadata(db_name: str, base_url: str | None = None) -> dict[str, Any]:
    """The packaged metadata, its canned queries' SQL filled in, aimed at database `db_name`."""
    from datasette.utils import tilde_encode

    raw = json.loads((DATASETTE_DIR / "metadata.json").read_text(encoding="utf-8"))
    for name, query in raw["databases"]["{db}"]["queries"].items():
        query["sql"] = (DATASETTE_DIR / "queries" / f"{name}.sql").read_text(encoding="utf-8")
    span = dashboard_span_sql()
    for dashboard in raw.get("plugins", {}).get("datasette-dashboards", {}).values():
        for chart in dashboard.get("charts", {}).values():
            if "query" in chart:
                chart["query"] = chart["query"].replace("{span}", span)
    metadata = _substitute(raw, {"{db}": db_name, "{db_url}": tilde_encode(db_name)})
    if base_url:
        metadata.setdefault("plugins", {})["tracker"] = {"base_url": _check_base_url(base_url)}
    return metadata


def dashboard_span_sql() -> str:
    """The `span(since, until)` CTE the dashboard's charts count in (`dashboard_span.sql`), without
    its comments: the charts send their SQL in the URL."""
    text = (DATASETTE_DIR / "dashboard_span.sql").read_text(encoding="utf-8")
    return " ".join(line.strip() for line in text.splitlines()
                    if line.strip() and not line.lstrip().startswith("--"))


def _check_base_url(base_url: str) -> str:
    if not base_url.startswith(("http://", "https://")):
        raise TrackerError(f"--base-url {base_url!r}: expected an http(s) URL such as https://news.example.org")
    return base_url.rstrip("/")


def _substitute(value: Any, names: dict[str, str]) -> Any:
    """Replace the placeholders in every string and key of a JSON-like value."""
    if isinstance(value, dict):
        return {_substitute(k, names): _substitute(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, names) for v in value]
    if isinstance(value, str):
        for placeholder, name in names.items():
            value = value.replace(placeholder, name)
    return value


def datasette_args(db_path: Path, metadata_path: Path, options: ServeOptions) -> list[str]:
    """Arguments of `datasette serve` for this database, metadata file and options."""
    args = ["serve", str(db_path), "--metadata", str(metadata_path),
            "--plugins-dir", str(DATASETTE_DIR / "plugins"),
            "--template-dir", str(DATASETTE_DIR / "templates"),
            "--static", f"tracker-static:{DATASETTE_DIR / 'static'}",
            "--host", options.host, "--port", str(options.port)]
    for name, value in {**SETTINGS, **options.settings}.items():
        args += ["--setting", name, value]
    return args


def prepare_database(db_path: Path) -> None:
    """Bring the file's schema (views included) and stored lens facets up to date before serving;
    never creates a file."""
    from tracker.store import open_db
    from tracker.store.lensfacets import facets_missing, refresh_lens_facets

    db = open_db(db_path, create=False)
    if facets_missing(db):  # a file from before the stored lens: summarised once
        refresh_lens_facets(db)
    db.close()


def serve(db_path: Path, options: ServeOptions) -> None:
    """Run Datasette on `db_path` until interrupted (Ctrl-C or SIGTERM)."""
    from datasette.cli import cli as datasette_cli

    prepare_database(db_path)
    with tempfile.TemporaryDirectory(prefix="tracker-serve-") as tmp:
        metadata_path = Path(tmp) / "metadata.json"
        metadata = build_metadata(database_name(db_path), options.base_url)
        metadata_path.write_text(json.dumps(metadata, indent=2), encoding="utf-8")
        logger.info("serving %s on http://%s:%s/", db_path, options.host, options.port)
        try:
            datasette_cli.main(datasette_args(db_path, metadata_path, options),
                               prog_name="datasette", standalone_mode=False)
        except Exception as exc:  # click errors and Datasette startup errors
            raise TrackerError(f"{db_path}: datasette could not start ({exc})") from exc
