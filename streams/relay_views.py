"""A relay worker's web server: what needs ClickHouse is answered by the worker holding it.

In the local multi-worker mode (:mod:`streams.row_relay`) only one worker holds chDB. A
relay answers its own health, readiness, metrics, the OpenAPI description and
``/api/enterprises/{uscc}`` (routed to the owner of the enterprise's partition); every
other request — dashboard, alerts, queries, delivery, operations — is redirected (307,
method and body kept) to the same path on the worker that holds ClickHouse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from streams.errors import DatabaseElsewhere

LOCAL_PATHS = ("/health", "/ready", "/metrics", "/api/openapi.json")
LOCAL_PREFIXES = ("/api/enterprises/",)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def answered_here(path: str) -> bool:
    """
    >>> answered_here("/api/enterprises/91330100MA2H3LXX0X"), answered_here("/api/alerts")
    (True, False)
    """
    return path in LOCAL_PATHS or path.startswith(LOCAL_PREFIXES)


def redirect_to_owner(owner_url: str) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    owner = owner_url.rstrip("/")

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not answered_here(request.path):
            raise web.HTTPTemporaryRedirect(owner + request.path_qs)
        try:
            return await handler(request)
        except DatabaseElsewhere:
            raise web.HTTPTemporaryRedirect(owner + request.path_qs) from None

    return middleware
