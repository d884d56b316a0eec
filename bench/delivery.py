"""Alert delivery under a steady load: a simulated park through the real worker to webhooks.

The park is produced at a steady rate (2,000 events/s by default) while the worker runs;
``--subscribers`` webhook subscriptions (every version on the alerts topic: findings, situations and
list changes; no grouping window) each have a local
aiohttp receiver, and one of them answers every other request with HTTP 500. Reported:

* latency — from the moment the input record that raised the alert was handed to the
  producer (an alert's ``emitted_at`` is that record's timestamp, unique by ``SendClock``) to
  the moment a receiver first accepted its notification (p50 / p99 / max);
* the two stages of that latency — the raising record produced → the alert on
  ``enterprise.alerts`` (the worker), and that → the receiver (the notifier; p99 also
  without the failing receiver);
* deliveries per second — accepted notifications over the span they arrived in;
* duplicates — idempotency keys accepted more than once;
* missing — (subscription, alert version) of the alerts topic never accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from simulator import SimulationConfig, simulate

console = Console()


@dataclass
class Receipt:
    key: str
    status: int
    at: float  # wall clock, seconds
    alert: dict[str, Any]


@dataclass
class Receivers:
    """One aiohttp server per subscriber, all on one event loop in a thread."""

    count: int
    failing: int = 0  # this one answers every other request with 500
    receipts: list[Receipt] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)

    def start(self) -> Receivers:
        from streams.harness import free_port

        self.ports = [free_port() for _ in range(self.count)]
        loop = asyncio.new_event_loop()
        started = threading.Event()

        async def serve() -> None:
            for index, port in enumerate(self.ports):
                app = web.Application()
                app.router.add_post("/hook", self._handler(index))
                runner = web.AppRunner(app, access_log=None)
                await runner.setup()
                await web.TCPSite(runner, "127.0.0.1", port).start()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(serve())
            started.set()
            loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        if not started.wait(10):
            raise RuntimeError("the receivers did not start")
        return self

    def _handler(self, index: int) -> Any:
        calls = 0

        async def handle(request: web.Request) -> web.Response:
            nonlocal calls
            body = await request.read()
            calls += 1
            status = 500 if (index == self.failing and calls % 2 == 1) else 200
            alert = orjson.loads(body)["alert"] if status == 200 else {}
            self.receipts.append(Receipt(request.headers.get("Idempotency-Key", ""), status, time.time(), alert))
            return web.Response(status=status, text="{}")

        return handle

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}/hook"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(config: SimulationConfig, rate: float, subscribers: int, settle_seconds: float) -> dict[str, Any]:
    from bench.throughput import AlertWatch
    from config import Settings
    from schemas.delivery import Subscription
    from streams import broker
    from streams.compacted import put
    from streams.harness import WorkerProcess, isolated_env, read_topic
    from streams.kafka_admin import ensure_topics
    from streams.produce import produce_all
    from streams.send_times import SendClock

    settings = Settings()
    started_broker = broker.ensure_started(settings)
    tmp = Path(tempfile.mkdtemp(prefix="entbrain-bench-delivery-"))
    env = {**isolated_env(tmp, settings.kafka.bootstrap_servers, partitions=4),
           "ENTBRAIN_NOTIFIER__RETRY_INITIAL_SECONDS": "0.05", "ENTBRAIN_NOTIFIER__RETRY_MAX_SECONDS": "0.5"}  # fmt: skip
    receivers = Receivers(subscribers).start()
    worker = WorkerProcess(env, tmp / "worker.log")
    kafka = worker.settings.kafka
    ensure_topics(kafka)
    subs = [Subscription.model_validate({"id": f"bench{i}", "name": f"bench {i}", "owner": "bench", "channel": "webhook",
                                         "filters": {"findings": True, "list_changes": True},
                                         "settings": {"url": receivers.url(i), "secret": "bench"}})
            for i in range(subscribers)]  # fmt: skip
    for sub in subs:
        put(kafka, kafka.topics.subscriptions, sub.id, orjson.dumps(sub.to_record()))
    produced_at: dict[int, float] = {}  # record timestamp (unique, see SendClock) → wall clock

    def messages() -> Iterator[tuple[str, bytes, bytes, int]]:
        clock = SendClock()
        for m in simulate(config):
            stamp = clock.stamp(m.business_time)
            produced_at[stamp] = time.time()
            yield m.kind, m.key, m.value, stamp

    watch = AlertWatch(kafka.bootstrap_servers, kafka.topics.alerts).start()
    try:
        worker.start()
        started = time.time()
        report = produce_all(worker.settings, messages(), rate=rate, label=f"producing at {rate:,.0f}/s")
        produce_seconds = time.time() - started
        with Progress(console=console) as progress:
            task = progress.add_task("worker consuming", total=report.produced)
            while (done := worker.counts()["consumed"]) < report.produced:
                progress.update(task, completed=done)
                time.sleep(0.5)
            progress.update(task, completed=done)
        alerts = read_topic(kafka.bootstrap_servers, kafka.topics.alerts)
        # An alert's emitted_at is the record time of the input record that raised it.
        versions: dict[tuple[str, int], int] = {}
        for message in alerts:
            alert = orjson.loads(message.value())
            emitted = datetime.fromisoformat(alert["emitted_at"].replace("Z", "+00:00"))
            versions.setdefault((alert["alert_id"], alert["version"]), round(emitted.timestamp() * 1000))
        expected = {f"{s.id}:{aid}:{v}" for s in subs for aid, v in versions}
        deadline = time.monotonic() + settle_seconds
        while time.monotonic() < deadline:  # the last notifications, then a quiet moment for repeats
            accepted = {r.key for r in list(receivers.receipts) if r.status == 200}
            if accepted >= expected:
                time.sleep(3.0)
                break
            time.sleep(0.5)
        stages = worker.batch_stages()
    finally:
        worker.stop()
        watch.stop()
        if started_broker:
            broker.stop(settings)
    receipts = [r for r in list(receivers.receipts) if r.status == 200]
    accepted_count = Counter(r.key for r in receipts)
    first: dict[str, Receipt] = {}
    for r in receipts:
        first.setdefault(r.key, r)
    on_topic: dict[tuple[str, int], float] = {}  # (alert_id, version) → first arrival on the alerts topic
    for arrived, value in watch.arrivals:
        alert = orjson.loads(value)
        on_topic.setdefault((alert["alert_id"], alert["version"]), arrived)
    latencies, to_topic, to_receiver, healthy = [], [], [], []
    for r in first.values():
        version = (str(r.alert.get("alert_id")), int(r.alert.get("version", 0)))
        stamp = versions.get(version)
        if stamp in produced_at:
            latencies.append(r.at - produced_at[stamp])
            if version in on_topic:
                to_topic.append(on_topic[version] - produced_at[stamp])
                to_receiver.append(r.at - on_topic[version])
                if not r.key.startswith(f"{subs[receivers.failing].id}:"):
                    healthy.append(r.at - on_topic[version])
    span = (max(r.at for r in receipts) - min(r.at for r in receipts)) if len(receipts) > 1 else 0.0
    return {
        "events_produced": report.produced,
        "produce_rate_per_s": round(report.produced / produce_seconds, 1) if produce_seconds else None,
        "alert_versions": len(versions),
        "alert_messages": len(alerts),
        "subscribers": subscribers,
        "expected_deliveries": len(expected),
        "delivered": len(set(accepted_count) & expected),
        "requests": len(receivers.receipts),
        "http_500": sum(1 for r in receivers.receipts if r.status == 500),
        "latency_p50_s": round(percentile(latencies, 0.50), 3),
        "latency_p99_s": round(percentile(latencies, 0.99), 3),
        "latency_max_s": round(max(latencies), 3) if latencies else None,
        "latency_mean_s": round(statistics.fmean(latencies), 3) if latencies else None,
        "latency_samples": len(latencies),
        # the two stages: raising record produced → alert on the alerts topic (the worker), then → receiver
        "to_alerts_topic_p50_s": round(percentile(to_topic, 0.50), 3),
        "to_alerts_topic_p99_s": round(percentile(to_topic, 0.99), 3),
        "topic_to_receiver_p50_s": round(percentile(to_receiver, 0.50), 3),
        "topic_to_receiver_p99_s": round(percentile(to_receiver, 0.99), 3),
        "topic_to_healthy_receiver_p99_s": round(percentile(healthy, 0.99), 3),  # without the failing one
        "deliveries_per_s": round(len(receipts) / span, 1) if span else None,
        "duplicates": sum(1 for n in accepted_count.values() if n > 1),
        "missing": len(expected - set(accepted_count)),
        "unexpected": len(set(accepted_count) - expected),
        "missing_keys": sorted(expected - set(accepted_count))[:20],
        # the worker's mean seconds per batch in each stage (merge wait, processing, commit steps)
        "worker_batch_stages_mean_s": {name: row["mean_s"] for name, row in stages.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=300)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--anomaly-rate", type=float, default=0.05)
    parser.add_argument("--rate", type=float, default=2000.0, help="events/s produced while the worker runs")
    parser.add_argument("--subscribers", type=int, default=10)
    parser.add_argument("--settle", type=float, default=120.0, help="seconds to wait for the last notifications")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    config = SimulationConfig(enterprises=args.enterprises, months=args.months, seed=args.seed,
                              anomaly_rate=args.anomaly_rate)  # fmt: skip
    figures = run(config, args.rate, args.subscribers, args.settle)
    table = Table("figure", "value", title=f"delivery: {args.enterprises} enterprises × {args.months} months at "
                  f"{args.rate:,.0f} events/s, {args.subscribers} webhook subscribers (one failing half)")  # fmt: skip
    for key, value in figures.items():
        table.add_row(key, str(value))
    console.print(table)
    if args.json:
        args.json.write_text(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    ok = figures["duplicates"] == 0 and figures["missing"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
