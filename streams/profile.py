"""The enterprise profile (企业画像) shown by ``entbrain enterprise USCC``.

Gathered from ClickHouse (snapshot, latest score with peer percentiles and forecasts,
open alerts) and, when a worker runs, its live state (monthly series for the trend).
:func:`build_profile` is pure: it shapes what was fetched into one JSON-ready dict.
"""

from __future__ import annotations

from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from streams.provenance import provenance_rows

DIMENSIONS = ("scale", "development", "profitability", "financing", "innovation")
DIMENSION_ZH = {"scale": "规模", "development": "发展水平", "profitability": "盈利能力",
                "financing": "融资能力", "innovation": "创新能力"}  # fmt: skip


def _trend(state: dict[str, Any] | None, series: str, months: int = 6) -> dict[str, float]:
    if not state or not state.get("monthly", {}).get("start"):
        return {}
    monthly = state["monthly"]
    start = monthly["start"]
    first = int(start[:4]) * 12 + int(start[5:7]) - 1
    values = monthly.get(series) or []
    out = {}
    for i, v in enumerate(values):
        if v is not None:
            index = first + i
            out[f"{index // 12:04d}-{index % 12 + 1:02d}"] = float(v)
    return dict(list(out.items())[-months:])


def build_profile(
    snapshot: dict[str, Any], score: dict[str, Any] | None, alerts: list[dict[str, Any]], state: dict[str, Any] | None,
    findings: list[dict[str, Any]] | None = None, identities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    percentiles = orjson.loads(score["percentiles"]) if score and score.get("percentiles") else {}
    return {
        "uscc": snapshot["uscc"],
        "name": snapshot["name"],
        "industry_code": snapshot["industry_code"],
        "district_code": snapshot["district_code"],
        "in_park": snapshot["in_park"],
        "status": snapshot["status"],
        "tier": snapshot["tier"],
        "composite": snapshot["composite"],
        "dimensions": {d: snapshot[d] for d in DIMENSIONS},
        "peer_group": score.get("peer_group") if score else None,
        "percentiles": percentiles,
        "lists": list(snapshot.get("lists") or []),
        "exit_risk": snapshot.get("exit_risk"),
        "forecast": {
            "revenue": {"period": score.get("forecast_revenue_period"), "value": score.get("forecast_revenue")} if score else None,
            "headcount": {"period": score.get("forecast_headcount_period"), "value": score.get("forecast_headcount")} if score else None,
        },
        "trend": {"revenue": _trend(state, "revenue"), "headcount": _trend(state, "headcount")},
        "provenance": provenance_rows(snapshot.get("provenance")),
        "data_quality": findings or [],
        "identities": identities or [],
        "latest_revenue": snapshot.get("latest_revenue"),
        "latest_headcount": snapshot.get("latest_headcount"),
        "open_alerts": alerts,
        "state_version": snapshot["state_version"],
    }


def render_profile(profile: dict[str, Any], out: Console) -> None:
    """The profile as terminal tables, labels in Chinese then English."""
    risk = "-" if profile["exit_risk"] is None else f"{profile['exit_risk']:.1%}"
    place = "园区内 in park" if profile["in_park"] else "园区外 outside the park"
    out.print(f"[bold]{profile['name']}[/bold]  {profile['uscc']}")
    out.print(f"行业 industry {profile['industry_code']} · 区划 district {profile['district_code']} · {place} · "
              f"状态 status {profile['status']}")  # fmt: skip
    out.print(f"梯队 tier [bold]{profile['tier'] or '-'}[/bold] · 综合 composite {profile['composite']:.1f} · "
              f"名单 lists {', '.join(profile['lists']) or '-'} · 退出风险 exit risk {risk}")  # fmt: skip
    dims = Table("维度 dimension", "得分 score", title=f"五维评价 five dimensions (peers: {profile['peer_group'] or '-'})")
    for d in DIMENSIONS:
        dims.add_row(f"{DIMENSION_ZH[d]} {d}", f"{profile['dimensions'][d]:.1f}")
    out.print(dims)
    if profile["percentiles"]:
        pct = Table("指标 feature", "同业百分位 peer percentile")
        for feature, value in sorted(profile["percentiles"].items()):
            pct.add_row(feature, f"{value:.0f}")
        out.print(pct)
    trend = Table("月份 month", "销售额 revenue", "参保人数 headcount", title="趋势与预测 trend and forecast")
    revenue, heads = profile["trend"]["revenue"], profile["trend"]["headcount"]
    for month in sorted(set(revenue) | set(heads)):
        trend.add_row(month, _num(revenue.get(month)), _num(heads.get(month)))
    forecast = profile["forecast"]
    if forecast["revenue"] and forecast["revenue"]["value"] is not None:
        trend.add_row(f"{forecast['revenue']['period']} 预测 forecast", _num(forecast["revenue"]["value"]),
                      _num((forecast["headcount"] or {}).get("value")))  # fmt: skip
    out.print(trend)
    _render_library(profile, out)
    if not profile["open_alerts"]:
        out.print("未解除预警 open alerts: none")
        return
    table = Table("预警 alert", "级别 severity", "状态 state", "说明 explanation", title="未解除预警 open alerts")
    for alert in profile["open_alerts"]:
        table.add_row(alert["title_zh"], alert["severity"], alert["state"], alert["explanation_en"])
    out.print(table)


def _render_library(profile: dict[str, Any], out: Console) -> None:
    """Provenance, former identifiers and data-quality findings (one library)."""
    if profile["provenance"]:
        table = Table("字段 field", "值 value", "来源 source", "事件 event", "业务日期 date", "其他来源 other sources",
                      title="数据来源 provenance")  # fmt: skip
        for row in profile["provenance"]:
            others = "; ".join(f"{s}: {v}" for s, v in row["others"].items()) or "-"
            table.add_row(row["field"], str(row["value"] or "-"), row["set_by"] or "-", row["event_id"] or "-",
                          str(row["business_date"] or "-"), others)  # fmt: skip
        out.print(table)
    if profile["identities"]:
        out.print("曾用标识 former identifiers: " + ", ".join(i["identifier"] for i in profile["identities"]))
    if profile["data_quality"]:
        table = Table("检查 check", "级别 severity", "说明 explanation", title="数据质量 data quality")
        for finding in profile["data_quality"]:
            table.add_row(finding["check"], finding["severity"], f"{finding['explanation_zh']}\n{finding['explanation_en']}")
        out.print(table)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"
