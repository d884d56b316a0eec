"""The one-screen dashboard in headless Chromium, and the resumable alert stream over HTTP.

Real broker, real worker process, real chDB, real browser (Debian's ``chromium`` driven by
Playwright; ``apt-get install -y chromium``). Nothing is mocked.
"""

from __future__ import annotations

import importlib.util
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from factories import encode, invoice, make_uscc, registration, social_security, vat
from worker_fixtures import WorkerProcess, isolated_env, produce, read_topic

from tests.sse_client import EventStream, after

pytestmark = pytest.mark.kafka

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ENTERPRISES = 12


@pytest.fixture
def worker(tmp_path: Path, kafka_bootstrap: str) -> Iterator[WorkerProcess]:
    proc = WorkerProcess(isolated_env(tmp_path, kafka_bootstrap), tmp_path / "worker.log")
    yield proc
    proc.stop()


def park(n: int) -> list[tuple[str, str, bytes]]:
    """n enterprises, each with an establishment, four months of VAT and SS filings, invoices."""
    out = []
    for i in range(n):
        u = make_uscc(i)
        out.append(("registration", u, encode(registration(u, f"r{i}"))))
        for m in (2, 3, 4, 5):
            revenue = f"{(20 + 7 * i) * 1000 * m}.00"
            out.append(("tax", u, encode(vat(u, f"t{i}-{m}", f"2026-0{m}", revenue=revenue))))
            out.append(
                ("social_security", u, encode(social_security(u, f"s{i}-{m}", f"2026-0{m}", 8 + i + m)))
            )
        out.append(("tax", u, encode(invoice(u, f"i{i}", "2026-05-06"))))
    return out


def status_change(i: int, tag: str, status: str) -> tuple[str, str, bytes]:
    u = make_uscc(i)
    return ("registration", u, encode(registration(u, f"{status}-{tag}-{i}", change="status", status=status)))


def moved_out(i: int, tag: str) -> tuple[str, str, bytes]:
    u = make_uscc(i)
    return (
        "registration",
        u,
        encode(registration(u, f"exit-{tag}-{i}", change="status", status="moved_out")),
    )


def company_name(i: int) -> str:
    return f"杭州测试{make_uscc(i)[-4:]}科技有限公司"  # what factories.registration names it


def start_with(worker: WorkerProcess, messages: list[tuple[str, str, bytes]]) -> None:
    total = produce(worker.settings, messages)
    worker.start()
    worker.wait_for(lambda: worker.counts()["consumed"] >= total, what="all messages consumed")


def chromium_executable() -> str:
    """Debian's Chromium; missing is a failure (CI installs it), never a skip."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the dashboard test drives Debian's Chromium. "
            "Install it with: apt-get update && apt-get install -y chromium"
        )
    if importlib.util.find_spec("playwright") is None:
        pytest.fail(
            "the Python package playwright is missing: pip install -e '.[dev]' (never `playwright install`)"
        )
    return str(CHROMIUM)


def test_dashboard_in_a_browser(worker: WorkerProcess, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_executable()
    exited = 3
    start_with(worker, park(ENTERPRISES) + [moved_out(exited, "a")])
    base = worker.settings.web.base_url
    problems: list[str] = []
    started = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.on(
                "console",
                lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
            page.goto(f"{base}/")

            expect(page.locator("#kpi-enterprises .value")).to_have_text(str(ENTERPRISES), timeout=30_000)
            expect(page.locator("#kpi-exited .value")).to_have_text("1")
            expect(page.locator("#kpi-active-alerts .value")).not_to_have_text("0")
            # the tier pyramid: a Plotly funnel with one bar per tier and "N 家" labels
            expect(page.locator("#chart-tiers .main-svg").first).to_be_visible()
            expect(page.locator("#chart-tiers g.trace").first).to_be_attached()
            assert "家" in page.locator("#chart-tiers").inner_text()
            expect(page.locator("#top-table tbody tr")).to_have_count(ENTERPRISES - 1)  # moved-out one left

            # moving out fires an exit alert (enterprise_exit or relocation, as the rules name it)
            alert = page.locator(f'#alert-list li[data-uscc="{make_uscc(exited)}"]').first
            expect(alert).to_be_visible(timeout=15_000)
            expect(alert).to_contain_text(company_name(exited))
            expect(page.locator("#live")).to_have_class("live on", timeout=15_000)
            page.screenshot(path=str(tmp_path / "dashboard.png"))

            alert.click()
            drawer = page.locator("#drilldown")
            expect(drawer).to_be_visible()
            expect(page.locator("#dd-uscc")).to_have_text(make_uscc(exited))
            expect(page.locator("#dd-name")).to_have_text(company_name(exited), timeout=15_000)
            expect(drawer).to_contain_text("迁出 Moved out")
            expect(page.locator("#dd-history .main-svg").first).to_be_visible()
            expect(page.locator("#dd-alerts li").first).to_contain_text(company_name(exited))
            expect(page.locator("#dd-alerts")).not_to_contain_text("暂无预警")

            # an operator acknowledges the alert and gives a verdict from the drill-down
            first = page.locator("#dd-alerts li").first
            page.once("dialog", lambda dialog: dialog.accept("李四"))  # the name recorded with the action
            first.locator('button[data-action="ack"]').click()
            expect(page.locator("#dd-alerts li").first).to_contain_text("已确认 Acked · 李四", timeout=15_000)
            page.locator("#dd-alerts li").first.locator('button[data-action="false_alarm"]').click()
            expect(page.locator("#dd-alerts li").first).to_contain_text("误报 False alarm", timeout=15_000)
            actions = worker.query("SELECT action, actor, verdict FROM alert_actions FINAL ORDER BY acted_at")
            assert actions == [["ack", "李四", ""], ["verdict", "李四", "false_alarm"]]
            page.screenshot(path=str(tmp_path / "drilldown.png"))
            page.keyboard.press("Escape")
            expect(drawer).to_be_hidden()

            # a live exit arrives over the event stream and shows up without reloading the page
            assert page.evaluate("window.entbrainDashboard.stats.liveAlerts") == 0
            produce(worker.settings, [moved_out(5, "b")])
            page.wait_for_function("window.entbrainDashboard.stats.liveAlerts >= 1", timeout=30_000)
            expect(page.locator(f'#alert-list li[data-uscc="{make_uscc(5)}"]').first).to_be_visible(
                timeout=30_000
            )
            expect(page.locator("#kpi-exited .value")).to_have_text("2", timeout=15_000)

            # top-enterprise rows open the drill-down too
            page.locator("#top-table tbody tr").first.click()
            expect(drawer).to_be_visible()
            expect(page.locator("#dd-name")).not_to_have_text("加载中 Loading…", timeout=15_000)
        finally:
            browser.close()
    print(f"browser part: {time.monotonic() - started:.1f}s; screenshots in {tmp_path}")
    assert problems == []


def test_dashboard_shows_an_empty_park_without_errors(worker: WorkerProcess, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_executable()
    worker.start()
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on(
                "console",
                lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
            page.goto(f"{worker.settings.web.base_url}/")
            expect(page.locator("#updated")).not_to_have_text("—", timeout=30_000)
            expect(page.locator("#kpi-enterprises .value")).to_have_text("0")
            expect(page.locator("#chart-tiers")).to_contain_text("暂无数据 No data")
            expect(page.locator("#alert-empty")).to_be_visible()
            page.screenshot(path=str(tmp_path / "empty.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []


def http_get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def test_assets_and_endpoints_serve_only_what_they_should(worker: WorkerProcess) -> None:
    worker.start()
    base = worker.settings.web.base_url
    status, ctype, body = http_get(f"{base}/")
    assert (status, ctype) == (200, "text/html; charset=utf-8") and "企业数据大脑" in body.decode()
    status, ctype, body = http_get(f"{base}/static/vendor/plotly.min.js")
    assert status == 200 and ctype.startswith("application/javascript") and len(body) > 1_000_000
    for path in ("/static/app.js", "/static/style.css"):
        assert http_get(base + path)[0] == 200
    for path in (
        "/static/..%2Fdashboard_views.py",
        "/static/%2E%2E/app.py",
        "/static/nope.js",
        "/static/vendor/x.js",
    ):
        assert http_get(base + path)[0] == 404, path
    assert http_get(f"{base}/api/dashboard/nope")[0] == 404
    assert http_get(f"{base}/api/dashboard/enterprise/not-a-uscc")[0] == 400
    status, _, body = http_get(f"{base}/api/dashboard/enterprise/{make_uscc(99)}")
    assert status == 200 and orjson.loads(body) == {
        "uscc": make_uscc(99),
        "snapshot": None,
        "scores": [],
        "alerts": [],
        "quality": [],
        "identities": [],
        "provenance": [],
    }
    status, _, body = http_get(f"{base}/api/dashboard/kpis")
    assert status == 200 and orjson.loads(body)[0]["enterprises"] == 0


def read_exits(
    stream: EventStream, usccs: list[str], timeout: float = 60
) -> list[tuple[str, dict[str, Any]]]:
    """Events until an ``enterprise_exit`` alert of each of ``usccs`` arrived; those alerts only."""
    exits: list[tuple[str, dict[str, Any]]] = []
    deadline = time.monotonic() + timeout
    while len(exits) < len(usccs) and time.monotonic() < deadline:
        for seq, alert in stream.events(1, timeout=deadline - time.monotonic()):
            if alert["alert_type"] == "enterprise_exit" and alert["uscc"] in usccs:
                exits.append((seq, alert))
    assert sorted(a["uscc"] for _, a in exits) == sorted(usccs)
    return exits


def test_alert_stream_is_live_and_resumable(worker: WorkerProcess) -> None:
    start_with(worker, park(6))
    base = worker.settings.web.base_url

    def deregistered(i: int) -> tuple[str, str, bytes]:  # fires an enterprise_exit alert
        return status_change(i, "sse", "deregistered")

    first = EventStream(base)  # no Last-Event-ID: only alerts from now on
    produce(worker.settings, [deregistered(1)])
    ((seen, alert1),) = read_exits(first, [make_uscc(1)])

    produce(worker.settings, [deregistered(2), deregistered(3)])
    later = read_exits(first, [make_uscc(2), make_uscc(3)])
    assert all(after(seq, seen) for seq, _ in later)
    first.close()

    # reconnecting with the id of the first alert: what came after it, read from the topic
    resumed = EventStream(base, last_event_id=seen)
    replay = resumed.events(100, timeout=3)
    resumed.close()
    assert replay and all(after(seq, seen) for seq, _ in replay)
    assert [(seq, a) for seq, a in replay if a["alert_type"] == "enterprise_exit"] == later

    # reconnecting with the latest id: nothing old, then only what comes next
    latest = replay[-1][0]
    tail = EventStream(base, last_event_id=latest)
    assert tail.events(1, timeout=2) == []
    produce(worker.settings, [deregistered(4)])
    ((nxt, alert4),) = read_exits(tail, [make_uscc(4)])
    assert after(nxt, latest)

    # the data of each event is the alert exactly as sent to the alerts topic (the producer
    # may still be lingering on the last one when the stream has it)
    settings = worker.settings.kafka
    streamed = [alert1, *(a for _, a in later), alert4]
    topic: list[Any] = []
    deadline = time.monotonic() + 30
    while not all(a in topic for a in streamed) and time.monotonic() < deadline:
        topic = [
            orjson.loads(m.value()) for m in read_topic(settings.bootstrap_servers, settings.topics.alerts)
        ]
    assert [a for a in streamed if a not in topic] == []

    # an open stream does not hold up the worker's shutdown
    stopping = time.monotonic()
    worker.stop()
    assert time.monotonic() - stopping < 30
    tail.close()
