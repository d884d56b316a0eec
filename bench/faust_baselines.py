"""The two Faust agents the worker is measured against, each in its own process.

* ``count`` — an agent that only counts events: Faust's own ceiling (event loop, tasks, acks);
* ``naive`` — an agent that updates a Faust table once per event (a per-enterprise count,
  Faust's default producer settings): the cost of the obvious stateful design, one
  changelog message per event.

Run as ``python -m bench.faust_baselines count|naive`` with the worker's settings in the
environment (broker, input topics, app id, data dir); ``--expect N --result FILE``: once the
N-th event is seen, the times of the first and the N-th event (and the CPU time the process
used between them) go to FILE as JSON and the process waits to be stopped.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import faust
import orjson

from config import Settings


def build(kind: str, settings: Settings, expect: int, result: Path) -> faust.App:
    kafka = settings.kafka
    settings.worker.data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"{settings.worker.app_id}-{kind}",
        broker=f"kafka://{kafka.bootstrap_servers}",
        store="memory://",
        datadir=str(settings.worker.data_dir / f"baseline-{kind}"),
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        web_enabled=False,
    )
    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
    inputs = app.topic(*kafka.topics.inputs(), partitions=kafka.partitions, **raw)
    counts = app.Table("per_enterprise", default=int, partitions=kafka.partitions) if kind == "naive" else None
    seen = {"n": 0, "first": 0.0, "cpu": 0.0}

    def tick() -> None:
        seen["n"] += 1
        if seen["n"] == 1:
            seen["first"], seen["cpu"] = time.monotonic(), time.process_time()
        if seen["n"] == expect:
            last, cpu = time.monotonic(), time.process_time()
            result.write_bytes(orjson.dumps({"events": expect, "first": seen["first"], "last": last,
                                             "cpu_seconds": cpu - seen["cpu"]}))  # fmt: skip

    if counts is None:

        @app.agent(inputs)
        async def count_only(stream: faust.StreamT[bytes]) -> None:
            async for _ in stream:
                tick()

    else:

        @app.agent(inputs)
        async def table_per_event(stream: faust.StreamT[bytes]) -> None:
            async for event in stream.events():
                key = event.key.decode() if event.key else ""
                counts[key] += 1
                tick()

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.faust_baselines", description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("count", "naive"))
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    app = build(args.kind, Settings(), args.expect, args.result)
    faust.Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
