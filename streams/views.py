"""The worker's web views (Faust's aiohttp server): health, metrics, query, enterprise, alerts."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import faust
import orjson
from faust.web import Request, Response, View

from streams.queries import QueryRejected, run_query

if TYPE_CHECKING:
    from streams.app import Runtime


def _json(view: View, payload: Any, status: int = 200) -> Response:
    return view.bytes(orjson.dumps(payload, default=str), content_type="application/json", status=status)


def register_views(app: faust.App, runtime: Runtime, states: Any) -> None:
    settings = runtime.settings

    @app.page("/health")
    class Health(View):
        async def get(self, request: Request) -> Response:
            models = runtime.models
            return _json(self, {
                "status": "ok", "app_id": settings.worker.app_id, "pid": os.getpid(), "counts": runtime.metrics.counts(),
                "models": {"score_updates": models.scorer.updates, "series_detectors": len(models.series)},
            })  # fmt: skip

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(runtime.metrics.exposition(), content_type="text/plain; version=0.0.4")

    @app.page("/api/query")
    class Query(View):
        async def post(self, request: Request) -> Response:
            try:
                body = await request.json()
                sql = str(body.get("sql", "")) if isinstance(body, dict) else ""
                columns, rows = await runtime.in_db_thread(run_query, runtime.db, sql)
            except QueryRejected as exc:
                return _json(self, {"error": str(exc)}, status=400)
            except Exception as exc:  # noqa: BLE001 - SQL errors go back to the caller
                return _json(self, {"error": str(exc)}, status=400)
            return _json(self, {"columns": columns, "rows": rows})

    @app.page("/api/enterprises/{uscc}")
    class Enterprise(View):
        @app.table_route(table=states, match_info="uscc")  # type: ignore[arg-type]
        async def get(self, request: Request, uscc: str) -> Response:  # type: ignore[override]
            stored = states.get(uscc.encode())
            if stored is None:
                return _json(self, {"error": f"unknown enterprise {uscc}"}, status=404)
            return self.bytes(stored, content_type="application/json")

    @app.page("/api/alerts")
    class Alerts(View):
        async def get(self, request: Request) -> Response:
            limit = min(int(request.query.get("limit", "100")), 1000)
            sql = (
                "SELECT alert_id, uscc, alert_type, state, severity, title_zh, title_en, "
                f"explanation_en, occurred_at, emitted_at, version FROM alerts FINAL ORDER BY emitted_at DESC LIMIT {limit}"
            )
            columns, rows = await runtime.in_db_thread(runtime.db.query, sql)
            return _json(self, [dict(zip(columns, row, strict=True)) for row in rows])
