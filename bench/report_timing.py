"""How long ``entbrain report`` takes on a simulated park.

``python -m bench.report_timing --enterprises 5000 --months 12`` produces a park (monthly
filings and registration changes, no daily e-invoices, to keep it short) to isolated topics,
runs a worker over it until every input is committed, then times ``entbrain report`` for the
park's last full month as HTML and as PDF, while the worker runs (the CLI asks the worker).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from config import REPO_ROOT, Settings
from schemas.state import month_index, month_text
from simulator import SimulationConfig, simulate
from streams.harness import WorkerProcess, isolated_env, settings_from
from streams.produce import produce_all
from streams.send_times import stamped


def lag(settings: Settings) -> int:
    consumer = Consumer({"bootstrap.servers": settings.kafka.bootstrap_servers, "group.id": settings.worker.app_id})
    try:
        total = 0
        for topic in settings.kafka.topics.inputs():
            tps = [TopicPartition(topic, p) for p in range(settings.kafka.partitions)]
            for tp in consumer.committed(tps, timeout=10):
                high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)[1]
                total += high - max(tp.offset, 0)
        return total
    finally:
        consumer.close()


def timed_report(env: dict[str, str], period: str, fmt: str, out: Path) -> float:
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "streams", "report", "--period", period, "--format", fmt, "--out", str(out)],
        env={**os.environ, **env}, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--enterprises", type=int, default=5000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    config = SimulationConfig(enterprises=args.enterprises, months=args.months, seed=args.seed, daily_invoices=False)
    period = month_text(month_index(config.resolved_end_month) - 1)
    with tempfile.TemporaryDirectory(prefix="entbrain-report-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        env = isolated_env(tmp, Settings().kafka.bootstrap_servers)
        settings = settings_from(env)
        messages = list(stamped(simulate(config)))
        report = produce_all(settings, messages, show_progress=False)
        worker = WorkerProcess(env, tmp / "worker.log").start(timeout=300)
        try:
            started = time.monotonic()
            while lag(settings) > 0:
                time.sleep(2)
            processed = time.monotonic() - started
            html_seconds = timed_report(env, period, "html", tmp / "report.html")
            pdf_seconds = timed_report(env, period, "pdf", tmp / "report.pdf")
            size = (tmp / "report.html").stat().st_size
        finally:
            worker.stop()
    print(f"park: {args.enterprises} enterprises × {args.months} months, {report.produced} events "
          f"(worker processed them in {processed:.0f} s); report {period}: "
          f"HTML {html_seconds:.1f} s ({size:,} bytes), PDF {pdf_seconds:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
