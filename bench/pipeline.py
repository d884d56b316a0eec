"""The batch pipeline alone, without Kafka, Faust or ClickHouse: CPU per event, and what the
state cache saves.

``python -m bench.pipeline [--enterprises N] [--months M] [--batch B] [--repeats K] [--no-daily-invoices]
[--json FILE]``

The simulator's park (partitioned like the worker's inputs, record times from
:class:`~streams.send_times.SendClock`) goes through :func:`streams.batch.process_batch` in
batches of ``--batch`` records with one table of states between them, fresh models each
run; the rows are only collected. Alternately with and without a
:class:`~schemas.state_codec.StateCache` (the worker's default size, and 0: every state
decoded from the table every batch); CPU seconds per event, medians over the repeats, and
their ratio; and the share of each pass's time spent in the cyclic garbage collector. This is the part of the worker's cost that is entbrain's own code; the worker's
figure beside Faust's is ``bench.throughput``'s. The garbage collector is set as the worker
sets it (:mod:`streams.gc_policy`); ``ENTBRAIN_WORKER__GC_YOUNG_THRESHOLD=0`` measures with
Python's defaults instead.

``--digest`` instead prints digests of everything one pass outputs (the messages, the rows,
the final states): run it under two checkouts to show that a change left the outputs — and
so the detection, NAB and scoring figures — exactly as they were.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import statistics
import time
import zlib
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import track
from rich.table import Table

from config import Settings
from config.rules import load_rules
from detectors.models import OnlineModels
from schemas.state_codec import StateCache
from simulator import SimulationConfig, simulate
from streams import gc_policy
from streams.batch import OutputTopics, ProcessedBatch, process_batch
from streams.pipeline import RawMessage
from streams.send_times import SendClock

console = Console()
PARTITIONS = 4


class _Rows:
    """Collects the rows (what the ClickHouse sink would buffer)."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = defaultdict(int)

    def add(self, table: str, row: Any) -> None:
        self.rows[table] += 1


def records(config: SimulationConfig) -> list[RawMessage]:
    """The park as the worker's inputs hold it: per topic and partition (by key), in offset order."""
    clock, offsets, out = SendClock(), dict[tuple[str, int], int](), []
    for m in simulate(config):
        partition = zlib.crc32(m.key) % PARTITIONS
        offset = offsets[(m.kind, partition)] = offsets.get((m.kind, partition), -1) + 1
        out.append(RawMessage(m.kind, partition, offset, m.key, m.value, clock.stamp(m.business_time) / 1000))
    return out


class _HashedRows:
    """Hashes every row in the order added."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.count = 0

    def add(self, table: str, row: Any) -> None:
        self.count += 1
        self.hash.update(table.encode() + repr(sorted(row.items())).encode())


DIGEST_NOW = datetime(2030, 1, 1, tzinfo=UTC)  # only the records' own times reach the outputs


def one_pass(
    park: list[RawMessage], batch: int, sink: Any, cache_entries: int, now: datetime, table: dict[bytes, bytes]
) -> Iterator[ProcessedBatch]:
    """The park through :func:`process_batch` in batches of ``batch`` records, fresh models,
    ``table`` holding the states between the batches (updated before each batch is yielded)."""
    settings, rules, models = Settings(), load_rules(), OnlineModels()
    cache = StateCache(cache_entries)
    topics = OutputTopics("scores", "alerts", "lists", "deadletter")
    for first in range(0, len(park), batch):
        chunk = ((r, None) for r in park[first : first + batch])
        done = process_batch(chunk, table.get, sink, topics, settings, rules, models, now, cache=cache)
        table.update(done.outputs.states)
        yield done


def outputs_digest(park: list[RawMessage], batch: int) -> dict[str, Any]:
    """Counts and SHA-256 digests (16 hex digits) of one pass's messages, rows and final states."""
    rows, messages, sent = _HashedRows(), hashlib.sha256(), 0
    table: dict[bytes, bytes] = {}
    for done in one_pass(park, batch, rows, Settings().worker.state_cache, DIGEST_NOW, table):
        for topic, key, value in done.outputs.messages:
            sent += 1
            messages.update(f"{topic}|".encode() + (key or b"") + b"|" + value)
    states = hashlib.sha256(b"".join(key + b"|" + value for key, value in sorted(table.items())))
    return {"events": len(park), "messages": sent, "messages_sha256": messages.hexdigest()[:16],
            "rows": rows.count, "rows_sha256": rows.hash.hexdigest()[:16], "states": len(table),
            "states_sha256": states.hexdigest()[:16]}  # fmt: skip


class CollectorTime:
    """Seconds spent in the cyclic garbage collector while in use (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def _observe(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started

    def __enter__(self) -> CollectorTime:
        gc.callbacks.append(self._observe)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._observe)


def cpu_per_event(park: list[RawMessage], batch: int, cache_entries: int) -> tuple[float, float]:
    """CPU seconds per event of one pass over ``park``, and the share of the pass's time the
    garbage collector took."""
    started, wall = time.process_time(), time.perf_counter()
    with CollectorTime() as collector:
        for _ in one_pass(park, batch, _Rows(), cache_entries, datetime.now(UTC), {}):
            pass
    return (time.process_time() - started) / len(park), collector.seconds / (time.perf_counter() - wall)


def run(config: SimulationConfig, batch: int, repeats: int) -> dict[str, Any]:
    park = records(config)
    settings = Settings()
    entries = settings.worker.state_cache
    cached: list[tuple[float, float]] = []
    uncached: list[tuple[float, float]] = []
    for _ in track(range(repeats), description="pipeline passes", console=console):
        cached.append(cpu_per_event(park, batch, entries))
        uncached.append(cpu_per_event(park, batch, 0))
    with_cache, without = statistics.median(c for c, _ in cached), statistics.median(c for c, _ in uncached)
    return {"enterprises": config.enterprises, "months": config.months, "events": len(park), "batch": batch,
            "repeats": repeats, "state_cache_entries": entries,
            "gc_young_threshold": settings.worker.gc_young_threshold,
            "cpu_us_per_event_with_cache": round(with_cache * 1e6, 1),
            "cpu_us_per_event_without_cache": round(without * 1e6, 1),
            "with_over_without": round(with_cache / without, 3),
            # the passes' time in the garbage collector (medians)
            "gc_share_with_cache": round(statistics.median(g for _, g in cached), 3),
            "gc_share_without_cache": round(statistics.median(g for _, g in uncached), 3)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=300)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--batch", type=int, default=2000, help="records per batch (the worker's batch_max_events)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-daily-invoices", dest="daily_invoices", action="store_false",
                        help="registration and monthly filings only (the park of bench.population)")
    parser.add_argument("--digest", action="store_true", help="print digests of one pass's outputs instead")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    gc_policy.apply(Settings().worker.gc_young_threshold)  # as the worker runs
    config = SimulationConfig(enterprises=args.enterprises, months=args.months, seed=args.seed,
                              daily_invoices=args.daily_invoices)
    if args.digest:
        digest = outputs_digest(records(config), args.batch)
        console.print(" ".join(f"{key} {value}" for key, value in digest.items()))
        if args.json:
            args.json.write_text(orjson.dumps(digest, option=orjson.OPT_INDENT_2).decode())
        return 0
    figures = run(config, args.batch, args.repeats)
    table = Table("figure", "value", title=f"the batch pipeline: {figures['events']:,} events "
                  f"({args.enterprises} enterprises × {args.months} months), batches of {args.batch}, "
                  f"median of {args.repeats}")  # fmt: skip
    for key in ("cpu_us_per_event_with_cache", "cpu_us_per_event_without_cache", "with_over_without",
                "gc_share_with_cache", "gc_share_without_cache", "gc_young_threshold"):
        table.add_row(key, f"{figures[key]:,}")
    console.print(table)
    if args.json:
        args.json.write_text(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
