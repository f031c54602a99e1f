"""Datasette plugin: the `attention` page (how much coverage did X get, week by week, beside Y).

The canned query `attention` gives the weekly rows (and their CSV); this plugin draws them as an
SVG chart (tracker/serve/attention.py, the `weekly_chart` filter) and adds the searches' top
outlets beside them.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from datasette import hookimpl
from datasette.database import QueryInterrupted

from tracker.serve.attention import top_outlets, weekly_chart

logger = logging.getLogger(__name__)

SEARCHES = ("q1", "q2", "q3")
OUTLETS = (
    "WITH s(search, q) AS (SELECT :q1, fts_query(:q1) UNION ALL SELECT :q2, fts_query(:q2) "
    "UNION ALL SELECT :q3, fts_query(:q3)), "
    "m AS (SELECT DISTINCT s.search, f.rowid AS id FROM s JOIN articles_fts f ON f.articles_fts MATCH s.q "
    "WHERE s.q <> '') "
    "SELECT m.search, a.publisher, COUNT(*) AS n FROM m JOIN articles a ON a.id = m.id "
    "WHERE a.publisher IS NOT NULL AND a.published >= COALESCE(NULLIF(:since, ''), '0000') "
    "AND a.published < date(COALESCE(NULLIF(:until, ''), '9999-12-30'), '+1 day') "
    "GROUP BY m.search, a.publisher ORDER BY m.search, n DESC, a.publisher")
TIME_LIMIT_MS = 2000


@hookimpl
def prepare_jinja2_environment(env: Any) -> None:
    env.filters["weekly_chart"] = weekly_chart


@hookimpl
def extra_template_vars(template: str, database: str | None, request: Any, datasette: Any) -> Any:
    if template != "query.html" or request is None or not database or not request.path.endswith("/attention"):
        return {}

    async def outlets() -> dict[str, Any]:
        params = {name: request.args.get(name, "") for name in (*SEARCHES, "since", "until")}
        searches = [params[name] for name in SEARCHES if params[name].strip()]
        try:
            rows = (await datasette.get_database(database).execute(
                OUTLETS, params, custom_time_limit=TIME_LIMIT_MS)).rows
        except (QueryInterrupted, sqlite3.DatabaseError) as exc:
            logger.warning("attention: top outlets skipped (%s)", exc)
            rows = []
        return {"attention_searches": searches, "attention_outlets": top_outlets(rows)}

    return outlets
