"""Scale-out: events/s of one worker and of two over the same events, and the failover time.

``python -m bench.scaleout [--json FILE]``

1. **Throughput.** The simulator's park is produced once (4 partitions) as a backlog. One
   worker, then two workers of one group (the first holds embedded ClickHouse, the second
   relays its rows to it, :mod:`streams.row_relay`), each time with a group, data directory
   and database of their own, process all of it; the rate is the events over the time from
   the first worker's start until every input is committed and every relayed row written.
   Target: two ≥ 1.6× one.
2. **Failover.** Two workers over a stream produced at a steady rate; the second worker is
   killed with SIGKILL, ``--kills`` times (restarted after each). Failover time: from the
   kill until the group's committed offset of every partition the killed worker held has
   moved (the survivor processes them). The group notices a dead member after
   ``ENTBRAIN_KAFKA__SESSION_TIMEOUT_SECONDS`` (10 s by default), which bounds it below.

The workers run with their default settings (stall watchdog on, standby replicas 1).
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, TopicPartition
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from config import Settings
from schemas.state_codec import state_json
from simulator import SimulationConfig, simulate
from streams import broker
from streams.harness import (
    WorkerProcess,
    fresh_group,
    isolated_env,
    pair_envs,
    read_topic,
    settings_from,
    settled,
)
from streams.produce import produce_all
from streams.send_times import stamped

console = Console(width=110)
TARGET_SPEEDUP = 1.6
# Test-only settings of the harness's isolated environment: the bench runs the defaults.
_NOT_DEFAULTS = ("ENTBRAIN_SINK__BATCH_MAX_SECONDS", "ENTBRAIN_WORKER__STALL_SECONDS")


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)  # fmt: skip


def _environment(tmp: Path, bootstrap: str, partitions: int) -> dict[str, str]:
    env = isolated_env(tmp, bootstrap, partitions=partitions)
    for name in _NOT_DEFAULTS:
        env.pop(name)
    return env


def consumed(workers: list[WorkerProcess]) -> int:
    total = 0
    for worker in workers:
        try:
            total += worker.counts()["consumed"]
        except OSError:
            pass
    return total


def run_throughput(env: dict[str, str], tmp: Path, events: int, workers: int) -> dict[str, Any]:
    """Events/s of ``workers`` workers (1 or 2) over the backlog on ``env``'s input topics."""
    group = fresh_group(env, tmp)
    settings = settings_from(group)
    envs = list(pair_envs(group, tmp / group["ENTBRAIN_WORKER__APP_ID"])) if workers == 2 else [group]
    procs = [
        WorkerProcess(e, tmp / f"{group['ENTBRAIN_WORKER__APP_ID']}-{n}.log") for n, e in enumerate(envs)
    ]
    started = time.monotonic()
    try:
        with _progress() as progress:
            task = progress.add_task(f"{workers} worker{'s' if workers > 1 else ''}", total=events)
            for proc in procs:
                proc.start()
            while not (consumed(procs) >= events and settled(settings)):
                progress.update(task, completed=min(consumed(procs), events))
                if time.monotonic() - started > 1800:
                    raise TimeoutError(f"{workers} worker(s) did not finish in 30 min")
                time.sleep(0.5)
            progress.update(task, completed=events)
        seconds = time.monotonic() - started
    finally:
        for proc in procs:
            proc.stop()
    return {"workers": workers, "events": events, "seconds": round(seconds, 1), "events_per_s": round(events / seconds),
            "app_id": settings.worker.app_id}  # fmt: skip


def final_scores(bootstrap: str, app_id: str) -> dict[str, dict[str, Any]]:
    """Every enterprise's current scores, from the latest values of the state changelog."""
    scores: dict[str, dict[str, Any]] = {}
    for msg in read_topic(bootstrap, f"{app_id}-enterprise_state-changelog", timeout=120):
        if msg.value() is not None:
            scores[msg.key().decode()] = orjson.loads(state_json(msg.value())).get("scores") or {}
    return scores


def compare_scores(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """How far two runs' scores are apart: equal tiers and lists, composite and dimension gaps.

    >>> s = {"x": {"tier": "A", "lists": ["k"], "composite": 50.0, "dims": [10.0, 20.0]}}
    >>> t = {"x": {"tier": "A", "lists": [], "composite": 52.0, "dims": [10.0, 23.0]}}
    >>> r = compare_scores(s, t)
    >>> r["tiers_equal"], r["lists_equal"], r["composite_abs_diff"]["max"], r["dimension_abs_diff"]["max"]
    (1.0, 0.0, 2.0, 3.0)
    """
    common = sorted(set(a) & set(b))
    composite = [abs(a[u].get("composite", 0.0) - b[u].get("composite", 0.0)) for u in common]
    dims = [
        abs(x - y) for u in common for x, y in zip(a[u].get("dims", []), b[u].get("dims", []), strict=False)
    ]

    def summary(values: list[float]) -> dict[str, float]:
        if not values:
            return {"mean": 0.0, "p95": 0.0, "max": 0.0}
        ordered = sorted(values)
        return {"mean": round(statistics.fmean(values), 2), "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
                "max": round(ordered[-1], 2)}  # fmt: skip

    return {
        "enterprises": len(common),
        "tiers_equal": round(sum(a[u].get("tier") == b[u].get("tier") for u in common) / max(1, len(common)), 4),
        "lists_equal": round(sum(sorted(a[u].get("lists", [])) == sorted(b[u].get("lists", [])) for u in common)
                             / max(1, len(common)), 4),
        "composite_abs_diff": summary(composite),
        "dimension_abs_diff": summary(dims),
    }  # fmt: skip


def committed(settings: Settings, partitions: list[int]) -> dict[tuple[str, int], int]:
    consumer = Consumer({"bootstrap.servers": settings.kafka.bootstrap_servers, "group.id": settings.worker.app_id,
                         "enable.auto.commit": False})  # fmt: skip
    try:
        tps = [TopicPartition(t, p) for t in settings.kafka.topics.inputs() for p in partitions]
        return {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(tps, timeout=10)}
    finally:
        consumer.close()


def failover_once(
    owner: WorkerProcess, relay: WorkerProcess, settings: Settings, timeout: float = 120.0
) -> float:
    """SIGKILL ``relay`` (once it processes partitions); seconds until each of them moves on."""
    relay.wait_for(lambda: bool(relay.health()["partitions"]) and relay.counts()["consumed"] > 0,
                   what="the second worker processing partitions")  # fmt: skip
    moved = relay.health()["partitions"]
    before = committed(settings, moved)
    relay.kill()
    killed = time.monotonic()
    # A partition the stream did not reach since the kill counts as moved once it is assigned.
    while time.monotonic() - killed < timeout:
        now = committed(settings, moved)
        advanced = {p for (topic, p), offset in now.items() if offset > before[(topic, p)]}
        if set(moved) <= advanced:
            return time.monotonic() - killed
        time.sleep(0.2)
    raise TimeoutError(f"partitions {moved} did not move within {timeout:.0f}s of the kill")


def run_failover(
    env: dict[str, str], tmp: Path, kills: int, rate: float, config: SimulationConfig
) -> dict[str, Any]:
    group = fresh_group(env, tmp)
    settings = settings_from(group)
    owner_env, relay_env = pair_envs(group, tmp / group["ENTBRAIN_WORKER__APP_ID"])
    stream = threading.Thread(target=produce_all, args=(settings, list(stamped(simulate(config)))),
                              kwargs={"rate": rate, "show_progress": False}, daemon=True)  # fmt: skip
    owner = WorkerProcess(owner_env, tmp / "failover-owner.log").start()
    times: list[float] = []
    stream.start()
    try:
        with _progress() as progress:
            task = progress.add_task("SIGKILLs", total=kills)
            for n in range(kills):
                relay = WorkerProcess(relay_env, tmp / f"failover-relay{n}.log").start()
                times.append(failover_once(owner, relay, settings))
                progress.advance(task)
    finally:
        owner.stop()
    return {"kills": kills, "seconds": [round(t, 2) for t in times], "p50": round(statistics.median(times), 2),
            "session_timeout_seconds": settings.kafka.session_timeout_seconds}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scaleout", description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=400)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--rate", type=float, default=300.0, help="events/s of the stream during the kills")
    parser.add_argument("--workdir", type=Path, default=Path(".data/bench/scaleout"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    base = Settings()
    broker.started_for_process(base)
    tmp = (args.workdir / time.strftime("%Y%m%d-%H%M%S")).resolve()
    tmp.mkdir(parents=True)
    env = _environment(tmp, base.kafka.bootstrap_servers, partitions=4)
    config = SimulationConfig(enterprises=args.enterprises, months=args.months, seed=args.seed)
    report = produce_all(settings_from(env), list(stamped(simulate(config))), label="producing the park")
    one = run_throughput(env, tmp, report.produced, workers=1)
    again = run_throughput(env, tmp, report.produced, workers=1)
    two = run_throughput(env, tmp, report.produced, workers=2)
    speedup = two["events_per_s"] / one["events_per_s"]
    bootstrap = base.kafka.bootstrap_servers
    scores = {run["app_id"]: final_scores(bootstrap, run["app_id"]) for run in (one, again, two)}
    differences = {
        "one_vs_one_again": compare_scores(scores[one["app_id"]], scores[again["app_id"]]),
        "one_vs_two": compare_scores(scores[one["app_id"]], scores[two["app_id"]]),
    }
    failover = run_failover(env, tmp, args.kills, args.rate, config)
    result = {"one_worker": one, "one_worker_again": again, "two_workers": two, "speedup": round(speedup, 2),
              "target_speedup": TARGET_SPEEDUP, "scores": differences, "failover": failover,
              "cores": len(os.sched_getaffinity(0))}  # fmt: skip
    console.print(
        f"one worker: {one['events_per_s']} events/s ({one['events']} events in {one['seconds']} s)"
    )
    console.print(f"two workers: {two['events_per_s']} events/s ({two['seconds']} s) → ×{speedup:.2f} "
                  f"(target ×{TARGET_SPEEDUP}) {'[green]met' if speedup >= TARGET_SPEEDUP else '[red]not met'}")  # fmt: skip
    for name, diff in differences.items():
        console.print(
            f"scores {name.replace('_', ' ')}: tiers equal {diff['tiers_equal']:.1%}, lists equal "
            f"{diff['lists_equal']:.1%}, composite |Δ| mean {diff['composite_abs_diff']['mean']} "
            f"p95 {diff['composite_abs_diff']['p95']} max {diff['composite_abs_diff']['max']}, "
            f"dimension |Δ| mean {diff['dimension_abs_diff']['mean']} p95 {diff['dimension_abs_diff']['p95']}"
        )
    console.print(f"failover after SIGKILL: p50 {failover['p50']} s over {args.kills} kills {failover['seconds']} "
                  f"(session timeout {failover['session_timeout_seconds']} s)")  # fmt: skip
    if args.json:
        args.json.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
