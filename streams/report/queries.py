"""The report's SQL, and :func:`build_report` turning its answers into a :class:`Report`.

Every statement is fixed text; the month and the district are bound parameters. The SQL
runs through a ``fetch(sql, parameters) -> (columns, rows)`` callable, so the same queries
serve the CLI (``entbrain query``'s path: the worker's ``/api/query`` while it runs, else the
database opened directly) and the worker's ``/api/report`` (its own database thread).

Where a figure sits in time:

* revenue, tax and headcount are the filings *for* the month (an amendment replaces the
  earlier filing of the same enterprise, period and tax type: the latest by business time);
* alerts, list changes and scores are placed by their business time (Asia/Shanghai);
  tiers, dimensions and the industry gradient are each enterprise's latest score at the
  end of the month;
* ``--district`` keeps the enterprises registered in that district (alerts: the district
  its first version names); data freshness is per source and ignores it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from streams.report.figures import (
    DIMENSIONS,
    AlertCount,
    Change,
    IndustryRow,
    KeyFigures,
    ListChangeRow,
    Report,
    SourceFreshness,
    TierMove,
    decimal,
    top_movers,
)
from streams.report.period import ReportPeriod

Fetch = Callable[[str, dict[str, Any]], tuple[Sequence[str], Sequence[Sequence[Any]]]]

IN_DISTRICT = (
    "({district:String} = '' OR uscc IN "
    "(SELECT uscc FROM enterprise_snapshot FINAL WHERE district_code = {district:String}))"
)
_MONEY = "toDecimal128OrZero(replaceAll(JSONExtractRaw(payload, '{f}'), '\"', ''), 2)"
_LATEST = "(occurred_at, event_id)"  # an amendment replaces: the latest filing wins
_BOUNDS = """
    toDateTime64({start:String}, 3, 'Asia/Shanghai') AS p_start,
    toDateTime64({end:String}, 3, 'Asia/Shanghai') AS p_end,
    toDateTime64({previous_start:String}, 3, 'Asia/Shanghai') AS q_start
"""

FILINGS_SQL = f"""
SELECT toString(month) AS month,
       uniqExact(uscc) AS enterprises,
       toString(sumIf(amount, kind = 'tax' AND tax_type = 'vat')) AS revenue,
       toString(sumIf(payable, kind = 'tax')) AS tax,
       sumIf(headcount, kind = 'social_security') AS headcount
FROM (
    SELECT kind, uscc, business_month AS month, JSONExtractString(payload, 'tax_type') AS tax_type,
           argMax({_MONEY.format(f="sales_revenue")}, {_LATEST}) AS amount,
           argMax({_MONEY.format(f="tax_payable")}, {_LATEST}) AS payable,
           argMax(JSONExtractUInt(payload, 'insured_headcount'), {_LATEST}) AS headcount
    FROM events FINAL
    WHERE business_month IN (toDate({{month:String}}), toDate({{previous_month:String}}))
      AND (kind = 'social_security' OR (kind = 'tax' AND record = 'filing'))
      AND {IN_DISTRICT}
    GROUP BY kind, uscc, month, tax_type
)
GROUP BY month
"""

ALERTS_SQL = f"""
WITH {_BOUNDS}
SELECT of_type AS alert_type, of_district AS district_code,
       countIf(was_fired AND fired_at >= p_start AND fired_at < p_end) AS new,
       countIf(was_fired AND fired_at >= q_start AND fired_at < p_start) AS new_previous,
       countIf(was_resolved AND resolved_at >= p_start AND resolved_at < p_end) AS resolved,
       countIf(was_resolved AND resolved_at >= q_start AND resolved_at < p_start) AS resolved_previous,
       countIf(was_fired AND fired_at < p_end AND NOT (was_resolved AND resolved_at < p_end)) AS open_at_end,
       countIf(was_fired AND fired_at < p_start AND NOT (was_resolved AND resolved_at < p_start)) AS open_at_previous_end
FROM (
    SELECT alert_id, any(alert_type) AS of_type, argMin(district_code, version) AS of_district,
           countIf(state = 'firing') > 0 AS was_fired, minIf(occurred_at, state = 'firing') AS fired_at,
           countIf(state = 'resolved') > 0 AS was_resolved, minIf(occurred_at, state = 'resolved') AS resolved_at
    FROM alert_events FINAL
    WHERE {{district:String}} = '' OR district_code = {{district:String}}
    GROUP BY alert_id
)
GROUP BY alert_type, district_code
ORDER BY alert_type, district_code
"""

# Each enterprise's latest score at the end of the month before (b_) and of the month (a_).
_AS_OF = ",\n".join(
    f"round(toFloat64(argMaxIf({d}, state_version, scored_at < p_start)), 2) AS b_{d}, "
    f"round(toFloat64(argMaxIf({d}, state_version, scored_at < p_end)), 2) AS a_{d}"
    for d in DIMENSIONS
)
SCORES_AS_OF = f"""
    SELECT uscc,
           argMaxIf(tier, state_version, scored_at < p_start) AS b_tier,
           argMaxIf(tier, state_version, scored_at < p_end) AS a_tier,
           countIf(scored_at < p_start) > 0 AS b_scored,
           {_AS_OF}
    FROM scores FINAL
    WHERE scored_at < p_end AND {IN_DISTRICT}
    GROUP BY uscc
"""

TIERS_SQL = f"""
WITH {_BOUNDS}
SELECT b_tier AS before, a_tier AS after, count() AS enterprises
FROM ({SCORES_AS_OF})
GROUP BY before, after ORDER BY before, after
"""

MOVERS_SQL = f"""
WITH {_BOUNDS}
SELECT s.uscc AS uscc, n.name AS name, {", ".join(f"s.b_{d} AS b_{d}, s.a_{d} AS a_{d}" for d in DIMENSIONS)}
FROM ({SCORES_AS_OF}) AS s
LEFT JOIN (SELECT uscc, name FROM enterprise_snapshot FINAL) AS n ON n.uscc = s.uscc
WHERE s.b_scored
"""

INDUSTRIES_SQL = f"""
WITH {_BOUNDS}
SELECT n.industry_section AS industry_section, count() AS enterprises,
       round(quantileExact(0.25)(s.a_composite), 2) AS p25,
       round(quantileExact(0.5)(s.a_composite), 2) AS median,
       round(quantileExact(0.75)(s.a_composite), 2) AS p75,
       round(avg(s.a_composite), 2) AS mean,
       if(countIf(s.b_scored) = 0, NULL, round(quantileExactIf(0.5)(s.b_composite, s.b_scored), 2)) AS median_previous
FROM ({SCORES_AS_OF}) AS s
INNER JOIN (SELECT uscc, industry_section FROM enterprise_snapshot FINAL) AS n ON n.uscc = s.uscc
GROUP BY industry_section ORDER BY industry_section
"""

LIST_CHANGES_SQL = f"""
WITH {_BOUNDS}
SELECT c.list_name AS list_name, c.change AS change, c.uscc AS uscc, n.name AS name,
       toString(c.first_at) AS changed_at
FROM (
    SELECT list_name, change, uscc, min(changed_at) AS first_at
    FROM list_changes FINAL
    WHERE changed_at >= p_start AND changed_at < p_end AND {IN_DISTRICT}
    GROUP BY list_name, change, uscc
) AS c
LEFT JOIN (SELECT uscc, name FROM enterprise_snapshot FINAL) AS n ON n.uscc = c.uscc
ORDER BY list_name, change, uscc
"""

SOURCES_SQL = """
SELECT kind, source,
       toString(max(occurred_at)) AS last_business_time,
       toString(max(ingested_at)) AS last_ingested_at,
       count() AS events,
       countIf(business_month = toDate({month:String})) AS events_in_period
FROM events FINAL
GROUP BY kind, source ORDER BY kind, source
"""


def parameters(period: ReportPeriod, district: str) -> dict[str, Any]:
    """The bound values every statement may use (each uses the ones it names)."""
    return {
        "month": f"{period.period}-01",
        "previous_month": f"{period.previous}-01",
        "start": period.start,
        "end": period.end,
        "previous_start": period.previous_start,
        "district": district,
    }


def _records(fetch: Fetch, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    used = {k: v for k, v in params.items() if "{" + k + ":" in sql}
    columns, rows = fetch(sql, used)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def key_figures(filings: list[dict[str, Any]], alerts: list[AlertCount], opened: tuple[int, int],
                period: ReportPeriod) -> KeyFigures:  # fmt: skip
    by_month = {str(r["month"])[:7]: r for r in filings}
    now, before = by_month.get(period.period, {}), by_month.get(period.previous, {})

    def change(name: str) -> Change:
        return Change(decimal(now.get(name)), decimal(before.get(name)))

    return KeyFigures(
        enterprises=change("enterprises"),
        revenue=change("revenue"),
        tax=change("tax"),
        headcount=change("headcount"),
        new_alerts=Change(Decimal(sum(a.new for a in alerts)), Decimal(sum(a.new_previous for a in alerts))),
        open_alerts=Change(Decimal(opened[0]), Decimal(opened[1])),
    )


def build_report(fetch: Fetch, period: ReportPeriod, district: str = "", now: datetime | None = None) -> Report:
    """Run the report's queries through ``fetch`` and assemble the figures."""
    params = parameters(period, district)
    alert_rows = _records(fetch, ALERTS_SQL, params)
    alerts = [
        AlertCount(str(r["alert_type"]), str(r["district_code"]), int(r["new"]), int(r["new_previous"]),
                   int(r["resolved"]), int(r["resolved_previous"]))  # fmt: skip
        for r in alert_rows
    ]
    alerts = [a for a in alerts if a.new or a.new_previous or a.resolved or a.resolved_previous]
    opened = (sum(int(r["open_at_end"]) for r in alert_rows), sum(int(r["open_at_previous_end"]) for r in alert_rows))
    key = key_figures(_records(fetch, FILINGS_SQL, params), alerts, opened, period)
    tiers = [TierMove(str(r["before"]), str(r["after"]), int(r["enterprises"])) for r in _records(fetch, TIERS_SQL, params)]
    movers = top_movers(_records(fetch, MOVERS_SQL, params))
    industries = [
        IndustryRow(str(r["industry_section"]), int(r["enterprises"]), float(r["p25"]), float(r["median"]),
                    float(r["p75"]), float(r["mean"]),
                    None if r["median_previous"] is None else float(r["median_previous"]))  # fmt: skip
        for r in _records(fetch, INDUSTRIES_SQL, params)
    ]
    changes = [
        ListChangeRow(str(r["list_name"]), str(r["change"]), str(r["uscc"]), str(r["name"] or ""), str(r["changed_at"]))
        for r in _records(fetch, LIST_CHANGES_SQL, params)
    ]
    sources = [
        SourceFreshness(str(r["kind"]), str(r["source"]), str(r["last_business_time"]), str(r["last_ingested_at"]),
                        int(r["events"]), int(r["events_in_period"]))  # fmt: skip
        for r in _records(fetch, SOURCES_SQL, params)
    ]
    generated = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Report(period.period, period.previous, district, generated, key, tiers, alerts, changes, movers,
                  industries, sources)  # fmt: skip
