"""Run the mid-stream restart test (SIGKILL and SIGTERM) again and again: ``python -m tests.soak --runs 20``.

Each run is a fresh pytest process with its own temporary directory, against the local
broker (started once here if none answers). The watchdog that re-seeks a stalled consumer
is off in these tests (``ENTBRAIN_WORKER__STALL_SECONDS=0``), so a stall fails the run.
Prints each run's result and the tally; exits 1 unless every run passed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from config import REPO_ROOT, Settings
from streams import broker

TEST = "tests/integration/test_worker_restart.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--test", default=TEST, help="pytest node id to repeat")
    args = parser.parse_args(argv)
    console = Console()
    started_broker = broker.ensure_started(Settings())
    passed, seconds = 0, []
    try:
        with Progress(console=console) as progress:
            task = progress.add_task("soak", total=args.runs)
            for run in range(1, args.runs + 1):
                with tempfile.TemporaryDirectory(prefix="entbrain-soak-") as tmp:
                    began = time.monotonic()
                    result = subprocess.run(  # noqa: S603 - our own test suite
                        [sys.executable, "-m", "pytest", "-q", "-x", args.test, "--basetemp", str(Path(tmp) / "t")],
                        cwd=REPO_ROOT, capture_output=True, text=True,
                    )  # fmt: skip
                    seconds.append(time.monotonic() - began)
                ok = result.returncode == 0
                passed += ok
                last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
                progress.console.print(f"run {run}: {'[green]passed' if ok else '[red]FAILED'}[/] ({seconds[-1]:.0f}s) {last}")
                if not ok:
                    progress.console.print(result.stdout[-4000:])
                progress.advance(task)
    finally:
        if started_broker:
            broker.stop(Settings())
    console.print(f"{passed}/{args.runs} runs passed; median {sorted(seconds)[len(seconds) // 2]:.0f}s per run")
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
