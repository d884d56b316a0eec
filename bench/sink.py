"""Sink throughput against a raw clickhouse-connect columnar insert, and event→row latency.

``python -m bench.sink [--rows N] [--repeats K] [--latency] [--json FILE]``

Throughput: the same event rows are written (a) through :class:`sinks.ClickHouseSink`
(``add`` row by row, ``flush`` per batch of ``--batch`` rows) and (b) by a raw
``client.insert(..., column_oriented=True)`` of pre-built columns, alternately, each into a
fresh table of the same schema in one embedded chDB; medians over the repeats and their
ratio are printed. With ``--latency`` a real worker is started on the local broker and the
time from producing an event to seeing its row in ClickHouse is measured.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import track
from rich.table import Table

from config import ClickHouseSettings, SinkSettings
from schemas import TaxFiling
from sinks import ClickHouseSink, Database, migrate
from sinks.rows import Row, event_row

console = Console()


def make_rows(n: int) -> list[Row]:
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        payload = {
            "event_id": f"bench-{i}", "uscc": "91330110MA2B00001P", "kind": "tax", "record": "filing",
            "occurred_at": "2025-06-15T09:00:00+08:00", "source": "tax", "period": f"2025-{i % 12 + 1:02d}",
            "tax_type": "vat", "sales_revenue": f"{1000 + i}.00", "tax_payable": "60.00", "tax_paid": "60.00",
        }  # fmt: skip
        event = TaxFiling.model_validate(payload)
        rows.append(event_row(event, "enterprise.tax", i % 4, i, orjson.dumps(payload), now))
    return rows


def _fresh_table(db: Database, name: str) -> None:
    db.command(f"DROP TABLE IF EXISTS {db.name}.{name}")
    db.command(f"CREATE TABLE {db.name}.{name} AS {db.name}.events")


def time_sink(db: Database, rows: list[Row], batch: int) -> float:
    _fresh_table(db, "bench_sink")
    sink = ClickHouseSink(db, SinkSettings(batch_max_events=batch))
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        for row in rows[start : start + batch]:
            sink.add("bench_sink", row)
        sink.flush()
    return time.perf_counter() - started


def time_raw(db: Database, rows: list[Row], batch: int) -> float:
    _fresh_table(db, "bench_raw")
    names = list(rows[0])
    batches = [[[r[n] for r in rows[s : s + batch]] for n in names] for s in range(0, len(rows), batch)]
    client: Any = db._client  # the bare clickhouse-connect client, without the sink around it
    started = time.perf_counter()
    for columns in batches:
        client.insert(f"{db.name}.bench_raw", columns, column_names=names, column_oriented=True)
    return time.perf_counter() - started


def throughput(rows_n: int, batch: int, repeats: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="entbrain-bench-sink-"))
    db = Database(ClickHouseSettings(url=f"chdb://{folder}", database="bench"))
    migrate(db)
    rows = make_rows(rows_n)
    sink_times, raw_times = [], []
    for _ in track(range(repeats), description="sink vs raw insert"):
        raw_times.append(time_raw(db, rows, batch))
        sink_times.append(time_sink(db, rows, batch))
    assert db.query("SELECT count() FROM bench_sink")[1] == [(rows_n,)]
    sink_rate = rows_n / statistics.median(sink_times)
    raw_rate = rows_n / statistics.median(raw_times)
    db.close()
    return {"sink_rows_per_s": sink_rate, "raw_rows_per_s": raw_rate, "ratio": sink_rate / raw_rate}


def _row_visible(worker: Any, sql: str) -> bool:
    return bool(worker.query(sql) == [[1]])


def latency(samples: int) -> dict[str, float]:
    """Median and p90 seconds from produce to row visible, through a real worker."""
    from config import Settings
    from schemas import uscc_check_digit
    from streams import broker
    from streams.harness import WorkerProcess, isolated_env, produce

    settings = Settings()
    started_broker = broker.ensure_started(settings)
    tmp = Path(tempfile.mkdtemp(prefix="entbrain-bench-latency-"))
    env = isolated_env(tmp, settings.kafka.bootstrap_servers)
    worker = WorkerProcess(env, tmp / "worker.log").start()
    waits = []
    try:
        for i in track(range(samples), description="event → row latency"):
            body = f"91330110MA2C{i % 50:05d}"
            u = body + uscc_check_digit(body)
            payload = {
                "event_id": f"lat-{i}", "uscc": u, "kind": "tax", "record": "filing",
                "occurred_at": "2025-06-15T09:00:00+08:00", "source": "tax", "period": "2025-06",
                "tax_type": "vat", "sales_revenue": "1000.00", "tax_payable": "60.00", "tax_paid": "60.00",
            }  # fmt: skip
            started = time.perf_counter()
            produce(worker.settings, [("tax", u, orjson.dumps(payload))])
            sql = f"SELECT count() FROM events WHERE event_id = 'lat-{i}'"
            worker.wait_for(partial(_row_visible, worker, sql), timeout=30, what="row")
            waits.append(time.perf_counter() - started)
    finally:
        worker.stop()
        if started_broker:
            broker.stop(settings)
    waits.sort()
    return {"latency_median_s": statistics.median(waits), "latency_p90_s": waits[int(0.9 * (len(waits) - 1))]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sink", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency", action="store_true", help="also measure event→row latency via a real worker")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    figures = throughput(args.rows, args.batch, args.repeats)
    if args.latency:
        figures |= latency(args.samples)
    table = Table("figure", "value", title=f"sink bench: {args.rows} event rows, batches of {args.batch}, median of {args.repeats}")
    for key, value in figures.items():
        table.add_row(key, f"{value:,.3f}" if value < 100 else f"{value:,.0f}")
    console.print(table)
    if args.json:
        args.json.write_text(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
