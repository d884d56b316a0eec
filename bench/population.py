"""A large population in one worker: memory and disk per enterprise, load and recovery times.

``python -m bench.population [--enterprises N] [--months M] [--store rocksdb://|memory://]
[--checkpoint-seconds S] [--trace FILE] [--max-rss-gb G] [--max-load-seconds T] [--json FILE]``

A simulated park (registration and monthly filings, no daily e-invoices) is produced to
4 partitions; one worker with the given table store loads it (time until every input is
committed and every row written). Then: the worker's resident memory above what it held
once started, the disk its table store (RocksDB) and its models checkpoint take, and the changelog, each per
enterprise; then the worker is stopped (SIGTERM) and started again, and the time until it
is ready (``/ready``: the table recovered) is the recovery time.

A long load can be followed while it runs and kept if it is cut short: ``--trace`` appends
one JSON line every 30 s (seconds, events consumed, resident MB); ``--max-rss-gb`` stops the
load (and reports it) before the worker's memory would crowd the machine;
``--max-load-seconds`` ends the load at a time budget and still measures the recovery of
what was loaded (the report then says how many events were consumed).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from config import Settings
from simulator import SimulationConfig, simulate
from streams import broker
from streams.harness import WorkerProcess, isolated_env, settings_from, settled
from streams.produce import produce_all
from streams.send_times import stamped

console = Console(width=110)
_NOT_DEFAULTS = ("ENTBRAIN_SINK__BATCH_MAX_SECONDS", "ENTBRAIN_WORKER__STALL_SECONDS")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def disk_bytes(path: Path) -> int:
    """Space allocated on disk (RocksDB preallocates files beyond what they hold): a file, or a directory's files.

    >>> disk_bytes(Path("/nonexistent"))
    0
    """
    if path.is_file():
        return path.stat().st_blocks * 512
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def consumed(worker: WorkerProcess) -> int:
    """Events the worker consumed (0 while its web server is too busy to answer)."""
    try:
        return int(worker.counts()["consumed"])
    except OSError:
        return 0


def is_ready(worker: WorkerProcess) -> bool:
    try:
        return bool(worker.get_json("/ready").get("ready"))
    except OSError:  # 503 while not ready
        return False


def run(tmp: Path, enterprises: int, months: int, store: str, seed: int, checkpoint_seconds: float = 0.0,
        trace_file: Path | None = None, max_rss_gb: float = 20.0,
        max_load_seconds: float | None = None) -> dict[str, Any]:  # fmt: skip
    base = Settings()
    broker.started_for_process(base)
    env = isolated_env(tmp, base.kafka.bootstrap_servers, partitions=4)
    for name in _NOT_DEFAULTS:
        env.pop(name)
    env["ENTBRAIN_WORKER__TABLE_STORE"] = store
    env["ENTBRAIN_WORKER__CHECKPOINT_SECONDS"] = str(checkpoint_seconds)
    settings = settings_from(env)
    config = SimulationConfig(enterprises=enterprises, months=months, seed=seed, daily_invoices=False)
    produced = produce_all(settings, stamped(simulate(config)), label="producing the park").produced
    worker = WorkerProcess(env, tmp / "worker.log").start(timeout=300)
    assert worker.proc is not None
    rss_start = rss_bytes(worker.proc.pid)
    trace: list[tuple[int, int]] = []
    started = time.monotonic()
    last_trace = started - 30.0
    stopped_at_rss = False
    with Progress(TextColumn("[bold]loading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:  # fmt: skip
        task = progress.add_task("load", total=produced)
        marks = [produced * q // 4 for q in (1, 2, 3)]
        while not (consumed(worker) >= produced and settled(settings)):
            done = consumed(worker)
            progress.update(task, completed=min(done, produced))
            while marks and done >= marks[0]:  # resident memory along the load: its slope, not one point
                trace.append((marks.pop(0), rss_bytes(worker.proc.pid)))
            rss = rss_bytes(worker.proc.pid)
            if trace_file is not None and time.monotonic() - last_trace >= 30.0:
                last_trace = time.monotonic()
                line = {"seconds": round(last_trace - started), "consumed": done, "rss_mb": round(rss / 2**20)}
                with trace_file.open("ab") as out:
                    out.write(orjson.dumps(line) + b"\n")
            if rss > max_rss_gb * 2**30:
                stopped_at_rss = True
                break
            if max_load_seconds is not None and time.monotonic() - started > max_load_seconds:
                break
            time.sleep(1.0)
        progress.update(task, completed=produced)
    load_seconds = time.monotonic() - started
    rss_loaded = rss_bytes(worker.proc.pid)
    if stopped_at_rss:
        loaded = consumed(worker)
        worker.stop()
        console.print(f"stopped: resident memory {rss_loaded / 2**30:.1f} GB > --max-rss-gb {max_rss_gb}")
        return {"enterprises": enterprises, "months": months, "store": store, "events": produced,
                "stopped_at_max_rss": True, "consumed": loaded, "load_seconds": round(load_seconds, 1),
                "rss_start_mb": round(rss_start / 2**20, 1), "rss_at_stop_mb": round(rss_loaded / 2**20, 1),
                "rss_mb_by_quarter": [round(rss / 2**20, 1) for _, rss in trace]}  # fmt: skip
    loaded = consumed(worker) if max_load_seconds is not None else produced
    trace.append((loaded, rss_loaded))
    store_dir = settings.worker.data_dir / settings.worker.app_id
    models_bytes = disk_bytes(store_dir / "models.pkl")
    store_bytes = disk_bytes(store_dir) - models_bytes
    worker.stop()
    changelog = sum(  # the segments' records (index files are preallocated)
        p.stat().st_size
        for p in base.kafka_data_dir.rglob(f"{settings.worker.app_id}-enterprise_state-changelog-*/*.log")
    )
    restarted = time.monotonic()
    again = WorkerProcess(env, tmp / "worker-again.log").start(timeout=600)
    while not is_ready(again):
        time.sleep(0.5)
    recovery_seconds = time.monotonic() - restarted
    again.stop()
    return {
        "enterprises": enterprises, "months": months, "store": store, "events": produced,
        "checkpoint_seconds": checkpoint_seconds, "consumed": loaded, "load_complete": loaded >= produced,
        "load_seconds": round(load_seconds, 1), "events_per_s": round(loaded / load_seconds),
        "rss_start_mb": round(rss_start / 2**20, 1), "rss_loaded_mb": round(rss_loaded / 2**20, 1),
        "memory_bytes_per_enterprise": round((rss_loaded - rss_start) / enterprises),
        # resident MB when a quarter, half, three quarters and all of the events were consumed:
        # nearly every enterprise registers in the first quarter, so the later steps are the
        # growth with each enterprise's filings and the models' learning, not with new enterprises
        "rss_mb_by_quarter": [round(rss / 2**20, 1) for _, rss in trace],
        "store_disk_bytes_per_enterprise": round(store_bytes / enterprises),
        "models_checkpoint_bytes_per_enterprise": round(models_bytes / enterprises),
        "changelog_bytes_per_enterprise": round(changelog / enterprises),
        "recovery_seconds": round(recovery_seconds, 1),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.population", description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--store", default="rocksdb://")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--checkpoint-seconds", type=float, default=0.0,
                        help="ENTBRAIN_WORKER__CHECKPOINT_SECONDS (0: the models pickled every batch)")
    parser.add_argument("--trace", type=Path, help="append a JSON line of progress and memory every 30 s")
    parser.add_argument("--max-rss-gb", type=float, default=20.0, help="stop the load beyond this resident memory")
    parser.add_argument("--max-load-seconds", type=float, help="end the load after this long, then measure recovery")
    parser.add_argument("--workdir", type=Path, default=Path(".data/bench/population"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    tmp = (args.workdir / time.strftime("%Y%m%d-%H%M%S")).resolve()
    tmp.mkdir(parents=True)
    result = run(tmp, args.enterprises, args.months, args.store, args.seed, args.checkpoint_seconds,
                 args.trace, args.max_rss_gb, args.max_load_seconds)  # fmt: skip
    for key, value in result.items():
        console.print(f"{key}: {value}")
    if args.json:
        args.json.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
