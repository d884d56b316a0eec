"""A :class:`Report` as one self-contained HTML page: styles, figures and Plotly's JavaScript
inline (from the installed ``plotly`` package), so it opens offline and prints to PDF.

Headings are zh-CN with an English subtitle. Every text from the data is escaped; chart
specifications are JSON inside ``<script>`` with ``</`` escaped.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson

from config.scoring import load_scoring_config
from schemas.alert_catalogue import CATALOGUE
from streams.report.figures import DIMENSIONS, Change, Report

TIER_LABELS: dict[str, tuple[str, str]] = {
    "leader": ("领军企业", "Leader"),
    "high_growth": ("高成长企业", "High growth"),
    "growth": ("成长企业", "Growth"),
    "base": ("基础企业", "Base"),
    "at_risk": ("风险企业", "At risk"),
    "": ("待评分", "Unscored"),
}
DIMENSION_LABELS: dict[str, tuple[str, str]] = {
    "composite": ("综合评分", "Composite"),
    "scale": ("规模", "Scale"),
    "development": ("发展水平", "Development"),
    "profitability": ("盈利能力", "Profitability"),
    "financing": ("融资能力", "Financing"),
    "innovation": ("创新能力", "Innovation"),
}
KIND_LABELS = {"registration": "工商登记 Registration", "tax": "税务 Tax", "social_security": "社保 Social security"}

STYLE = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei",sans-serif;margin:24px auto;max-width:1100px;
color:#1d2733;font-size:14px}
h1{font-size:24px;margin:0}h2{font-size:18px;border-bottom:2px solid #2f6fb0;padding-bottom:4px;margin-top:28px}
h1 small,h2 small,th small{display:block;font-size:12px;color:#66768a;font-weight:normal}
.meta{color:#66768a;margin:6px 0 0}.cards{display:grid;grid-template-columns:repeat(3,1fr);gap:10px}
.card{border:1px solid #d5dde6;border-radius:6px;padding:10px}.card .v{font-size:20px;font-weight:bold}
.up{color:#1a8a4c}.down{color:#c0392b}.muted{color:#66768a}
table{border-collapse:collapse;width:100%;margin:8px 0}td,th{border-bottom:1px solid #e3e8ee;padding:4px 6px;
text-align:left;vertical-align:top}td.n,th.n{text-align:right}.chart{height:320px}
section{break-inside:avoid}@media print{body{margin:0}.chart{height:300px}}
"""


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """Plotly's JavaScript as shipped in the ``plotly`` package (no network)."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def tier_label(tier: str) -> str:
    zh, en = TIER_LABELS.get(tier, (tier, tier))
    return f"{zh} {en}"


def alert_label(alert_type: str) -> str:
    entry = CATALOGUE.get(alert_type)  # type: ignore[call-overload]
    return f"{entry.label_zh} {entry.label_en}" if entry is not None else alert_type


@lru_cache(maxsize=1)
def list_labels() -> dict[str, str]:
    return {c.name: c.label_zh for c in load_scoring_config().lists}


def tier_order(present: Iterable[str]) -> list[str]:
    known = [c.name for c in load_scoring_config().tiers]
    return known + sorted(set(present) - set(known) - {""})


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def ratio_text(change: Change) -> str:
    r = change.ratio
    if r is None:
        return '<span class="muted">—</span>'
    css = "up" if r > 0 else "down" if r < 0 else "muted"
    return f'<span class="{css}">{r:+.1%}</span>'


def heading(zh: str, en: str) -> str:
    return f"<h2>{esc(zh)}<small>{esc(en)}</small></h2>"


def table(head: Sequence[tuple[str, str, bool]], rows: Iterable[Sequence[Any]]) -> str:
    """``head``: (zh, en, numeric) per column; cells are escaped here."""
    ths = "".join(f'<th{" class=n" if n else ""}>{esc(zh)}<small>{esc(en)}</small></th>' for zh, en, n in head)
    body = "".join(
        "<tr>" + "".join(f'<td{" class=n" if n else ""}>{esc(c)}</td>' for c, (_, _, n) in zip(r, head, strict=True))
        + "</tr>"
        for r in rows
    )  # fmt: skip
    return f"<table><thead><tr>{ths}</tr></thead><tbody>{body or ''}</tbody></table>" + (
        "" if body else '<p class="muted">无 None</p>'
    )


def chart(chart_id: str, traces: list[dict[str, Any]], layout: dict[str, Any]) -> str:
    spec = orjson.dumps({"data": traces, "layout": {"margin": {"l": 140, "r": 20, "t": 20, "b": 40}, **layout}})
    safe = spec.decode().replace("</", "<\\/")
    return (f'<div class="chart" id="{chart_id}"></div><script>(function(){{var s={safe};'
            f'Plotly.newPlot("{chart_id}",s.data,s.layout,{{displaylogo:false,staticPlot:true}});}})();</script>')  # fmt: skip


def key_section(report: Report) -> str:
    k = report.key
    cards: list[tuple[str, str, Change, Callable[[Decimal], str]]] = [
        ("申报企业", "Enterprises filing", k.enterprises, str),
        ("营业收入（元）", "Revenue declared (CNY)", k.revenue, money),
        ("应纳税额（元）", "Tax payable (CNY)", k.tax, money),
        ("参保人数", "Insured headcount", k.headcount, str),
        ("新增预警", "New alerts", k.new_alerts, str),
        ("期末未结预警", "Alerts open at month end", k.open_alerts, str),
    ]
    out = []
    for zh, en, change, fmt in cards:
        out.append(
            f'<div class="card" data-figure="{esc(en)}"><div>{esc(zh)} <span class="muted">{esc(en)}</span></div>'
            f'<div class="v">{esc(fmt(change.current))}</div>'
            f'<div>上期 Previous {esc(fmt(change.previous))} · {ratio_text(change)}</div></div>'
        )
    return heading("关键指标", "Key figures") + f'<div class="cards">{"".join(out)}</div>'


def tier_section(report: Report) -> str:
    now, before = report.tier_counts(report.period), report.tier_counts(report.previous)
    order = tier_order([*now, *before])
    labels = [tier_label(t) for t in reversed(order)]
    traces = [
        {"type": "bar", "orientation": "h", "name": f"{report.previous} 末", "y": labels,
         "x": [before.get(t, 0) for t in reversed(order)], "marker": {"color": "#a9bfd6"}},
        {"type": "bar", "orientation": "h", "name": f"{report.period} 末", "y": labels,
         "x": [now.get(t, 0) for t in reversed(order)], "marker": {"color": "#2f6fb0"}},
    ]  # fmt: skip
    moved = [m for m in report.tiers if m.before != m.after]
    rows = [(tier_label(m.before), tier_label(m.after), m.enterprises) for m in moved]
    counts = [(tier_label(t), before.get(t, 0), now.get(t, 0), now.get(t, 0) - before.get(t, 0)) for t in order]
    return (heading("企业金字塔及变动", "Tier pyramid and its movement")
            + chart("chart-tiers", traces, {"barmode": "group"})
            + table([("梯队", "Tier", False), ("上期末", "Previous", True), ("本期末", "Current", True),
                     ("变动", "Change", True)], counts)
            + "<h3>梯队迁移 <small>Tier moves</small></h3>"
            + table([("原梯队", "From", False), ("新梯队", "To", False), ("企业数", "Enterprises", True)], rows))  # fmt: skip


def alert_section(report: Report) -> str:
    by_type: dict[str, list[int]] = {}
    for a in report.alerts:
        t = by_type.setdefault(a.alert_type, [0, 0, 0, 0])
        for i, v in enumerate((a.new, a.new_previous, a.resolved, a.resolved_previous)):
            t[i] += v
    types = sorted(by_type)
    traces = [
        {"type": "bar", "name": "新增 New", "x": [alert_label(t) for t in types], "y": [by_type[t][0] for t in types]},
        {"type": "bar", "name": "解除 Resolved", "x": [alert_label(t) for t in types],
         "y": [by_type[t][2] for t in types]},
    ]  # fmt: skip
    head = [("预警类型", "Alert type", False), ("区县", "District", False), ("新增", "New", True),
            ("上期新增", "New, previous", True), ("解除", "Resolved", True), ("上期解除", "Resolved, previous", True)]  # fmt: skip
    rows = [(alert_label(a.alert_type), a.district_code or "—", a.new, a.new_previous, a.resolved,
             a.resolved_previous) for a in report.alerts]  # fmt: skip
    return (heading("预警新增与解除", "New and resolved alerts by type and district")
            + (chart("chart-alerts", traces, {"barmode": "group", "margin": {"l": 50, "r": 20, "t": 20, "b": 120}})
               if types else "")
            + table(head, rows))  # fmt: skip


def list_section(report: Report) -> str:
    labels = list_labels()
    summary: dict[tuple[str, str], int] = {}
    for c in report.list_changes:
        summary[(c.list_name, c.change)] = summary.get((c.list_name, c.change), 0) + 1
    names = sorted({c.list_name for c in report.list_changes})
    head = [("认定名单", "List", False), ("进入", "Entered", True), ("退出", "Left", True)]
    counts = [(f"{labels.get(n, n)} {n}", summary.get((n, "enter"), 0), summary.get((n, "leave"), 0)) for n in names]
    detail = [(f"{labels.get(c.list_name, c.list_name)}", "进入 enter" if c.change == "enter" else "退出 leave",
               c.name, c.uscc, c.changed_at[:19]) for c in report.list_changes]  # fmt: skip
    return (heading("认定名单进出", "Enterprises entering or leaving identification lists") + table(head, counts)
            + table([("名单", "List", False), ("变动", "Change", False), ("企业", "Enterprise", False),
                     ("统一社会信用代码", "USCC", False), ("时间", "When", False)], detail))  # fmt: skip


def mover_section(report: Report) -> str:
    parts = [heading("指标变动前列", "Top movers per dimension")]
    for dim in DIMENSIONS:
        zh, en = DIMENSION_LABELS[dim]
        rows = [(m.name, m.uscc, f"{m.before:.2f}", f"{m.after:.2f}", f"{m.delta:+.2f}") for m in report.movers.get(dim, [])]
        parts.append(f"<h3>{esc(zh)} <small>{esc(en)}</small></h3>")
        parts.append(table([("企业", "Enterprise", False), ("统一社会信用代码", "USCC", False),
                            ("上期末", "Before", True), ("本期末", "After", True), ("变动", "Change", True)], rows))  # fmt: skip
    return "".join(parts)


def industry_section(report: Report) -> str:
    rows = report.industries
    x = [r.industry_section or "—" for r in rows]
    traces = [
        {"type": "bar", "name": "P25–P75", "x": x, "base": [r.p25 for r in rows],
         "y": [round(r.p75 - r.p25, 2) for r in rows], "marker": {"color": "#a9bfd6"}},
        {"type": "scatter", "mode": "markers", "name": "中位数 Median", "x": x, "y": [r.median for r in rows],
         "marker": {"color": "#2f6fb0", "size": 10}},
    ]  # fmt: skip
    head = [("行业门类", "Section", False), ("企业数", "Enterprises", True), ("P25", "", True),
            ("中位数", "Median", True), ("P75", "", True), ("均值", "Mean", True), ("上期中位数", "Median, previous", True)]  # fmt: skip
    body = [(r.industry_section or "—", r.enterprises, r.p25, r.median, r.p75, r.mean,
             "—" if r.median_previous is None else r.median_previous) for r in rows]  # fmt: skip
    return (heading("产业梯度", "Industry gradient (composite score at month end)")
            + (chart("chart-industries", traces, {"margin": {"l": 50, "r": 20, "t": 20, "b": 40}}) if rows else "")
            + table(head, body))  # fmt: skip


def source_section(report: Report) -> str:
    head = [("数据源", "Kind", False), ("来源系统", "Source", False), ("最新业务时间", "Last business time", False),
            ("最新入库时间 (UTC)", "Last ingested (UTC)", False), ("本期事件", "Events in month", True),
            ("事件总数", "Events", True)]  # fmt: skip
    rows = [(KIND_LABELS.get(s.kind, s.kind), s.source, s.last_business_time[:19], s.last_ingested_at[:19],
             s.events_in_period, s.events) for s in report.sources]  # fmt: skip
    return heading("数据时效", "Data freshness per source") + table(head, rows)


def render_html(report: Report) -> str:
    """The report as one HTML document that needs no network to view."""
    scope = f"区县 District {report.district}" if report.district else "全园区 Whole park"
    title = f"企业数据大脑月度报告 {report.period}"
    sections = [key_section(report), tier_section(report), alert_section(report), list_section(report),
                mover_section(report), industry_section(report), source_section(report)]  # fmt: skip
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{STYLE}</style>"
        f"<script>{plotly_js()}</script></head><body>"
        f"<h1>{esc(title)}<small>Enterprise Data Brain — monthly report</small></h1>"
        f'<p class="meta">{esc(scope)} · 对比上期 Compared with {esc(report.previous)} · '
        f"生成于 Generated {esc(report.generated_at)}</p>"
        + "".join(f"<section>{s}</section>" for s in sections)
        + "</body></html>"
    )
