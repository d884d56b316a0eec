"""The worker's fetch wait at the broker (faust fixes 1.5 s; streams.app.WorkerApp)."""

from __future__ import annotations

import asyncio

from config import Settings
from streams.app import _faust_app


def test_the_worker_s_fetch_waits_at_the_broker_as_configured_not_faust_s_one_and_a_half_seconds() -> None:
    async def fetch_wait_ms() -> int:
        app = _faust_app(Settings(kafka={"fetch_max_wait_seconds": 0.05}))
        client = app.consumer._thread._create_worker_consumer(app.transport)  # type: ignore[attr-defined]
        try:
            return int(client._fetch_max_wait_ms)
        finally:
            await client.stop()

    assert asyncio.run(fetch_wait_ms()) == 50
