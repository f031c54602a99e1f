"""Datasette plugin: the dashboards' script writes values as text, never as HTML.

datasette-dashboards 0.8 builds its "table" and "metric" charts with `innerHTML`, so a value that a
query returns is parsed as HTML: `/-/dashboards/activity?since=<img src=x onerror=...>` ran the
script through the "Span" table chart, and a stored title shown by a chart would do the same. This
plugin serves the package's own `dashboards.js` at its usual address with every `innerHTML`
assignment turned into `textContent` (plugin routes come before Datasette's static files), so
every cell, heading and metric is shown as the text it is.
"""

from __future__ import annotations

import importlib.resources
import logging
import re
from functools import lru_cache
from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Response

logger = logging.getLogger(__name__)

SCRIPT_PATH = "/-/static-plugins/datasette_dashboards/dashboards.js"
_INNER_HTML = re.compile(r"\.innerHTML(\s*=)")


@lru_cache(maxsize=1)
def safe_dashboards_js() -> str:
    """The installed dashboards.js with each `x.innerHTML = v` written `x.textContent = v`."""
    script = (importlib.resources.files("datasette_dashboards") / "static" / "dashboards.js").read_text(
        encoding="utf-8")
    safe, count = _INNER_HTML.subn(r".textContent\1", script)
    logger.debug("dashboards.js: %d innerHTML assignments written as textContent", count)
    return safe


async def dashboards_js() -> Response:
    return Response(safe_dashboards_js(), content_type="application/javascript; charset=utf-8",
                    headers={"Cache-Control": "no-cache"})


@hookimpl
def register_routes(datasette: Any) -> list[tuple[str, Any]]:
    return [(f"^{re.escape(SCRIPT_PATH)}$", dashboards_js)]
