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


def group_members(settings: Settings, workers: int) -> list[tuple[Settings, dict[str, str]]]:
    """The settings and environment of each of ``workers`` workers of one group on this machine.

    The first is the configured worker; the others get the next web ports and data
    directories of their own. With embedded ClickHouse the first holds chDB and the others
    relay their rows to it (streams.row_relay).
    """
    members: list[tuple[Settings, dict[str, str]]] = []
    relay = settings.clickhouse.embedded and workers > 1
    for n in range(workers):
        if n == 0:
            env = {"ENTBRAIN_WORKER__ACCEPT_RELAYED_ROWS": "true"} if relay else {}
            members.append((settings, env))
            continue
        port, data_dir = settings.web.port + n, settings.worker.data_dir / f"worker-{n + 1}"
        env = {"ENTBRAIN_WEB__PORT": str(port), "ENTBRAIN_WORKER__DATA_DIR": str(data_dir)}
        if relay:
            env["ENTBRAIN_WORKER__CLICKHOUSE_OWNER_URL"] = settings.web.base_url
        member = settings.model_copy(update={
            "web": settings.web.model_copy(update={"port": port}),
            "worker": settings.worker.model_copy(update={"data_dir": data_dir}),
        })  # fmt: skip
        members.append((member, env))
    return members


def local_members(settings: Settings) -> list[Settings]:
    """The configured worker and the further members ``demo --workers`` started beside it."""
    extra = sorted(settings.worker.data_dir.glob("worker-*/worker.pid"))
    return [settings] + [
        settings.model_copy(update={"worker": settings.worker.model_copy(update={"data_dir": pid.parent})})
        for pid in extra
    ]


def start_worker(settings: Settings, wait_seconds: float = 120.0, env: dict[str, str] | None = None) -> int:
    """Start ``entbrain worker`` detached (``env`` added to this environment); wait until
    ``/health`` answers; return its PID."""
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
        env={**os.environ, **(env or {})},
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
