"""The dashboard behind tokens: it asks once, keeps the token for the tab, streams with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_dashboard_browser import CHROMIUM_ARGS, chromium_executable, park
from worker_fixtures import WorkerProcess, isolated_env, produce

pytestmark = pytest.mark.kafka

VIEWER = "viewer-dashboard-token"


def test_dashboard_asks_for_a_token_once_and_streams_with_it(tmp_path: Path, kafka_bootstrap: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_executable()
    env = isolated_env(tmp_path, kafka_bootstrap)
    env.update({"ENTBRAIN_AUTH__LOCAL_ACCESS": "false", "ENTBRAIN_AUTH__VIEWER_TOKENS": VIEWER,
                "ENTBRAIN_AUTH__ADMIN_TOKENS": "admin-dashboard-token"})  # fmt: skip
    worker = WorkerProcess(env, tmp_path / "worker.log")
    messages = park(4)
    produce(worker.settings, messages)
    worker.start()
    prompts: list[str] = []
    problems: list[str] = []
    try:
        worker.wait_for(lambda: worker.counts()["consumed"] == len(messages), what="park consumed")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()

                def answer(dialog: object) -> None:
                    prompts.append(dialog.message)  # type: ignore[attr-defined]
                    dialog.accept(VIEWER)  # type: ignore[attr-defined]

                page.on("dialog", answer)
                page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "401" not in m.text else None)
                page.goto(f"{worker.settings.web.base_url}/")
                expect(page.locator("#kpi-enterprises .value")).to_have_text("4", timeout=30_000)
                expect(page.locator("#live")).to_have_class("live on", timeout=20_000)  # SSE with ?access_token=
                assert page.evaluate("sessionStorage.getItem('entbrain.token')") == VIEWER
                page.reload()
                expect(page.locator("#kpi-enterprises .value")).to_have_text("4", timeout=30_000)
            finally:
                browser.close()
    finally:
        worker.stop()
    assert len(prompts) == 1 and "token" in prompts[0]  # one prompt for all refused panels; none after reload
    assert problems == []
