"""The one-click report against a real worker on a small simulated park.

Every figure of the report is recomputed here from the raw rows (events, alert versions,
scores, list changes), in Python, and must be equal. The CLI goes through ``entbrain
query``'s path (the worker's ``/api/query``); the dashboard's ``/api/report`` through the
access gate; the PDF through headless Chromium.
"""

from __future__ import annotations

import html.parser
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from worker_fixtures import WorkerProcess, isolated_env

from config import REPO_ROOT
from schemas.state import month_index, month_text
from simulator import SimulationConfig, simulate
from streams.cli import run_sql
from streams.harness import settings_from
from streams.produce import produce_all
from streams.report.figures import DIMENSIONS, Report, top_movers
from streams.report.period import parse_period
from streams.report.queries import build_report
from streams.send_times import stamped
from tests.faults import all_committed

pytestmark = pytest.mark.kafka

SIM = SimulationConfig(enterprises=40, months=6, seed=11, anomaly_rate=0.3)
PERIOD = month_text(month_index(SIM.resolved_end_month) - 1)


@pytest.fixture(scope="module")
def park(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[tuple[WorkerProcess, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("report")
    env = isolated_env(tmp, kafka_bootstrap)
    settings = settings_from(env)
    messages = list(stamped(simulate(SIM)))
    produce_all(settings, messages, show_progress=False)
    worker = WorkerProcess(env, tmp / "worker.log").start()
    try:
        worker.wait_for(lambda: all_committed(settings), timeout=600, what="every input committed")
        yield worker, env
    finally:
        worker.stop()


def report_of(worker: WorkerProcess, district: str = "") -> Report:
    def fetch(sql: str, parameters: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
        return run_sql(worker.settings, sql, parameters)

    return build_report(fetch, parse_period(PERIOD), district)


# ---- the figures, recomputed from raw rows --------------------------------------------------


def shanghai_to_utc(local: str) -> str:
    return (datetime.fromisoformat(local) - timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")


def in_district(worker: WorkerProcess, district: str) -> set[str] | None:
    if not district:
        return None
    return {r[0] for r in worker.query(f"SELECT uscc FROM enterprise_snapshot FINAL WHERE district_code = '{district}'")}


def expected_filings(worker: WorkerProcess, district: str) -> dict[str, dict[str, Decimal]]:
    members = in_district(worker, district)
    rows = worker.query("SELECT uscc, kind, record, toString(occurred_at), event_id, payload FROM events FINAL "
                        "WHERE kind = 'social_security' OR record = 'filing'")  # fmt: skip
    latest: dict[tuple[str, str, str, str], tuple[tuple[str, str], dict[str, Any]]] = {}
    for uscc, kind, _record, occurred, event_id, payload in rows:
        if members is not None and uscc not in members:
            continue
        event = orjson.loads(payload)
        key = (kind, uscc, event["period"], event.get("tax_type", ""))
        if key not in latest or (occurred, event_id) > latest[key][0]:
            latest[key] = ((occurred, event_id), event)
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    filers: dict[str, set[str]] = defaultdict(set)
    for (kind, uscc, period, tax_type), (_, event) in latest.items():
        filers[period].add(uscc)
        if kind == "tax":
            out[period]["tax"] += Decimal(str(event["tax_payable"]))
            if tax_type == "vat":
                out[period]["revenue"] += Decimal(str(event["sales_revenue"]))
        else:
            out[period]["headcount"] += event["insured_headcount"]
    for period, who in filers.items():
        out[period]["enterprises"] = Decimal(len(who))
    return out


def expected_alerts(worker: WorkerProcess, district: str) -> dict[tuple[str, str], list[int]]:
    period = parse_period(PERIOD)
    first: dict[str, dict[str, str]] = defaultdict(dict)
    meta: dict[str, tuple[int, str, str]] = {}  # an alert counts in the district of its first version
    for alert_id, alert_type, district_code, state, occurred, version in worker.query(
        "SELECT alert_id, alert_type, district_code, state, toString(occurred_at), version FROM alert_events FINAL"
    ):
        if district and district_code != district:
            continue
        if alert_id not in meta or version < meta[alert_id][0]:
            meta[alert_id] = (version, alert_type, district_code)
        if state in ("firing", "resolved") and (state not in first[alert_id] or occurred < first[alert_id][state]):
            first[alert_id][state] = occurred
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    for alert_id, times in first.items():
        c = counts[meta[alert_id][1:]]
        fired, resolved = times.get("firing"), times.get("resolved")
        for i, stamp in ((0, fired), (2, resolved)):
            if stamp is not None and period.start <= stamp < period.end:
                c[i] += 1
            if stamp is not None and period.previous_start <= stamp < period.start:
                c[i + 1] += 1
        for i, end in ((4, period.end), (5, period.start)):
            if fired is not None and fired < end and not (resolved is not None and resolved < end):
                c[i] += 1
    return counts


def scores_as_of(worker: WorkerProcess, district: str) -> dict[str, dict[str, Any]]:
    """Per enterprise: tier and dimensions at the end of the previous month (b_) and this one (a_)."""
    period = parse_period(PERIOD)
    p_start, p_end = shanghai_to_utc(period.start), shanghai_to_utc(period.end)
    members = in_district(worker, district)
    dims = ", ".join(f"round(toFloat64({d}), 2)" for d in DIMENSIONS)
    best: dict[tuple[str, str], tuple[int, list[Any]]] = {}
    for uscc, version, scored_at, tier, *values in worker.query(
        f"SELECT uscc, state_version, toString(scored_at), tier, {dims} FROM scores FINAL"
    ):
        if members is not None and uscc not in members:
            continue
        for side, bound in (("b", p_start), ("a", p_end)):
            if scored_at < bound and ((uscc, side) not in best or version > best[(uscc, side)][0]):
                best[(uscc, side)] = (version, [tier, *values])
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"b_tier": ""})
    for (uscc, side), (_, (tier, *values)) in best.items():
        out[uscc][f"{side}_tier"] = tier
        out[uscc].update({f"{side}_{d}": v for d, v in zip(DIMENSIONS, values, strict=True)})
        out[uscc][f"{side}_scored"] = True
    return out


def quantile_exact(values: list[float], level: float) -> float:
    ordered = sorted(values)
    return ordered[int(level * len(ordered))]


# ---- tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("by_district", [False, True])
def test_the_reports_figures_equal_the_raw_rows(park: tuple[WorkerProcess, dict[str, str]], by_district: bool) -> None:
    worker, _ = park
    district = ""
    if by_district:
        district = worker.query("SELECT district_code FROM enterprise_snapshot FINAL GROUP BY district_code "
                                "ORDER BY count() DESC, district_code LIMIT 1")[0][0]  # fmt: skip
    report = report_of(worker, district)
    period = parse_period(PERIOD)

    filings = expected_filings(worker, district)
    for name in ("enterprises", "revenue", "tax", "headcount"):
        change = getattr(report.key, name)
        assert (change.current, change.previous) == (filings[period.period][name], filings[period.previous][name]), name
    assert report.key.revenue.current > 0 and report.key.headcount.current > 0

    alerts = expected_alerts(worker, district)
    got = {(a.alert_type, a.district_code): [a.new, a.new_previous, a.resolved, a.resolved_previous] for a in report.alerts}
    assert got == {k: v[:4] for k, v in alerts.items() if any(v[:4])}
    assert report.key.new_alerts.current == sum(v[0] for v in alerts.values())
    assert report.key.new_alerts.previous == sum(v[1] for v in alerts.values())
    assert (report.key.open_alerts.current, report.key.open_alerts.previous) == (
        sum(v[4] for v in alerts.values()), sum(v[5] for v in alerts.values()))
    if not district:
        assert report.key.new_alerts.current + report.key.new_alerts.previous + report.key.open_alerts.current > 0

    states = scores_as_of(worker, district)
    moves = Counter((s["b_tier"], s["a_tier"]) for s in states.values())
    assert {(m.before, m.after): m.enterprises for m in report.tiers} == dict(moves)
    assert sum(report.tier_counts(report.period).values()) == len(states) > 0

    names = dict(worker.query("SELECT uscc, name FROM enterprise_snapshot FINAL"))
    both = [{"uscc": u, "name": names.get(u, ""), **s} for u, s in sorted(states.items()) if s.get("b_scored")]
    assert report.movers == top_movers(both)
    assert any(report.movers[d] for d in DIMENSIONS) or not both

    sections = dict(worker.query("SELECT uscc, industry_section FROM enterprise_snapshot FINAL"))
    by_section: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for uscc, s in states.items():
        if uscc in sections:
            by_section[sections[uscc]].append(s)
    assert [r.industry_section for r in report.industries] == sorted(by_section)
    for row in report.industries:
        now = [s["a_composite"] for s in by_section[row.industry_section]]
        before = [s["b_composite"] for s in by_section[row.industry_section] if s.get("b_scored")]
        assert row.enterprises == len(now)
        assert row.median == round(quantile_exact(now, 0.5), 2)
        assert (row.p25, row.p75) == (round(quantile_exact(now, 0.25), 2), round(quantile_exact(now, 0.75), 2))
        assert row.mean == pytest.approx(sum(now) / len(now), abs=0.006)
        assert row.median_previous == (round(quantile_exact(before, 0.5), 2) if before else None)

    members = in_district(worker, district)
    p_start, p_end = shanghai_to_utc(period.start), shanghai_to_utc(period.end)
    expected_changes = sorted({
        (name, change, uscc)
        for uscc, name, change, at in worker.query("SELECT uscc, list_name, change, toString(changed_at) FROM list_changes FINAL")
        if p_start <= at < p_end and (members is None or uscc in members)
    })  # fmt: skip
    assert [(c.list_name, c.change, c.uscc) for c in report.list_changes] == expected_changes

    sources = Counter((k, s) for k, s in worker.query("SELECT kind, source FROM events FINAL"))
    in_month = Counter((k, s) for k, s, m in worker.query("SELECT kind, source, toString(business_month) FROM events FINAL")
                       if m.startswith(period.period))  # fmt: skip
    assert {(s.kind, s.source): (s.events, s.events_in_period) for s in report.sources} == {
        k: (n, in_month[k]) for k, n in sources.items()}


class ExternalReferences(html.parser.HTMLParser):
    """Every ``src``/``href`` of the page that would need a network."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "data", "srcset") and value and not value.startswith(("#", "data:", "blob:")):
                self.found.append(f"<{tag} {name}={value}>")


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "streams", *args], env={**os.environ, **env}, cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_cli_writes_a_self_contained_html_and_a_pdf(park: tuple[WorkerProcess, dict[str, str]], tmp_path: Path) -> None:
    worker, env = park
    out = tmp_path / "report.html"
    done = run_cli(env, "report", "--period", PERIOD, "--out", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    refs = ExternalReferences()
    refs.feed(page)
    assert refs.found == []
    assert "Plotly.newPlot" in page and "关键指标" in page and "Key figures" in page
    revenue = report_of(worker).key.revenue.current
    assert f"{revenue:,.2f}" in page

    pdf = tmp_path / "report.pdf"
    done = run_cli(env, "report", "--period", PERIOD, "--format", "pdf", "--out", str(pdf))
    assert done.returncode == 0, done.stderr
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 10_000


@pytest.mark.parametrize("period", ["2026-13", "26-04", "April", "2026-4", ""])
def test_a_bad_period_is_one_line_and_exit_2(park: tuple[WorkerProcess, dict[str, str]], period: str) -> None:
    _, env = park
    done = run_cli(env, "report", "--period", period)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "YYYY-MM" in done.stderr


def test_the_dashboard_endpoint_serves_the_report_to_viewers(park: tuple[WorkerProcess, dict[str, str]]) -> None:
    import urllib.error
    import urllib.request

    worker, _ = park
    base = worker.settings.web.base_url
    assert PERIOD in worker.get_json("/api/report/periods")["periods"]
    with urllib.request.urlopen(f"{base}/api/report?period={PERIOD}", timeout=120) as resp:  # noqa: S310
        assert resp.headers["Content-Type"].startswith("text/html")
        page = resp.read().decode("utf-8")
    assert f"{report_of(worker).key.revenue.current:,.2f}" in page
    with pytest.raises(urllib.error.HTTPError) as bad:
        urllib.request.urlopen(f"{base}/api/report?period=2026-13", timeout=30)  # noqa: S310
    assert bad.value.code == 400
