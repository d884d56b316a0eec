"""Live traffic and a backlog give the same alerts.

One simulated park (with anomalies) goes through two fresh stacks on the real broker:

* **live** — the worker runs first and the park is produced in business-time order at an
  operating rate (``--rate``, events/s), as the departments' systems would send it;
* **backlog** — the whole park is produced first and the worker starts afterwards, so every
  input topic is a full backlog (an ``entbrain ingest`` of a year, a rebuild, a new worker
  catching up).

Both carry the same record timestamps (the business send time, :mod:`streams.send_times`).
Compared: the sets of (USCC, alert type, business month) in ``alert_events``; printed as
their Jaccard index and the counts, with ``--json FILE`` as keys ``jaccard``,
``live_alerts``, ``backlog_alerts`` (and the examples of each side's extras).

    python -m bench.backlog --enterprises 1000 --months 12 --json backlog.json
"""

from __future__ import annotations

import argparse
import re
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from config import Settings
from simulator import SimulationConfig, simulate
from streams import broker
from streams.harness import WorkerProcess, isolated_env
from streams.produce import produce_all
from streams.send_times import stamped

AlertKey = tuple[str, str, int]  # (uscc, alert type, business month as YYYYMM)

ALERT_KEYS_SQL = "SELECT DISTINCT uscc, alert_type, toYYYYMM(occurred_at) FROM alert_events"


@dataclass
class BacklogComparison:
    enterprises: int
    months: int
    seed: int
    partitions: int
    rate: float
    events: int
    live: set[AlertKey] = field(default_factory=set)
    backlog: set[AlertKey] = field(default_factory=set)
    seconds: dict[str, float] = field(default_factory=dict)
    unaligned: dict[str, dict[str, float]] = field(default_factory=dict)  # run → reason → releases

    @property
    def jaccard(self) -> float:
        union = self.live | self.backlog
        return len(self.live & self.backlog) / len(union) if union else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "enterprises": self.enterprises, "months": self.months, "seed": self.seed,
            "partitions": self.partitions, "rate": self.rate, "events": self.events,
            "jaccard": round(self.jaccard, 6), "live_alerts": len(self.live), "backlog_alerts": len(self.backlog),
            "only_live": sorted(self.live - self.backlog)[:20], "only_backlog": sorted(self.backlog - self.live)[:20],
            "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
            "unaligned_releases": self.unaligned,
        }  # fmt: skip


def park_messages(enterprises: int, months: int, seed: int) -> list[tuple[str, bytes, bytes, int]]:
    """The park's records with their send timestamps (ms), in production order."""
    config = SimulationConfig(enterprises=enterprises, months=months, seed=seed)
    return list(stamped(simulate(config)))


def _alert_keys(worker: WorkerProcess) -> set[AlertKey]:
    return {(str(u), str(t), int(m)) for u, t, m in worker.query(ALERT_KEYS_SQL)}


def unaligned_releases(worker: WorkerProcess) -> dict[str, float]:
    """The worker's records released without full event-time alignment, by reason."""
    req = urllib.request.Request(f"{worker.settings.web.base_url}/metrics")
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - the local worker
        lines = resp.read().decode().splitlines()
    found = (re.match(r'entbrain_aligner_unaligned_releases\{reason="(\w+)"\} (\S+)', line) for line in lines)
    return {m.group(1): float(m.group(2)) for m in found if m}


def follow(worker: WorkerProcess, total: int, label: str, progress: Progress, timeout: float) -> None:
    task = progress.add_task(label, total=total)
    """Show ``worker``'s progress until it consumed ``total`` records (fail on exit or ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            consumed = worker.counts()["consumed"]
        except OSError:
            consumed = 0
        progress.update(task, completed=min(consumed, total))
        if consumed >= total:
            return
        if worker.proc is not None and worker.proc.poll() is not None:
            raise RuntimeError(f"{label}: the worker exited; see {worker.log}")
        time.sleep(0.5)
    raise TimeoutError(f"{label}: {worker.counts()['consumed']} of {total} events consumed after {timeout:.0f} s")


Outcome = tuple[set[AlertKey], float, dict[str, float]]


def run_live(
    workdir: Path, bootstrap: str, messages: list[tuple[str, bytes, bytes, int]], rate: float, partitions: int,
    progress: Progress, timeout: float, extra_env: dict[str, str],
) -> Outcome:  # fmt: skip
    env = isolated_env(workdir / "live", bootstrap, partitions=partitions) | extra_env
    worker = WorkerProcess(env, workdir / "live-worker.log").start()
    try:
        started = time.monotonic()
        producer = threading.Thread(
            target=produce_all, args=(worker.settings, messages),
            kwargs={"rate": rate, "show_progress": False}, daemon=True,
        )  # fmt: skip
        producer.start()
        follow(worker, len(messages), "live: produced while the worker runs", progress, timeout)
        producer.join()
        return _alert_keys(worker), time.monotonic() - started, unaligned_releases(worker)
    finally:
        worker.stop()


def run_backlog(
    workdir: Path, bootstrap: str, messages: list[tuple[str, bytes, bytes, int]], partitions: int,
    progress: Progress, timeout: float, extra_env: dict[str, str],
) -> Outcome:  # fmt: skip
    env = isolated_env(workdir / "backlog", bootstrap, partitions=partitions) | extra_env
    worker = WorkerProcess(env, workdir / "backlog-worker.log")
    produce_all(worker.settings, messages, total=len(messages), label="backlog: producing the whole park")
    worker.start()
    try:
        started = time.monotonic()
        follow(worker, len(messages), "backlog: worker catching up", progress, timeout)
        return _alert_keys(worker), time.monotonic() - started, unaligned_releases(worker)
    finally:
        worker.stop()


def compare(
    workdir: Path, enterprises: int, months: int, seed: int = 7, rate: float = 1000.0, partitions: int = 4,
    timeout: float = 3600.0, console: Console | None = None, extra_env: dict[str, str] | None = None,
) -> BacklogComparison:  # fmt: skip
    """Run the park live and as a backlog on two fresh stacks; return both alert sets."""
    base = Settings()
    broker.started_for_process(base)
    messages = park_messages(enterprises, months, seed)
    result = BacklogComparison(enterprises, months, seed, partitions, rate, len(messages))
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console or Console(stderr=True)) as progress:
        bootstrap, extra = base.kafka.bootstrap_servers, extra_env or {}
        result.live, result.seconds["live"], result.unaligned["live"] = run_live(
            workdir, bootstrap, messages, rate, partitions, progress, timeout, extra
        )
        result.backlog, result.seconds["backlog"], result.unaligned["backlog"] = run_backlog(
            workdir, bootstrap, messages, partitions, progress, timeout, extra
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backlog", description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=1000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s of the live run")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--workdir", type=Path, help="keep the workers' logs and data here (default: a temporary "
                        "directory, removed afterwards)")  # fmt: skip
    args = parser.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="entbrain-backlog-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        result = compare(workdir, args.enterprises, args.months, args.seed, args.rate, args.partitions,
                         console=console)  # fmt: skip
    report = result.as_dict()
    console.print(f"{result.events} events, {args.enterprises} enterprises × {args.months} months, "
                  f"{args.partitions} partitions, live at {args.rate:.0f} events/s")  # fmt: skip
    console.print(f"alerts (USCC, type, business month): live {report['live_alerts']}, "
                  f"backlog {report['backlog_alerts']}, Jaccard {report['jaccard']:.4f}")  # fmt: skip
    console.print(f"records released without full alignment: {report['unaligned_releases']}")
    for side in ("only_live", "only_backlog"):
        if report[side]:
            console.print(f"{side}: {report[side][:5]}")
    if args.json:
        args.json.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
