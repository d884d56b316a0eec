"""Every error the web server answers is JSON: ``{"error": "..."}``, never an HTML or text page.

The views answer their own errors through :func:`streams.access.json_response`; this
middleware covers what aiohttp answers before a view runs — a path no route matches (404),
a method a route does not take (405), a body over the server's limit (413).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        headers = {k: v for k, v in exc.headers.items() if k in KEPT_HEADERS}
        body = orjson.dumps({"error": f"{exc.reason}: {request.method} {request.path[:200]}"})
        return web.Response(body=body, status=exc.status, content_type="application/json",
                            headers={"Cache-Control": "no-store", **headers})  # fmt: skip


def install(web_app: web.Application) -> None:
    web_app.middlewares.append(json_errors)
