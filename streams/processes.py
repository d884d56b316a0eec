"""Starting and stopping the worker as a background process (for ``demo`` and ``stop``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson

from config import Settings


def _pid_file(settings: Settings) -> Path:
    return settings.worker.data_dir / "worker.pid"


def log_file(settings: Settings) -> Path:
    return settings.worker.data_dir / "worker.log"


def health_pid(settings: Settings, timeout: float = 1.0) -> int | None:
    """The PID of the worker answering ``/health`` on the configured address, if any."""
    try:
        with urllib.request.urlopen(f"{settings.web.base_url}/health", timeout=timeout) as resp:  # noqa: S310
            return int(orjson.loads(resp.read()).get("pid", -1))
    except (urllib.error.URLError, OSError, ValueError):
        return None


def worker_pid(settings: Settings) -> int | None:
    try:
        pid = int(_pid_file(settings).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def start_worker(settings: Settings, wait_seconds: float = 120.0) -> int:
    """Start ``entbrain worker`` detached; wait until ``/health`` answers; return its PID."""
    pid = worker_pid(settings)
    answering = health_pid(settings)
    if pid is not None and answering == pid:
        return pid
    if answering is not None:
        raise RuntimeError(
            f"another worker (pid {answering}) answers on {settings.web.base_url}; "
            "stop it or set ENTBRAIN_WEB__PORT"
        )
    settings.worker.data_dir.mkdir(parents=True, exist_ok=True)
    log = log_file(settings).open("ab")
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "streams", "worker"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    _pid_file(settings).write_text(str(proc.pid))
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the worker exited with code {proc.returncode}; see {log_file(settings)}")
        if health_pid(settings) == proc.pid:
            return proc.pid
        time.sleep(0.5)
    raise RuntimeError(f"the worker did not answer /health in {wait_seconds:.0f}s; see {log_file(settings)}")


def stop_worker(settings: Settings, grace_seconds: float = 30.0) -> bool:
    pid = worker_pid(settings)
    if pid is None:
        _pid_file(settings).unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    _pid_file(settings).unlink(missing_ok=True)
    return True
