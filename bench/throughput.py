"""Throughput of the worker against Faust's own ceiling, produce → alert latency, state size.

The simulator's park is produced once (4 partitions, record times from
:class:`~streams.send_times.SendClock`); then, one after the other over the same events,
each with its own consumer group:

1. a Faust agent that only counts events (``bench.faust_baselines count``);
2. a naive Faust agent that updates a table once per event (``… naive``);
3. the entbrain worker with its default settings (validate → state → rules, detectors →
   scores → outputs → ClickHouse, the commit protocol every batch, the online models
   pickled every batch); ``--checkpoint-seconds S`` runs it once more with the models
   saved every S seconds, to show what the per-batch checkpoint costs;
4. (``--profile``) the worker again under py-spy, its samples summed by component
   (:mod:`bench.profile_summary`).

Rates are events over the span between the first and the last event each one saw; beside
them, the CPU time each process used over that span per event (all its threads), whose
ratios depend less on whatever else the machine runs. Then the
memory per enterprise (the worker's table holds each state as compressed JSON,
:mod:`schemas.state_codec`: key and value as Python objects, from the changelog's latest
values; the JSON's own size beside it), and the latency: a fresh
worker on fresh topics while the park is produced at a steady ``--rate``; each alert on
``enterprise.alerts`` is matched, by its ``emitted_at`` (the raising record's own
timestamp), to the moment that record was handed to the producer.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.profile_summary import shares, summarize
from schemas.state_codec import decode_state, state_json
from simulator import SimulationConfig, simulate

console = Console(width=110)
TARGET_VS_COUNT = 0.5
TARGET_VS_NAIVE = 1.2
TARGET_P99_SECONDS = 0.25
TARGET_STATE_BYTES = 4096
# Test-only settings of the harness's isolated environment: the bench runs the defaults.
_NOT_DEFAULTS = ("ENTBRAIN_SINK__BATCH_MAX_SECONDS", "ENTBRAIN_WORKER__STALL_SECONDS")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile by rank (nearest rank below).

    >>> percentile([3.0, 1.0, 2.0, 4.0], 0.5)
    3.0
    """
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)  # fmt: skip


def _environment(tmp: Path, bootstrap: str, partitions: int) -> dict[str, str]:
    from streams.harness import isolated_env

    env = isolated_env(tmp, bootstrap, partitions=partitions)
    for name in _NOT_DEFAULTS:
        env.pop(name)
    return env


def _fresh_group(env: dict[str, str], tmp: Path, name: str) -> dict[str, str]:
    """The same topics, a new consumer group, data dir, database and web port."""
    from streams.harness import free_port

    return {**env, "ENTBRAIN_WORKER__APP_ID": f"bench-{name}-{uuid.uuid4().hex[:8]}",
            "ENTBRAIN_WORKER__DATA_DIR": str(tmp / name), "ENTBRAIN_CLICKHOUSE__URL": f"chdb://{tmp / name / 'ch'}",
            "ENTBRAIN_WEB__PORT": str(free_port())}  # fmt: skip


def _stamped(config: SimulationConfig, produced_at: dict[int, float] | None = None) -> Iterator[tuple[str, bytes, bytes, int]]:
    from streams.send_times import SendClock

    clock = SendClock()
    for m in simulate(config):
        stamp = clock.stamp(m.business_time)
        if produced_at is not None:
            produced_at[stamp] = time.time()
        yield m.kind, m.key, m.value, stamp


def run_baseline(kind: str, env: dict[str, str], events: int, tmp: Path, timeout: float = 600.0) -> dict[str, Any]:
    """A Faust baseline agent over every event: events/s between its first and last event."""
    result = tmp / f"{kind}.json"
    log = (tmp / f"{kind}.log").open("ab")
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "bench.faust_baselines", kind, "--expect", str(events), "--result", str(result)],
        env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        with _progress() as progress:
            task = progress.add_task(f"{kind} agent", total=None)
            deadline = time.monotonic() + timeout
            while not result.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = (tmp / f"{kind}.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"the {kind} agent did not finish:\n{tail}")
                time.sleep(0.2)
            progress.update(task, total=events, completed=events)
    finally:
        _stop(proc)
    figures = orjson.loads(result.read_bytes())
    span = figures["last"] - figures["first"]
    return {"events": events, "seconds": round(span, 2), "events_per_s": round((events - 1) / span, 1),
            "cpu_us_per_event": round(figures["cpu_seconds"] / (events - 1) * 1e6, 1)}  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (every thread), from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def run_worker(env: dict[str, str], events: int, tmp: Path, label: str, profile: Path | None = None) -> dict[str, Any]:
    """The entbrain worker over every event: events/s between its first and last batch seen.

    ``/health`` counts grow by whole batches; the rate counts the events after the first
    batch seen over the time from that moment to the last one (polled every 50 ms).
    """
    from streams.harness import WorkerProcess

    worker = WorkerProcess(env, tmp / f"{label}.log")
    spy: subprocess.Popen[bytes] | None = None
    try:
        worker.start()
        assert worker.proc is not None
        if profile is not None:
            spy = subprocess.Popen(  # noqa: S603 - py-spy from our own venv, fixed arguments
                [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(worker.proc.pid), "--format",
                 "raw", "--rate", "200", "--output", str(profile), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        first: tuple[float, int, float] | None = None
        with _progress() as progress:
            task = progress.add_task(label, total=events)
            while True:
                try:
                    done = worker.counts()["consumed"]
                except OSError:  # a batch can keep the worker's web server from answering in time
                    continue
                now, cpu = time.monotonic(), cpu_seconds(worker.proc.pid)
                if first is None and done > 0:
                    first = (now, done, cpu)
                progress.update(task, completed=done)
                if done >= events:
                    break
                time.sleep(0.05)
        assert first is not None
        span = now - first[0]
        figures: dict[str, Any] = {"events": events, "seconds": round(span, 2),
                   "events_per_s": round((events - first[1]) / span, 1) if span > 0 else None,
                   "cpu_us_per_event": round((cpu - first[2]) / max(1, events - first[1]) * 1e6, 1)}  # fmt: skip
        with contextlib.suppress(OSError):  # the batches' stages over the backlog (mean seconds per batch)
            figures["stages"] = worker.batch_stages()
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            spy.wait(60)
            spy = None
        return figures
    finally:
        if spy is not None:
            spy.kill()
        worker.stop()


def state_memory(env: dict[str, str]) -> dict[str, Any]:
    """Bytes per enterprise in the worker's table: the latest state of each key, as kept in memory."""
    from streams.harness import read_topic, settings_from

    settings = settings_from(env)
    changelog = f"{settings.worker.app_id}-enterprise_state-changelog"
    latest: dict[bytes, bytes] = {}
    for msg in read_topic(settings.kafka.bootstrap_servers, changelog, timeout=120):
        if msg.key() is not None and msg.value() is not None:
            latest[msg.key()] = msg.value()
    sizes = [float(sys.getsizeof(k) + sys.getsizeof(v)) for k, v in latest.items()]
    json_sizes = [float(len(state_json(v))) for v in latest.values()]
    return {"enterprises": len(sizes), "median_bytes": percentile(sizes, 0.5), "p95_bytes": percentile(sizes, 0.95),
            "max_bytes": max(sizes, default=0.0), "json_median_bytes": percentile(json_sizes, 0.5),
            "json_p95_bytes": percentile(json_sizes, 0.95), "decoded_median_bytes": decoded_size(latest.values()),
            "state_cache_entries": settings.worker.state_cache}  # fmt: skip


def decoded_size(stored: Iterable[bytes]) -> float:
    """Median bytes a decoded state takes (what the worker's state cache keeps per enterprise)."""
    sizes = []
    tracemalloc.start()
    try:
        for value in stored:
            before = tracemalloc.get_traced_memory()[0]
            state = decode_state(value)
            sizes.append(float(tracemalloc.get_traced_memory()[0] - before))
            del state
    finally:
        tracemalloc.stop()
    return percentile(sizes, 0.5)


class AlertWatch:
    """Reads an alerts topic from the start in a thread; remembers when each message arrived."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.arrivals: list[tuple[float, bytes]] = []
        self._stop = threading.Event()
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}",
                                   "auto.offset.reset": "earliest", "enable.auto.commit": False,
                                   "fetch.wait.max.ms": 10})  # fmt: skip
        self._consumer.subscribe([topic])
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> AlertWatch:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            msg = self._consumer.poll(0.05)
            if msg is not None and not msg.error():
                self.arrivals.append((time.time(), msg.value() or b""))
        self._consumer.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


def run_latency(config: SimulationConfig, rate: float, partitions: int, bootstrap: str, tmp: Path) -> dict[str, Any]:
    """Produce → alert on the alerts topic while the park is produced at a steady ``rate``."""
    from streams.harness import WorkerProcess
    from streams.kafka_admin import ensure_topics
    from streams.produce import produce_all

    env = _environment(tmp / "latency", bootstrap, partitions)
    worker = WorkerProcess(env, tmp / "latency-worker.log")
    kafka = worker.settings.kafka
    ensure_topics(kafka)
    produced_at: dict[int, float] = {}
    watch = AlertWatch(bootstrap, kafka.topics.alerts).start()
    try:
        worker.start()
        worker.wait_for(lambda: bool(worker.get_json("/ready").get("ready")), what="the worker to be ready")
        report = produce_all(worker.settings, _stamped(config, produced_at), rate=rate,
                             label=f"producing at {rate:,.0f}/s")  # fmt: skip
        with _progress() as progress:
            task = progress.add_task("worker catching up", total=report.produced)
            done = 0
            while done < report.produced:
                progress.update(task, completed=done)
                time.sleep(0.2)
                with contextlib.suppress(OSError):  # a busy worker may answer late
                    done = worker.counts()["consumed"]
        time.sleep(2.0)
        stages = worker.batch_stages()
    finally:
        worker.stop()
        watch.stop()
    latencies = []
    for arrived, value in watch.arrivals:
        alert = orjson.loads(value)
        emitted = datetime.fromisoformat(alert["emitted_at"].replace("Z", "+00:00"))
        sent = produced_at.get(round(emitted.timestamp() * 1000))
        if sent is not None:
            latencies.append(arrived - sent)
    return {"rate": rate, "events": report.produced, "alerts": len(watch.arrivals), "matched": len(latencies),
            "p50_s": round(percentile(latencies, 0.5), 3), "p99_s": round(percentile(latencies, 0.99), 3),
            "max_s": round(max(latencies), 3) if latencies else None, "stages": stages}  # fmt: skip


def run(
    config: SimulationConfig, partitions: int, rate: float, profile: bool, latency: bool,
    checkpoint_seconds: float | None = None, profile_raw: Path | None = None,
) -> dict[str, Any]:
    from config import Settings
    from streams import broker
    from streams.kafka_admin import ensure_topics
    from streams.produce import produce_all

    settings = Settings()
    started_broker = broker.ensure_started(settings)
    tmp = Path(tempfile.mkdtemp(prefix="entbrain-bench-throughput-"))
    figures: dict[str, Any] = {"enterprises": config.enterprises, "months": config.months, "partitions": partitions}
    try:
        env = _environment(tmp, settings.kafka.bootstrap_servers, partitions)
        from streams.harness import settings_from

        ensure_topics(settings_from(env).kafka)
        report = produce_all(settings_from(env), _stamped(config), label="producing the park once")
        events = figures["events"] = report.produced
        figures["count_only"] = run_baseline("count", _fresh_group(env, tmp, "count"), events, tmp)
        figures["naive_table"] = run_baseline("naive", _fresh_group(env, tmp, "naive"), events, tmp)
        worker_env = _fresh_group(env, tmp, "worker")
        figures["worker"] = run_worker(worker_env, events, tmp, "entbrain worker")
        figures["state_memory"] = state_memory(worker_env)
        worker_rate = figures["worker"]["events_per_s"]
        figures["worker_vs_count_only"] = round(worker_rate / figures["count_only"]["events_per_s"], 3)
        figures["worker_vs_naive"] = round(worker_rate / figures["naive_table"]["events_per_s"], 3)
        worker_cpu = figures["worker"]["cpu_us_per_event"]  # on a shared machine: less sensitive to other load
        figures["cpu_worker_vs_count_only"] = round(figures["count_only"]["cpu_us_per_event"] / worker_cpu, 3)
        figures["cpu_worker_vs_naive"] = round(figures["naive_table"]["cpu_us_per_event"] / worker_cpu, 3)
        if checkpoint_seconds is not None:  # what pickling the models every batch costs
            spaced = {**_fresh_group(env, tmp, "spaced"), "ENTBRAIN_WORKER__CHECKPOINT_SECONDS": str(checkpoint_seconds)}
            figures["worker_spaced_checkpoints"] = {
                **run_worker(spaced, events, tmp, f"entbrain worker, models saved every {checkpoint_seconds:g} s"),
                "checkpoint_seconds": checkpoint_seconds,
            }
        if profile:
            raw = tmp / "worker.pyspy.txt"
            run_worker(_fresh_group(env, tmp, "profiled"), events, tmp, "entbrain worker under py-spy", raw)
            if raw.exists():
                figures["profile"] = shares(summarize(raw.read_text().splitlines()))
                if profile_raw is not None:
                    shutil.copyfile(raw, profile_raw)
        if latency:
            figures["latency"] = run_latency(config, rate, partitions, settings.kafka.bootstrap_servers, tmp)
    finally:
        if started_broker:
            broker.stop(settings)
        shutil.rmtree(tmp, ignore_errors=True)
    return figures


def _stages_line(title: str, stages: dict[str, dict[str, float]]) -> str:
    """Mean seconds per batch in each stage, and the commit protocol's share of process + commit.

    >>> _stages_line("t", {"merge": {"batches": 2, "mean_s": 0.5}, "process": {"batches": 2, "mean_s": 0.75},
    ...                    "rows": {"batches": 2, "mean_s": 0.25}})
    't (mean seconds per batch): merge 0.500, process 0.750, rows 0.250 over 2 batches; the commit is 25% of process + commit'
    """
    commit = sum(row["mean_s"] for name, row in stages.items() if name not in ("merge", "process")
                 and math.isfinite(row["mean_s"]))  # fmt: skip
    process = stages.get("process", {}).get("mean_s", float("nan"))
    share = commit / (commit + process) if math.isfinite(process) and commit + process > 0 else float("nan")
    return (f"{title} (mean seconds per batch): " + ", ".join(f"{name} {row['mean_s']:.3f}" for name, row in stages.items())
            + f" over {max(int(row['batches']) for row in stages.values())} batches; the commit is {share:.0%} of "
            "process + commit")  # fmt: skip


def render(figures: dict[str, Any]) -> None:
    table = Table("agent", "events/s", "seconds", "worker ÷ this", "CPU µs/event", "by CPU", "target",
                  title=f"throughput: {figures['events']:,} events ({figures['enterprises']} enterprises × "
                        f"{figures['months']} months), {figures['partitions']} partitions")  # fmt: skip
    for key, name, ratio, target in (
        ("count_only", "Faust, count only", "worker_vs_count_only", f"≥ {TARGET_VS_COUNT}"),
        ("naive_table", "Faust, table update per event", "worker_vs_naive", f"≥ {TARGET_VS_NAIVE}"),
        ("worker", "entbrain worker", None, ""),
    ):
        row = figures[key]
        table.add_row(name, f"{row['events_per_s']:,.0f}", f"{row['seconds']:.1f}",
                      f"{figures[ratio]:.2f}" if ratio else "", f"{row['cpu_us_per_event']:,.0f}",
                      f"{figures['cpu_' + ratio]:.2f}" if ratio else "", target)  # fmt: skip
    console.print(table)
    if "worker_spaced_checkpoints" in figures:
        spaced = figures["worker_spaced_checkpoints"]
        console.print(f"with the models saved every {spaced['checkpoint_seconds']:g} s instead of every batch: "
                      f"{spaced['events_per_s']:,.0f} events/s "
                      f"({spaced['events_per_s'] / figures['worker']['events_per_s']:.2f}× the default)")  # fmt: skip
    memory = figures["state_memory"]
    console.print(f"state per enterprise in memory: median {memory['median_bytes']:,.0f} B, p95 "
                  f"{memory['p95_bytes']:,.0f} B (target ≤ {TARGET_STATE_BYTES:,}); {memory['enterprises']} enterprises; "
                  f"its JSON uncompressed: median {memory['json_median_bytes']:,.0f} B, "
                  f"p95 {memory['json_p95_bytes']:,.0f} B; besides, the worker keeps up to "
                  f"{memory['state_cache_entries']:,} states decoded between batches, median "
                  f"{memory['decoded_median_bytes']:,.0f} B each")  # fmt: skip
    backlog = figures.get("worker", {}).get("stages") or {}
    if backlog:
        console.print(_stages_line("where a batch's time goes over the backlog", backlog))
    if "latency" in figures:
        lat = figures["latency"]
        console.print(f"produce → alert at {lat['rate']:,.0f} events/s: p50 {lat['p50_s'] * 1000:,.0f} ms, p99 "
                      f"{lat['p99_s'] * 1000:,.0f} ms (target ≤ {TARGET_P99_SECONDS * 1000:.0f} ms); "
                      f"{lat['matched']} alerts")  # fmt: skip
        stages = lat.get("stages") or {}
        if stages:
            console.print(_stages_line("where a batch's time goes meanwhile (an alert is visible once its outputs "
                                       "are flushed)", stages))
    if "profile" in figures:
        prof = Table("component", "share of samples", title="where the worker's time goes (py-spy)")
        for name, share in figures["profile"].items():
            prof.add_row(name, f"{share:.0%}")
        console.print(prof)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=300)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rate", type=float, default=2000.0, help="events/s produced in the latency run")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip the py-spy run")
    parser.add_argument("--no-latency", dest="latency", action="store_false", help="skip the latency run")
    parser.add_argument("--checkpoint-seconds", type=float, default=None,
                        help="also run the worker with its models saved every S seconds (default: every batch)")
    parser.add_argument("--profile-raw", type=Path, help="keep py-spy's samples (collapsed stacks) in this file")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    config = SimulationConfig(enterprises=args.enterprises, months=args.months, seed=args.seed)
    figures = run(config, args.partitions, args.rate, args.profile, args.latency, args.checkpoint_seconds,
                  args.profile_raw)
    render(figures)
    if args.json:
        args.json.write_text(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
