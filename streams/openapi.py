"""An OpenAPI 3.1 description of the worker's web API (served at ``/api/openapi.json``)."""

from __future__ import annotations

from typing import Any

from streams.views import ALERT_FILTERS, MAX_ALERTS

_ERROR = {"description": "error", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}}}}  # fmt: skip
_USCC = {"name": "uscc", "in": "path", "required": True, "schema": {"type": "string"}}


def _get(summary: str, role: str | None, parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "parameters": parameters or [],
                          "responses": {"200": {"description": "ok"}, "400": _ERROR, "401": _ERROR,
                                        "403": _ERROR, "404": _ERROR}}  # fmt: skip
    if role is None:
        op["security"] = []
    else:
        op["x-entbrain-role"] = role
    return {"get": op}


def describe() -> dict[str, Any]:
    alert_params = [{"name": n, "in": "query", "schema": {"type": "string", "maxLength": 200}} for n in ALERT_FILTERS]
    alert_params.append({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ALERTS}})
    query = {"post": {
        "summary": "ad-hoc SQL: one SELECT, no table functions, read-only, limited", "x-entbrain-role": "admin",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["sql"],
            "properties": {"sql": {"type": "string"}, "parameters": {"type": "object"}}}}}},
        "responses": {"200": {"description": "columns and rows"}, "400": _ERROR, "401": _ERROR, "403": _ERROR,
                      "413": _ERROR},
    }}  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {"title": "entbrain worker", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/health": _get("counters and model state", None),
            "/api/openapi.json": _get("this description", None),
            "/metrics": _get("Prometheus exposition", "viewer"),
            "/api/alerts": _get("latest alert versions", "viewer", alert_params),
            "/api/alerts/stream": _get("live alerts (server-sent events; ?access_token=, Last-Event-ID)", "viewer"),
            "/api/enterprises/{uscc}": _get("an enterprise's live state", "viewer", [_USCC]),
            "/api/dashboard/{panel}": _get("a dashboard panel", "viewer", [
                {"name": "panel", "in": "path", "required": True, "schema": {"type": "string"}}]),
            "/api/dashboard/enterprise/{uscc}": _get("drill-down: snapshot, scores, alerts", "viewer", [_USCC]),
            "/api/report": _get("the monthly report as self-contained HTML", "viewer", [
                {"name": "period", "in": "query", "required": True, "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}$"}},
                {"name": "district", "in": "query", "schema": {"type": "string"}}]),
            "/api/report/periods": _get("months with filings, latest first", "viewer"),
            "/api/query": query,
        },
    }
