"""``GET /api/report?period=YYYY-MM&district=CODE``: the report as HTML, for the viewer role.

``GET /api/report/periods`` lists the months that have filings, latest first (the
dashboard's choice of months). The queries run on the worker's database thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import faust
from aiohttp import web
from faust.web import Request, Response, View

from config import Role
from streams.access import AccessGate, BadRequest, json_response
from streams.report.period import parse_district, parse_period
from streams.report.queries import build_report
from streams.report.render import render_html

if TYPE_CHECKING:
    from streams.app import Runtime

PERIODS_SQL = """
SELECT DISTINCT toString(toYYYYMM(business_month)) AS month FROM events FINAL
WHERE kind = 'social_security' OR (kind = 'tax' AND record = 'filing')
ORDER BY month DESC LIMIT 120
"""


def _months(rows: list[Any]) -> list[str]:
    return [f"{str(r[0])[:4]}-{str(r[0])[4:6]}" for r in rows]


def register_report(app: faust.App, runtime: Runtime, gate: AccessGate) -> None:
    """Add the report endpoints to ``app``."""

    @app.page("/api/report/periods")
    class Periods(View):
        @gate.allow(Role.VIEWER)
        async def get(self, request: Request) -> Response:
            _, rows = await runtime.in_db_thread(runtime.db.query, PERIODS_SQL)
            return json_response(self, {"periods": _months(list(rows))})

    @app.page("/api/report")
    class ReportPage(View):
        @gate.allow(Role.VIEWER)
        async def get(self, request: Request) -> Response:
            try:
                period = parse_period(request.query.get("period", ""))
                district = parse_district(request.query.get("district"))
            except ValueError as exc:
                raise BadRequest(str(exc).replace("--period", "period")) from None
            report = await runtime.in_db_thread(build_report, runtime.db.query, period, district)
            page = render_html(report)
            name = f"entbrain-report-{period.period}{'-' + district if district else ''}.html"
            response = self.bytes(
                page.encode("utf-8"), content_type="text/html",
                headers={"Cache-Control": "no-store", "Content-Disposition": f'inline; filename="{name}"'},
            )  # fmt: skip
            cast(web.Response, response).charset = "utf-8"  # aiohttp takes it apart from the type
            return response
