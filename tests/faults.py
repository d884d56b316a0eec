"""The fault suite: kill the worker while a simulated park streams in, then compare with the oracle.

``python -m tests.faults`` (``make faults``) streams a simulated park into a real broker
while one worker after another processes it; each worker is killed — with SIGKILL at a
random moment, or by a commit-protocol failpoint (``after_rows``, ``after_outputs``,
``after_state``, ``before_commit``) — and the next one starts. After the last kill a
worker runs to the end. Then:

* every enterprise state holds exactly the events the offline oracle (:mod:`tests.oracle`)
  applies — counts, series, profile, positions — nothing lost, nothing applied twice,
* the ``events``, ``dead_letters`` and ``enterprise_snapshot`` tables hold exactly the
  oracle's rows (``FINAL`` counts),
* repeated messages of an (alert_id, version) on the alerts topic are byte-identical.

What depends on the order the records were applied in — scores, the alert lifecycle, the
window of recent event ids — is compared and reported, not asserted: with records
produced while the workers run, the worker's merge of the three inputs does not yet
always reproduce the oracle's order.

It prints the time to recover after each kill (kill → first batch of the next worker)
and the duplicate alert messages per kill; ``--json FILE`` writes the report.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import Progress

from config import Settings
from simulator import SimulationConfig, simulate
from streams import broker
from streams.commit import FAILPOINTS
from streams.harness import WorkerProcess, isolated_env, settings_from
from streams.produce import produce_all
from streams.send_times import stamped
from tests.oracle import ORDER_FIELDS, alerts_on_topic, expected_results, state_differences, worker_states


@dataclass
class Kill:
    how: str  # "sigkill" or a failpoint name
    at: float = 0.0  # seconds after the worker was ready (sigkill) / batch number (failpoint)
    recovery_seconds: float | None = None


@dataclass
class FaultReport:
    enterprises: int
    months: int
    seed: int
    partitions: int
    messages: int
    kills: list[Kill] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    alert_versions: int = 0
    alert_messages: int = 0
    duplicate_alert_messages: int = 0
    states: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    # Reported, not asserted: what depends on the order records were applied in (see
    # tests/oracle.ORDER_FIELDS) — the live merge of the inputs is not yet exact.
    order_differences: int = 0
    order_rows: dict[str, tuple[int | None, int]] = field(default_factory=dict)
    alert_versions_missing: int = 0
    alert_versions_extra: int = 0

    @property
    def recovery(self) -> dict[str, float]:
        times = sorted(k.recovery_seconds for k in self.kills if k.recovery_seconds is not None)
        if not times:
            return {}
        return {"p50": statistics.median(times), "p90": times[min(len(times) - 1, int(0.9 * len(times)))]}

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["recovery_seconds"] = self.recovery
        out["duplicate_alert_messages_per_kill"] = self.duplicate_alert_messages / max(1, len(self.kills))
        return out


def kill_plan(kills: int, rng: random.Random) -> list[Kill]:
    """Each failpoint once (at a random early batch), the rest SIGKILLs at random moments."""
    plan = [Kill(name, float(rng.randint(2, 6))) for name in FAILPOINTS[: min(kills, len(FAILPOINTS))]]
    plan += [Kill("sigkill", rng.uniform(1.0, 6.0)) for _ in range(kills - len(plan))]
    rng.shuffle(plan)
    return plan


def _first_progress(worker: WorkerProcess, since: float, timeout: float = 120.0) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if worker.counts()["consumed"] > 0:
                return time.monotonic() - since
        except OSError:
            pass
        if worker.proc is not None and worker.proc.poll() is not None:
            return None
        time.sleep(0.1)
    return None


def all_committed(settings: Settings) -> bool:
    """The group's committed offsets have reached the end of every input partition."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    consumer = Consumer({"bootstrap.servers": settings.kafka.bootstrap_servers, "group.id": settings.worker.app_id})
    try:
        lag = 0
        for topic in settings.kafka.topics.inputs():
            tps = [TopicPartition(topic, p) for p in range(settings.kafka.partitions)]
            for tp in consumer.committed(tps, timeout=10):
                high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)[1]
                lag += high - max(tp.offset, 0)
        return lag == 0
    except KafkaException:  # e.g. the group coordinator still loading after a broker restart
        return False
    finally:
        consumer.close()


def run(
    workdir: Path, enterprises: int, months: int, seed: int, kills: int, partitions: int = 1, rate: float | None = None,
    console: Console | None = None,
) -> FaultReport:  # fmt: skip
    console = console or Console(stderr=True)
    base = Settings()
    broker.ensure_started(base)
    env = isolated_env(workdir, base.kafka.bootstrap_servers, partitions=partitions)
    env["ENTBRAIN_SINK__BATCH_MAX_EVENTS"] = "500"
    settings = settings_from(env)
    config = SimulationConfig(enterprises=enterprises, months=months, seed=seed)
    messages = list(stamped(simulate(config)))
    report = FaultReport(enterprises, months, seed, partitions, len(messages))
    rate = rate or len(messages) / (12.0 * kills + 10.0)
    rng = random.Random(seed)
    plan = kill_plan(kills, rng)

    producer = threading.Thread(
        target=produce_all, args=(settings, messages), kwargs={"rate": rate, "show_progress": False}, daemon=True
    )
    producer.start()
    killed_at: float | None = None
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("kills", total=len(plan))
        for n, kill in enumerate(plan):
            worker_env = dict(env)
            if kill.how != "sigkill":
                worker_env["ENTBRAIN_WORKER__FAILPOINT"] = f"{kill.how}@{int(kill.at)}"
            worker = WorkerProcess(worker_env, workdir / f"worker{n}.log")
            worker.start()
            if killed_at is not None:
                plan[n - 1].recovery_seconds = _first_progress(worker, killed_at)
            if kill.how == "sigkill":
                time.sleep(kill.at)
                worker.kill()
            else:
                assert worker.proc is not None
                try:
                    worker.proc.wait(90)
                except subprocess.TimeoutExpired:  # the stream ended before that batch
                    kill.how += " (not reached: SIGKILL)"
                    worker.kill()
            killed_at = time.monotonic()
            progress.advance(task)
        final = WorkerProcess(env, workdir / "worker-final.log").start()
        if killed_at is not None and plan:
            plan[-1].recovery_seconds = _first_progress(final, killed_at)
        producer.join()
        finish(final, settings, report)
    report.kills = plan
    compare(report, settings, exact=partitions == 1)
    return report


def finish(final: WorkerProcess, settings: Settings, report: FaultReport) -> None:
    """Let ``final`` commit every input, read its ClickHouse row counts, stop it."""
    try:
        final.wait_for(lambda: all_committed(settings), timeout=900, what="every input committed")
        report.rows = {
            table: int(final.query(f"SELECT count() FROM {table} FINAL")[0][0])
            for table in ("events", "dead_letters", "enterprise_snapshot", "scores", "alerts", "alert_events",
                          "list_changes")
        }  # fmt: skip
    finally:
        final.stop()


def compare(report: FaultReport, settings: Settings, exact: bool) -> None:
    expected = expected_results(settings)
    actual = worker_states(settings)
    report.states = len(actual)
    if exact:
        report.problems += state_differences(expected.states, actual)[:20]
        report.order_differences = len(state_differences(expected.states, actual, fields="order"))
        for table, count in expected.rows.items():
            if table in ("scores", "list_changes", "alerts", "alert_events"):  # follow the order
                report.order_rows[table] = (report.rows.get(table), count)
            elif report.rows.get(table) != count:
                report.problems.append(f"table {table}: {report.rows.get(table)} rows, oracle {count}")
    else:
        for table in ("events", "dead_letters"):
            if report.rows.get(table) != expected.rows.get(table):
                report.problems.append(f"table {table}: {report.rows.get(table)} rows, oracle {expected.rows.get(table)}")
    seen = alerts_on_topic(settings)
    report.alert_versions = len(seen.versions)
    report.alert_messages = seen.messages
    report.duplicate_alert_messages = seen.duplicates
    if seen.conflicting:
        report.problems.append(f"{len(seen.conflicting)} alert versions sent with different contents, e.g. {seen.conflicting[0]}")
    if exact:
        report.alert_versions_missing = len(expected.alerts - seen.versions)
        report.alert_versions_extra = len(seen.versions - expected.alerts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=300)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--rate", type=float, help="events/s produced while the workers run "
                        "(default: the stream lasts about 12 s per kill)")
    parser.add_argument("--workdir", type=Path, default=Path(".data/faults"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    console = Console()
    args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = args.workdir / time.strftime("%Y%m%d-%H%M%S")
    workdir.mkdir()
    report = run(workdir, args.enterprises, args.months, args.seed, args.kills, args.partitions, args.rate, console)
    console.print(f"{report.messages} messages, {len(report.kills)} kills "
                  f"({', '.join(k.how for k in report.kills)}), {report.states} enterprise states")  # fmt: skip
    console.print(f"recovery after a kill (kill → first batch of the next worker): {report.recovery}")
    console.print(f"alert versions {report.alert_versions}, messages {report.alert_messages}, "
                  f"duplicates {report.duplicate_alert_messages} "
                  f"({report.as_dict()['duplicate_alert_messages_per_kill']:.2f} per kill)")  # fmt: skip
    console.print(f"ClickHouse rows (FINAL): {report.rows}")
    console.print(f"order-dependent (reported): states differing in {sorted(ORDER_FIELDS)}: {report.order_differences}; "
                  f"alert versions missing {report.alert_versions_missing}, not in the oracle "
                  f"{report.alert_versions_extra}; (worker, oracle) rows: {report.order_rows}")  # fmt: skip
    for problem in report.problems:
        console.print(f"[red]PROBLEM[/red] {problem}")
    if args.json:
        args.json.write_bytes(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2))
    console.print("[green]no problem found[/green]" if not report.problems else f"[red]{len(report.problems)} problems[/red]")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
