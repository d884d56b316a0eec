"""The worker's operator endpoints: ``/ready`` and ``/api/audit``; the lag timer.

``/ready`` has the access of ``/health`` (public: it holds no data) and answers 200
``{"ready": true}`` or 503 ``{"ready": false, "reasons": [...]}``. ``POST /api/audit``
(operator role) writes one ``audit_log`` row for a CLI that cannot open the embedded
database while this worker holds it; the row records the role of the token used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import faust
from faust.web import Request, Response, View

from config import Role
from streams import audit
from streams.access import AccessGate, BadRequest, json_response, read_json_object, role_of
from streams.observability import Observer

if TYPE_CHECKING:
    from streams.app import Runtime

LAG_INTERVAL_SECONDS = 2.0


def register_operations(app: faust.App, runtime: Runtime) -> Observer:
    """Add the operator views and metrics to ``app``; returns the commit-protocol observer."""
    settings = runtime.settings
    gate = AccessGate(settings.auth, settings.web)
    observer = Observer(runtime)

    @app.timer(interval=LAG_INTERVAL_SECONDS)
    async def _update_lag() -> None:
        observer.update_lag(app)

    @app.page("/ready")
    class Ready(View):
        @gate.allow(None)
        async def get(self, request: Request) -> Response:
            reasons = await observer.readiness(app)
            if reasons:
                return json_response(self, {"ready": False, "reasons": reasons}, 503)
            return json_response(self, {"ready": True})

    @app.page("/api/audit")
    class Audit(View):
        @gate.allow(Role.OPERATOR)
        async def post(self, request: Request) -> Response:
            body = await read_json_object(request, settings.web.max_request_bytes)
            role = role_of(request)
            try:
                row = audit.row_from_body(body, role.value if role else None)
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
            await runtime.in_db_thread(audit.insert, runtime.db, row)
            return json_response(self, {"audit_id": row["audit_id"]}, 201)

    return observer
