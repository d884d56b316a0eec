"""Alerts, subscriptions and a local HTTP receiver for the delivery tests (nothing leaves the machine)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from schemas import Alert, AlertState, Severity
from schemas.delivery import EnterpriseProfile, Subscription
from streams.harness import free_port

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def make_alert(n: int, state: str = "firing", version: int = 1, **fields: Any) -> Alert:
    base: dict[str, Any] = {
        "alert_id": f"A{n:04d}", "uscc": f"91330110MA2B{n:05d}X"[:18], "alert_type": "tax_collapse",
        "state": AlertState(state), "severity": Severity.WARNING, "title_zh": "税收骤降", "title_en": "Tax collapse",
        "explanation_zh": "本月税额较预期下降 80%", "explanation_en": "Tax 80% below the expected level",
        "evidence": {"ratio": 0.2, "period": "2026-02"}, "event_ids": [f"e{n}"], "rule": "tax_collapse",
        "config_version": "r1", "occurred_at": T0, "emitted_at": T0 + timedelta(minutes=n), "version": version,
    }  # fmt: skip
    base.update(fields)
    return Alert.model_validate(base)


def profile(uscc: str = "x", **fields: Any) -> EnterpriseProfile:
    base = {"uscc": uscc, "name": "杭州测试科技有限公司", "district_code": "330110", "industry_code": "I6510",
            "industry_section": "I", "tier": "gazelle"}  # fmt: skip
    base.update(fields)
    return EnterpriseProfile.model_validate(base)


def subscription(sub_id: str = "s1", url: str = "http://127.0.0.1:1/hook", **fields: Any) -> Subscription:
    base: dict[str, Any] = {"id": sub_id, "name": sub_id, "owner": "bureau", "channel": "webhook",
                            "settings": {"url": url, "secret": "s3cret"}}  # fmt: skip
    base.update(fields)
    # The delivery mechanics are tested on findings (tax_collapse alerts); that a subscriber
    # gets situations and not findings by default is tested in test_matching.
    base["filters"] = {"findings": True, **(base.get("filters") or {})}
    return Subscription.model_validate(base)


@dataclass
class Received:
    key: str
    body: bytes
    headers: dict[str, str]
    status: int


@dataclass
class Receiver:
    """An aiohttp server in its own thread; ``fail_first`` requests get ``fail_status``, and so
    does each request whose ``Idempotency-Key`` ``refuse`` says no to."""

    fail_first: int = 0
    fail_status: int = 500
    delay: float = 0.0
    refuse: Callable[[str], bool] | None = None
    retry_after: str | None = None
    requests: list[Received] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def delivered_keys(self) -> list[str]:
        return [r.key for r in self.requests if r.status == 200]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        key = request.headers.get("Idempotency-Key", "")
        refused = len(self.requests) < self.fail_first or (self.refuse is not None and self.refuse(key))
        status = self.fail_status if refused else 200
        self.requests.append(Received(key, body, dict(request.headers), status))
        headers = {"Retry-After": self.retry_after} if (status != 200 and self.retry_after) else None
        return web.Response(status=status, text="{}", headers=headers)

    async def start_async(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        return runner

    def start_thread(self) -> Receiver:
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start_async())
            started.set()
            loop.run_forever()

        threading.Thread(target=serve, daemon=True).start()
        started.wait(10)
        return self
