"""The built-in one-screen dashboard (一屏展现): the page, its assets, its JSON, live alerts.

Routes on the worker's web server:

* ``GET /`` the page; ``GET /static/<file>`` the files of ``streams/dashboard/`` (only
  those, by exact name); ``GET /static/vendor/plotly.min.js`` Plotly's JavaScript from the
  installed ``plotly`` package (no CDN: park networks are often offline).
* ``GET /api/dashboard/<panel>`` fixed read-only SQL over the tables and views of
  ``schemas/clickhouse/``, run on the worker's database thread.
* ``GET /api/dashboard/enterprise/<uscc>`` the drill-down: snapshot, score history, alerts,
  field provenance, former identifiers and data-quality findings.
* ``GET /api/quality-checks`` the catalogue of cross-source checks (labels for the panel).
* ``GET /api/alerts/stream`` server-sent events served from the alerts topic by
  :class:`streams.alert_stream.AlertFeed`; each event id is a cursor over the topic's
  partitions, so ``Last-Event-ID`` (or ``?last_event_id=`` for clients that cannot set it)
  resumes exactly, across worker restarts. Filters: ``?severity=`` (minimum), ``district=``
  (code prefix), ``type=``, ``uscc=``.

The page and its static files are public (they hold no data); every ``/api/`` route needs
the viewer role (the event stream also takes ``?access_token=``, since a browser's
EventSource cannot send headers). Personal data is masked below the admin role.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import faust
import orjson
from aiohttp import web
from aiohttp_sse import sse_response
from faust.web import Request, Response, View

from config import Role
from schemas.alert_catalogue import catalogue_document
from schemas.quality import catalogue_document as quality_catalogue
from streams.access import AccessGate, sees_personal_data
from streams.alert_stream import AlertFeed, AlertFilter, DistrictCache, format_cursor, parse_cursor
from streams.masking import mask_personal
from streams.provenance import provenance_rows

if TYPE_CHECKING:
    from streams.app import Runtime

log = logging.getLogger(__name__)

DASHBOARD_DIR = Path(__file__).parent / "dashboard"
CONTENT_TYPES = {  # (content type, is UTF-8 text)
    ".html": ("text/html", True),
    ".js": ("application/javascript", True),
    ".css": ("text/css", True),
    ".svg": ("image/svg+xml", True),
    ".png": ("image/png", False),
}
USCC_PATTERN = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
EXITED = "('deregistered', 'moved_out', 'revoked')"
SSE_PING_SECONDS = 10.0
DISTRICT_SQL = "SELECT district_code FROM enterprise_snapshot FINAL WHERE uscc = {uscc:String}"

# What people did about each alert: the latest acknowledgement, assignment and verdict.
ACTIONS_SQL = """
    SELECT alert_id,
           countIf(action = 'ack') > 0 AS acked,
           argMaxIf(actor, acted_at, action = 'ack') AS acked_by,
           maxIf(acted_at, action = 'ack') AS acked_at,
           argMaxIf(assignee, acted_at, action = 'assign') AS assignee,
           argMaxIf(verdict, acted_at, action = 'verdict') AS verdict,
           argMaxIf(comment, acted_at, action = 'verdict') AS verdict_comment
    FROM alert_actions FINAL GROUP BY alert_id
"""
ACTION_COLUMNS_SQL = (
    "x.acked AS acked, x.acked_by AS acked_by, x.acked_at AS acked_at, x.assignee AS assignee, "
    "x.verdict AS verdict, x.verdict_comment AS verdict_comment"
)

# One statement per panel; every one reads with FINAL (or through a view that does).
PANEL_SQL: dict[str, str] = {
    "kpis": f"""
        SELECT
            (SELECT count() FROM enterprise_snapshot FINAL) AS enterprises,
            (SELECT count() FROM enterprise_snapshot FINAL WHERE status NOT IN {EXITED}) AS active,
            (SELECT countIf(in_park) FROM enterprise_snapshot FINAL WHERE status NOT IN {EXITED}) AS in_park,
            (SELECT count() FROM enterprise_snapshot FINAL WHERE status IN {EXITED}) AS exited,
            (SELECT count() FROM alerts FINAL WHERE state != 'resolved') AS active_alerts,
            (SELECT count() FROM alerts FINAL WHERE state != 'resolved' AND severity = 'critical') AS critical_alerts,
            (SELECT count() FROM events FINAL
               WHERE toDate(ingested_at, 'Asia/Shanghai') = toDate(now(), 'Asia/Shanghai')) AS events_today,
            (SELECT count() FROM events FINAL) AS events_total,
            (SELECT count() FROM dead_letters FINAL) AS dead_letters,
            (SELECT max(ingested_at) FROM events) AS last_ingested_at,
            now64(3, 'UTC') AS server_time
    """,
    "sources": """
        SELECT kind, source, last_business_time, last_ingested_at, events
        FROM v_source_freshness ORDER BY kind, source
    """,
    "tiers": "SELECT tier, enterprises, avg_composite FROM v_tier_pyramid",
    "alerts-daily": """
        SELECT day, alert_type, sum(alerts) AS alerts FROM v_alerts_daily
        WHERE day >= (SELECT max(day) FROM v_alerts_daily) - 180  -- replayed history counts too
        GROUP BY day, alert_type ORDER BY day, alert_type
    """,
    "industries": """
        SELECT industry_section, enterprises, p25, median, p75, mean
        FROM v_industry_gradient ORDER BY industry_section
    """,
    "districts": """
        SELECT district_code, enterprises, in_park, latest_month_revenue, latest_headcount, open_alerts
        FROM v_district_summary ORDER BY enterprises DESC
    """,
    "top": f"""
        SELECT uscc, name, industry_section, district_code, tier, round(toFloat64(composite), 1) AS composite,
               latest_revenue, latest_headcount, open_alerts
        FROM enterprise_snapshot FINAL
        WHERE status NOT IN {EXITED} AND tier != ''
        ORDER BY composite DESC, uscc LIMIT 15
    """,
    # the data-quality panel (one library): match rate, parked events, contradictions
    "match-rate": "SELECT source, applied, legacy_resolved, parked, match_rate, legacy_match_rate FROM v_match_rate ORDER BY source",
    "unmatched": """
        SELECT source, kind, reason, parked, oldest_parked_at, under_1h, under_1d, older
        FROM v_unmatched ORDER BY parked DESC, source
    """,
    "quality": "SELECT check, severity, findings, enterprises, latest_business_time FROM v_data_quality ORDER BY findings DESC, check",
    "alerts": """
        SELECT a.alert_id AS alert_id, a.uscc AS uscc, s.name AS name, a.alert_type AS alert_type,
               a.state AS state, a.severity AS severity, a.title_zh AS title_zh, a.title_en AS title_en,
               a.district_code AS district_code, a.occurred_at AS occurred_at,
               a.emitted_at AS emitted_at, a.version AS version, {actions}
        FROM (SELECT * FROM alerts FINAL
              ORDER BY state = 'resolved', emitted_at DESC, alert_id LIMIT 60) AS a  -- open ones first
        LEFT JOIN (SELECT uscc, name FROM enterprise_snapshot FINAL) AS s ON s.uscc = a.uscc
        LEFT JOIN ({actions_sql}) AS x ON x.alert_id = a.alert_id
        ORDER BY state = 'resolved', emitted_at DESC, alert_id
    """.replace("{actions_sql}", ACTIONS_SQL).replace("{actions}", ACTION_COLUMNS_SQL),
}

_DIMS = ", ".join(
    f"round(toFloat64({c}), 1) AS {c}"
    for c in ("composite", "scale", "development", "profitability", "financing", "innovation")
)
# `{uscc:String}` is a server-side query parameter; `{dims}` is filled in below.
ENTERPRISE_SQL: dict[str, str] = {
    "snapshot": """
        SELECT uscc, name, district_code, in_park, industry_code, industry_section, status,
               latest_revenue, latest_headcount, {dims}, tier, open_alerts, updated_at, provenance
        FROM enterprise_snapshot FINAL WHERE uscc = {uscc:String}
    """,
    "quality": """
        SELECT check, severity, subject, sources, event_ids, explanation_zh, explanation_en, occurred_at
        FROM data_quality_findings FINAL WHERE uscc = {uscc:String} ORDER BY occurred_at DESC LIMIT 50
    """,
    "identities": "SELECT identifier, origin, source FROM identities FINAL WHERE uscc = {uscc:String} ORDER BY identifier",
    "scores": """
        SELECT scored_at, state_version, {dims}, tier
        FROM scores FINAL WHERE uscc = {uscc:String} ORDER BY state_version DESC LIMIT 500
    """,
    "alerts": """
        SELECT a.alert_id AS alert_id, a.alert_type AS alert_type, a.state AS state, a.severity AS severity,
               a.title_zh AS title_zh, a.title_en AS title_en, a.explanation_zh AS explanation_zh,
               a.explanation_en AS explanation_en, a.occurred_at AS occurred_at, a.emitted_at AS emitted_at,
               a.version AS version, {actions}
        FROM (SELECT * FROM alerts FINAL WHERE uscc = {uscc:String}
              ORDER BY state = 'resolved', emitted_at DESC LIMIT 50) AS a
        LEFT JOIN ({actions_sql}) AS x ON x.alert_id = a.alert_id
        ORDER BY a.state = 'resolved', a.emitted_at DESC
    """.replace("{actions_sql}", ACTIONS_SQL).replace("{actions}", ACTION_COLUMNS_SQL),
}
ENTERPRISE_SQL = {part: sql.replace("{dims}", _DIMS) for part, sql in ENTERPRISE_SQL.items()}


def _json(view: View, payload: Any, status: int = 200) -> Response:
    return view.bytes(
        orjson.dumps(payload, default=str),
        content_type="application/json",
        status=status,
        headers={"Cache-Control": "no-store"},
    )


def _value(v: Any) -> Any:
    # clickhouse-connect returns DateTime64(3, 'UTC') columns as naive datetimes; browsers
    # would read those as local time.
    if isinstance(v, datetime) and v.tzinfo is None:
        return v.replace(tzinfo=UTC)
    return v


def _records(result: tuple[list[str], list[tuple[Any, ...]]]) -> list[dict[str, Any]]:
    columns, rows = result
    return [dict(zip(columns, map(_value, row), strict=True)) for row in rows]


async def _district(runtime: Runtime, uscc: str) -> str:
    _, rows = await runtime.in_db_thread(runtime.db.query, DISTRICT_SQL, {"uscc": uscc})
    return str(rows[0][0]) if rows else ""


def _masked_alert(data: bytes) -> bytes:
    return orjson.dumps(mask_personal(orjson.loads(data)))


def plotly_js_path() -> Path | None:
    """``plotly.min.js`` inside the installed ``plotly`` package, if it is installed."""
    spec = find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


class AssetCache:
    """Dashboard files by exact name, read in a thread (not on the event loop).

    Vendor files (megabytes, fixed per install) are read once; the dashboard's own small
    files every time, so an edited page shows on reload.
    """

    def __init__(self, folder: Path, vendor: dict[str, Path | None]) -> None:
        self._files: dict[str, Path] = {p.name: p for p in folder.iterdir() if p.is_file()}
        self._files.update({f"vendor/{name}": path for name, path in vendor.items() if path is not None})
        self._cache: dict[str, bytes] = {}

    def knows(self, name: str) -> bool:
        return name in self._files

    async def read(self, name: str) -> tuple[bytes, str, bool]:
        path = self._files[name]
        content_type, text = CONTENT_TYPES.get(path.suffix, ("application/octet-stream", False))
        body = self._cache.get(name)
        if body is None:
            body = await asyncio.to_thread(path.read_bytes)
            if name.startswith("vendor/"):
                self._cache[name] = body
        return body, content_type, text


def register_dashboard(app: faust.App, runtime: Runtime) -> None:
    """Add the dashboard page, its assets, its JSON endpoints and the alert stream to ``app``."""
    assets = AssetCache(DASHBOARD_DIR, {"plotly.min.js": plotly_js_path()})
    feed = AlertFeed(runtime.settings.kafka)
    districts = DistrictCache(lambda uscc: _district(runtime, uscc))

    @app.task
    async def _follow_alerts() -> None:
        while not feed.closed:
            try:
                await feed.run()
            except Exception:  # the topic is not there yet, or the broker went away
                log.exception("the alert stream's feed stopped; starting it again")
                await asyncio.sleep(2.0)
    gate = AccessGate(runtime.settings.auth, runtime.settings.web)

    async def asset(view: View, name: str, cache_control: str) -> Response:
        if not assets.knows(name):
            return _json(view, {"error": f"no such file: {name}"}, status=404)
        body, content_type, text = await assets.read(name)
        response = view.bytes(body, content_type=content_type, headers={"Cache-Control": cache_control})
        if text:  # aiohttp takes the charset separately from the content type
            cast(web.Response, response).charset = "utf-8"
        return response

    @app.page("/")
    class Page(View):
        @gate.allow(None)
        async def get(self, request: Request) -> Response:
            return await asset(self, "index.html", "no-cache")

    @app.page("/static/vendor/{name}")
    class Vendor(View):
        @gate.allow(None)
        async def get(self, request: Request, name: str) -> Response:  # type: ignore[override]
            return await asset(self, f"vendor/{name}", "public, max-age=86400")

    @app.page("/static/{name}")
    class Static(View):
        @gate.allow(None)
        async def get(self, request: Request, name: str) -> Response:  # type: ignore[override]
            return await asset(self, name, "no-cache")

    @app.page("/api/alert-types")
    class AlertTypes(View):
        @gate.allow(Role.VIEWER)
        async def get(self, request: Request) -> Response:
            return _json(self, catalogue_document())

    @app.page("/api/quality-checks")
    class QualityChecks(View):
        @gate.allow(Role.VIEWER)
        async def get(self, request: Request) -> Response:
            return _json(self, quality_catalogue())

    @app.page("/api/dashboard/{panel}")
    class Panel(View):
        @gate.allow(Role.VIEWER)
        async def get(self, request: Request, panel: str) -> Response:  # type: ignore[override]
            sql = PANEL_SQL.get(panel)
            if sql is None:
                return _json(
                    self, {"error": f"unknown panel {panel[:40]!r}", "panels": sorted(PANEL_SQL)}, status=404
                )
            result = await runtime.in_db_thread(runtime.db.query, sql)
            return _json(self, _records(result))

    @app.page("/api/dashboard/enterprise/{uscc}")
    class EnterpriseDetail(View):
        @gate.allow(Role.VIEWER)
        async def get(self, request: Request, uscc: str) -> Response:  # type: ignore[override]
            if not USCC_PATTERN.match(uscc):
                return _json(self, {"error": "not a USCC (18 characters, digits and capitals)"}, status=400)
            out: dict[str, Any] = {"uscc": uscc}
            for part, sql in ENTERPRISE_SQL.items():
                out[part] = _records(await runtime.in_db_thread(runtime.db.query, sql, {"uscc": uscc}))
            out["snapshot"] = out["snapshot"][0] if out["snapshot"] else None
            out["scores"].reverse()  # oldest first, for the chart
            personal = sees_personal_data(request)
            stored = out["snapshot"].pop("provenance", "") if out["snapshot"] else ""
            out["provenance"] = provenance_rows(stored, masked=not personal)
            return _json(self, out if personal else mask_personal(out))

    @app.page("/api/alerts/stream")
    class AlertStream(View):
        @gate.allow(Role.VIEWER, query_token=True)
        async def get(self, request: Request) -> Any:
            masked = not sees_personal_data(request)
            try:
                wanted = AlertFilter.from_query(request.query)
            except ValueError:
                return _json(self, {"error": "severity: info, warning or critical"}, status=400)
            cursor = parse_cursor(request.headers.get("Last-Event-ID") or request.query.get("last_event_id"))
            served = await feed.serve(cursor)  # before the headers go out: a client that saw them misses nothing
            # Faust's aiohttp driver hands the views aiohttp's own request object.
            async with sse_response(cast(web.Request, request), ping_interval=SSE_PING_SECONDS) as resp:
                try:
                    async for item, position in served:
                        district = await districts.district_of(item.alert["uscc"]) if wanted.districts else ""  # type: ignore[arg-type]
                        if not wanted.wants(item.alert, district):
                            continue
                        data = _masked_alert(item.data) if masked else item.data
                        await resp.send(data.decode("utf-8"), id=format_cursor(position, item.partition))
                except (ConnectionResetError, TimeoutError):
                    pass  # the client left; it resumes with Last-Event-ID
                finally:
                    await served.aclose()
            return resp

    from streams.report.views import register_report

    register_report(app, runtime, gate)

    # Open event streams would hold the web server's shutdown for its full timeout.
    web_app = getattr(app.web, "web_app", None)
    if web_app is not None:

        async def _end_streams(_: Any) -> None:
            feed.close()

        web_app.on_shutdown.append(_end_streams)
