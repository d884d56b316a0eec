"""How long a rebuild takes: a whole park reprocessed from the beginning after `entbrain rebuild`.

A simulated park is produced once into fresh topics; a worker processes it (the first run),
stops; :func:`streams.rebuild.rebuild` moves the group back and discards the changelog and
the model checkpoint (what ``entbrain rebuild --yes`` does); a new worker reprocesses
everything (the rebuild). Printed: events, seconds and events/s of both runs (the first run
is the baseline measured in the same session), and whether the rebuild left the same
ClickHouse results (row counts of the derived tables, FINAL).

    python -m bench.rebuild --enterprises 5000 --months 12 --json rebuild.json
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.backlog import follow, park_messages
from config import Settings
from streams import broker
from streams.harness import WorkerProcess, isolated_env
from streams.produce import produce_all
from streams.rebuild import rebuild

TABLES = ("events", "dead_letters", "enterprise_snapshot", "scores", "alerts", "alert_events", "list_changes")


def _run(env: dict[str, str], log: Path, total: int, label: str, progress: Progress) -> tuple[float, dict[str, int]]:
    worker = WorkerProcess(env, log).start()
    try:
        started = time.monotonic()
        follow(worker, total, label, progress, timeout=6 * 3600)
        seconds = time.monotonic() - started
        rows = {t: int(worker.query(f"SELECT count() FROM {t} FINAL")[0][0]) for t in TABLES}
        return seconds, rows
    finally:
        worker.stop()


def measure(workdir: Path, enterprises: int, months: int, seed: int, partitions: int, console: Console) -> dict[str, Any]:
    base = Settings()
    broker.started_for_process(base)
    messages = park_messages(enterprises, months, seed)
    env = isolated_env(workdir, base.kafka.bootstrap_servers, partitions=partitions)
    worker_settings = WorkerProcess(env, workdir / "unused.log").settings
    produce_all(worker_settings, messages, total=len(messages), label="producing the park")
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        first, first_rows = _run(env, workdir / "first.log", len(messages), "first run", progress)
        rebuild(worker_settings)
        again, again_rows = _run(env, workdir / "rebuild.log", len(messages), "rebuild", progress)
    return {
        "enterprises": enterprises, "months": months, "seed": seed, "partitions": partitions,
        "events": len(messages),
        "first_run": {"seconds": round(first, 1), "events_per_second": round(len(messages) / first, 1)},
        "rebuild": {"seconds": round(again, 1), "events_per_second": round(len(messages) / again, 1)},
        "rebuild_to_first_ratio": round(first / again, 3),
        "same_rows": first_rows == again_rows, "rows": {"first": first_rows, "rebuild": again_rows},
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rebuild", description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=5000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="entbrain-rebuild-") as tmp:
        report = measure(Path(tmp), args.enterprises, args.months, args.seed, args.partitions, console)
    console.print(f"{report['events']} events ({args.enterprises} enterprises × {args.months} months, "
                  f"{args.partitions} partitions)")  # fmt: skip
    for run in ("first_run", "rebuild"):
        console.print(f"{run}: {report[run]['seconds']} s, {report[run]['events_per_second']} events/s")
    console.print(f"rebuild speed / first run speed: {report['rebuild_to_first_ratio']}; "
                  f"same ClickHouse rows: {report['same_rows']}")  # fmt: skip
    if args.json:
        args.json.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return 0 if report["same_rows"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
