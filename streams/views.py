"""The worker's web views (Faust's aiohttp server): health, metrics, query, enterprise, alerts.

Every view is wrapped by :meth:`streams.access.AccessGate.allow` with the least role it
needs; values from a request reach ClickHouse only as bound parameters (``{name:Type}``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import faust
import orjson
from faust.web import Request, Response, View

from config import Role
from schemas.state_codec import state_json
from sinks import Database
from sinks.clickhouse import connect
from streams.access import AccessGate, BadRequest, json_response, read_json_object, sees_personal_data
from streams.dashboard_views import USCC_PATTERN
from streams.errors import QueryFailed, QueryRejected
from streams.masking import mask_personal
from streams.queries import run_query

if TYPE_CHECKING:
    from streams.app import Runtime

ALERT_COLUMNS = (
    "alert_id, uscc, alert_type, state, severity, district_code, title_zh, title_en, "
    "explanation_en, occurred_at, emitted_at, version"
)
# query parameter → (column, ClickHouse type); each becomes `column = {param:Type}`
ALERT_FILTERS: dict[str, tuple[str, str]] = {
    "severity": ("severity", "String"),
    "state": ("state", "String"),
    "type": ("alert_type", "String"),
    "district": ("district_code", "String"),
    "uscc": ("uscc", "String"),
}
MAX_FILTER_CHARS = 200
MAX_ALERTS = 1000


def int_param(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    """A bounded integer query parameter, or :class:`BadRequest` naming it."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def alerts_query(params: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """SQL and bound parameters for ``/api/alerts``: fixed text, values only as parameters."""
    unknown = sorted(set(params) - set(ALERT_FILTERS) - {"limit"})
    if unknown:
        raise BadRequest(f"unknown parameter(s) {', '.join(unknown)}; known: limit, {', '.join(ALERT_FILTERS)}")
    bound: dict[str, Any] = {"limit": int_param(params.get("limit"), "limit", 100, 1, MAX_ALERTS)}
    where: list[str] = []
    for name, (column, kind) in ALERT_FILTERS.items():
        value = params.get(name)
        if value is None:
            continue
        if len(value) > MAX_FILTER_CHARS:
            raise BadRequest(f"{name} is longer than {MAX_FILTER_CHARS} characters")
        where.append(f"{column} = {{{name}:{kind}}}")
        bound[name] = value
    sql = f"SELECT {ALERT_COLUMNS} FROM alerts FINAL"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql + " ORDER BY emitted_at DESC, alert_id LIMIT {limit:UInt32}", bound


def assigned_partitions(app: faust.App, topic: str) -> list[int]:
    """The input partitions this worker processes now (the same numbers on every input topic)."""
    try:
        assignment = app.consumer.assignment()
    except Exception:  # noqa: BLE001 - no consumer yet: nothing assigned
        return []
    return sorted(tp.partition for tp in assignment if tp.topic == topic)


def register_views(app: faust.App, runtime: Runtime, states: Any) -> None:
    settings = runtime.settings
    gate = AccessGate(settings.auth, settings.web)
    query_db: list[Database] = []  # a server's ad-hoc user, connected on first use

    def adhoc_db() -> Database:
        if settings.clickhouse.embedded:
            return runtime.db
        if not query_db:
            client = connect(settings.clickhouse, for_queries=True)
            query_db.append(Database(settings.clickhouse, client, create=False))
        return query_db[0]

    @app.page("/health")
    class Health(View):
        @gate.allow(None)
        async def get(self, request: Request) -> Response:
            models = runtime.models
            relayed = runtime.relayed_rows
            feed = runtime.model_feed
            return json_response(self, {
                "status": "ok", "app_id": settings.worker.app_id, "pid": os.getpid(), "counts": runtime.metrics.counts(),
                "models": {"score_updates": models.scorer.updates, "series_detectors": len(models.series),
                           "learned_from_other_workers": feed.learned if feed is not None else 0,
                           "learned_after_their_close": feed.late if feed is not None else 0,
                           "model_feed_offset": models.feed_offset},
                "unaligned_releases": runtime.metrics.unaligned(),
                "partitions": assigned_partitions(app, settings.kafka.topics.registration),
                "relayed_rows_written": relayed.rows_written if relayed is not None else None,
            })  # fmt: skip

    @app.page("/api/openapi.json")
    class OpenApi(View):
        @gate.allow(None)
        async def get(self, request: Request) -> Response:
            from streams.openapi import describe

            return json_response(self, describe(app.web.views))

    @app.page("/metrics")
    class Metrics(View):
        @gate.allow(Role.VIEWER)
        async def get(self, request: Request) -> Response:
            return self.bytes(runtime.metrics.exposition(), content_type="text/plain; version=0.0.4")

    @app.page("/api/query")
    class Query(View):
        @gate.allow(Role.ADMIN)
        async def post(self, request: Request) -> Response:
            body = await read_json_object(request, settings.web.max_request_bytes)
            sql = body.get("sql")
            if not isinstance(sql, str):
                raise BadRequest('the body must be {"sql": "<one SELECT query>", "parameters": {...}}')
            try:
                columns, rows = await runtime.in_db_thread(run_query, adhoc_db(), sql, body.get("parameters"))
            except QueryRejected as exc:
                return json_response(self, {"error": str(exc), "refused": True}, status=400)
            except QueryFailed as exc:
                return json_response(self, {"error": str(exc)}, status=400)
            return json_response(self, {"columns": columns, "rows": rows})

    @app.page("/api/enterprises/{uscc}")
    class Enterprise(View):
        @gate.allow(Role.VIEWER)
        async def get(self, request: Request, uscc: str) -> Response:  # type: ignore[override]
            if not USCC_PATTERN.match(uscc):
                raise BadRequest("not a USCC (18 characters, digits and capitals)")
            try:
                return await self.routed(request, uscc=uscc)  # type: ignore[call-arg,no-any-return]
            except (TypeError, KeyError):  # the table's topic is not known to the producer yet
                return json_response(self, {"error": "the enterprise table is not ready; try again"}, 503,
                                     {"Retry-After": "5"})  # fmt: skip

        @app.table_route(table=states, match_info="uscc")  # type: ignore[arg-type]
        async def routed(self, request: Request, uscc: str) -> Response:
            stored = states.get(uscc.encode())
            if stored is None:
                return json_response(self, {"error": f"unknown enterprise {uscc[:40]}"}, status=404)
            if sees_personal_data(request):
                return self.bytes(state_json(stored), content_type="application/json")
            return json_response(self, mask_personal(orjson.loads(state_json(stored))))

    @app.page("/api/alerts")
    class Alerts(View):
        @gate.allow(Role.VIEWER)
        async def get(self, request: Request) -> Response:
            sql, params = alerts_query(dict(request.query))
            columns, rows = await runtime.in_db_thread(runtime.db.query, sql, params)
            records = [dict(zip(columns, row, strict=True)) for row in rows]
            return json_response(self, records if sees_personal_data(request) else mask_personal(records))
