"""An OpenAPI 3.1 description of the worker's web API (served at ``/api/openapi.json``).

The routes and the role each method needs are read from the running app itself (every
handler goes through :meth:`streams.access.AccessGate.allow`, which marks it), so a new
endpoint is described — and fuzzed — without anyone remembering to list it here. What a
route is for, its parameters and bodies come from :data:`DETAILS`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from streams.views import ALERT_FILTERS, MAX_ALERTS

METHODS = ("get", "post", "put", "patch", "delete")

_ERROR = {"description": "error", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}}}}  # fmt: skip
_OBJECT = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}


def _query(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "required": required, "properties": properties}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_ALERT_PARAMS = [_query(n, {"type": "string", "maxLength": 200}) for n in ALERT_FILTERS] + [
    _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_ALERTS})
]
_PERIOD = _query("period", {"type": "string", "pattern": r"^\d{4}-\d{2}$"}, required=True)
_SQL = _body({"sql": {"type": "string"}, "parameters": {"type": "object"}}, ["sql"])
_ACTION = _body({"by": {"type": "string"}, "assignee": {"type": "string"}, "verdict": {"type": "string"},
                 "comment": {"type": "string"}}, ["by"])  # fmt: skip

# (path, method) → (summary, query parameters, request body)
DETAILS: dict[tuple[str, str], tuple[str, list[dict[str, Any]], dict[str, Any] | None]] = {
    ("/health", "get"): ("liveness: counters and model state", [], None),
    ("/ready", "get"): ("readiness: broker, ClickHouse, table recovery, not stalled (503 with reasons)", [], None),
    ("/api/openapi.json", "get"): ("this description", [], None),
    ("/metrics", "get"): ("Prometheus exposition", [], None),
    ("/", "get"): ("the one-screen dashboard", [], None),
    ("/static/{name}", "get"): ("a dashboard asset", [], None),
    ("/static/vendor/{name}", "get"): ("a vendored library of the dashboard", [], None),
    ("/api/alerts", "get"): ("latest alert versions", _ALERT_PARAMS, None),
    ("/api/alerts/stream", "get"): ("live alerts (server-sent events; ?access_token=, Last-Event-ID)",
                                    _ALERT_PARAMS[:-1], None),  # fmt: skip
    ("/api/alert-types", "get"): ("the alert catalogue: types, severities, zh/en labels", [], None),
    ("/api/alerts/{alert_id}/{action}", "post"): ("acknowledge, assign or give a verdict on an alert "
                                                  "(action: ack | assign | verdict)", [], _ACTION),  # fmt: skip
    ("/api/enterprises/{uscc}", "get"): ("an enterprise's live state", [], None),
    ("/api/dashboard/{panel}", "get"): ("a dashboard panel", [], None),
    ("/api/dashboard/enterprise/{uscc}", "get"): ("drill-down: snapshot, scores, alerts", [], None),
    ("/api/report", "get"): ("the monthly report as self-contained HTML",
                             [_PERIOD, _query("district", {"type": "string"})], None),  # fmt: skip
    ("/api/report/periods", "get"): ("months with filings, latest first", [], None),
    ("/api/query", "post"): ("ad-hoc SQL: one SELECT, no table functions, read-only, limited", [], _SQL),
    ("/api/subscriptions", "get"): ("alert subscriptions", [], None),
    ("/api/subscriptions", "post"): ("create a subscription", [], _OBJECT),
    ("/api/subscriptions/{subscription_id}", "get"): ("one subscription", [], None),
    ("/api/subscriptions/{subscription_id}", "put"): ("create or replace a subscription", [], _OBJECT),
    ("/api/subscriptions/{subscription_id}", "delete"): ("delete a subscription", [], None),
    ("/api/silences", "get"): ("silences", [], None),
    ("/api/silences", "post"): ("create a silence", [], _OBJECT),
    ("/api/silences/{silence_id}/expire", "post"): ("end a silence now", [], None),
    ("/api/audit", "post"): ("record an operator action in audit_log", [], _OBJECT),
}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    names = re.findall(r"{(\w+)}", path)
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]


def _operation(path: str, method: str, handler: Any) -> dict[str, Any]:
    summary, params, body = DETAILS.get((path, method), (f"{method.upper()} {path}", [], None))
    role = getattr(handler, "required_role", None)
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": _path_parameters(path) + params,
        "responses": {"200": {"description": "ok"}, "400": _ERROR, "401": _ERROR, "403": _ERROR, "404": _ERROR,
                      "413": _ERROR},
    }  # fmt: skip
    if body is not None:
        op["requestBody"] = body
    if role is None:
        op["security"] = []
    else:
        op["x-entbrain-role"] = str(role.value)
    return op


def routes(views: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """path → method → handler, for the methods a view implements through the access gate."""
    found: dict[str, dict[str, Any]] = {}
    for path, view in views.items():
        handlers = {m: getattr(type(view), m) for m in METHODS if hasattr(getattr(type(view), m), "required_role")}
        if handlers:
            found[path] = handlers
    return found


def describe(views: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAPI document of the views a faust app serves (``app.web.views``)."""
    paths = {
        path: {method: _operation(path, method, handler) for method, handler in handlers.items()}
        for path, handlers in sorted(routes(views).items())
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "entbrain worker", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }
