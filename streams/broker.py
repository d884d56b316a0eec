"""A real single-node Apache Kafka broker (KRaft, broker+controller) run from Maven jars.

Lifecycle: ``fetch_jars`` (Maven, cached in ``.kafka/lib``) → ``format_storage`` (once per
data directory) → ``start`` (detached ``java kafka.Kafka``, PID file, waits until the broker
answers metadata requests) → ``stop`` (SIGTERM by PID, SIGKILL after a grace period).
Starting a running broker is a no-op. The data directory survives restarts.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from config import REPO_ROOT, Settings
from streams.errors import BrokerError

POM = REPO_ROOT / "scripts" / "kafka" / "pom.xml"
LOG4J = REPO_ROOT / "scripts" / "kafka" / "log4j2.yaml"


@dataclass(frozen=True)
class BrokerPaths:
    home: Path  # jars live in home/lib
    data: Path  # log dirs, config, pid and log file

    @property
    def lib(self) -> Path:
        return self.home / "lib"

    @property
    def config(self) -> Path:
        return self.data / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.data / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.data / "broker.log"

    @property
    def log_dirs(self) -> Path:
        return self.data / "logs"


def paths_for(settings: Settings) -> BrokerPaths:
    return BrokerPaths(home=settings.kafka_home, data=settings.kafka_data_dir)


def host_port(bootstrap: str) -> tuple[str, int]:
    first = bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit():
        raise BrokerError(f"bootstrap server {first!r} is not host:port")
    return host, int(port)


def server_properties(paths: BrokerPaths, host: str, port: int) -> str:
    controller = port + 1
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers={host}:{controller}",
            f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}",
            f"advertised.listeners=PLAINTEXT://{host}:{port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={paths.log_dirs}",
            "num.partitions=4",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=true",
            "log.retention.hours=-1",
            "",
        ]
    )


def fetch_jars(paths: BrokerPaths) -> None:
    """Copy the broker's jars from Maven into ``home/lib`` unless they are there already."""
    if paths.lib.is_dir() and any(paths.lib.glob("kafka_2.13-*.jar")):
        return
    paths.lib.mkdir(parents=True, exist_ok=True)
    cmd = [
        "mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
        f"-DoutputDirectory={paths.lib}",
    ]  # fmt: skip
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True)  # noqa: S603
    except FileNotFoundError:
        raise BrokerError("Maven (mvn) is not installed; it is needed to fetch Kafka's jars") from None
    except subprocess.CalledProcessError as exc:
        raise BrokerError(f"fetching Kafka's jars with Maven failed:\n{exc.stdout}\n{exc.stderr}") from None


def _java(paths: BrokerPaths, main: str, *args: str, heap: str = "256m") -> list[str]:
    return [
        "java", f"-Xmx{heap}", f"-Xms{heap}",
        f"-Dlog4j2.configurationFile={LOG4J}",
        "-cp", f"{paths.lib}/*", main, *args,
    ]  # fmt: skip


def format_storage(paths: BrokerPaths, host: str, port: int) -> None:
    paths.data.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(server_properties(paths, host, port))
    if (paths.log_dirs / "meta.properties").exists():
        return
    uuid = subprocess.run(  # noqa: S603
        _java(paths, "kafka.tools.StorageTool", "random-uuid"),
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    result = subprocess.run(  # noqa: S603
        _java(paths, "kafka.tools.StorageTool", "format", "-t", uuid, "-c", str(paths.config), "--standalone"),
        capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise BrokerError(f"formatting KRaft storage failed:\n{result.stdout}\n{result.stderr}")


def running_pid(paths: BrokerPaths) -> int | None:
    try:
        pid = int(paths.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    # a zombie or a recycled PID would not have our cmdline
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid
    return pid if b"kafka.Kafka" in cmdline else None


def reachable(bootstrap: str, timeout: float = 1.0) -> bool:
    """True if something accepts TCP connections on the bootstrap address."""
    host, port = host_port(bootstrap)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def ready(bootstrap: str, timeout: float = 2.0) -> bool:
    """True if the broker answers a metadata request (not just a TCP accept)."""
    from confluent_kafka.admin import AdminClient

    if not reachable(bootstrap):
        return False
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        meta = admin.list_topics(timeout=timeout)
    except Exception:  # noqa: BLE001 - any failure means "not ready yet"
        return False
    return bool(meta.brokers)


def start(settings: Settings, wait_seconds: float = 90.0) -> int:
    """Start the broker unless it already runs; return its PID."""
    paths = paths_for(settings)
    pid = running_pid(paths)
    if pid is not None:
        return pid
    host, port = host_port(settings.kafka.bootstrap_servers)
    if reachable(settings.kafka.bootstrap_servers):
        raise BrokerError(f"{host}:{port} is taken by another process; stop it or change ENTBRAIN_KAFKA__BOOTSTRAP_SERVERS")
    fetch_jars(paths)
    format_storage(paths, host, port)
    log = paths.log_file.open("ab")
    proc = subprocess.Popen(  # noqa: S603
        _java(paths, "kafka.Kafka", str(paths.config), heap="512m"),
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    paths.pid_file.write_text(str(proc.pid))
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BrokerError(f"the broker exited with code {proc.returncode}; see {paths.log_file}")
        if ready(settings.kafka.bootstrap_servers):
            return proc.pid
        time.sleep(0.5)
    stop(settings)
    raise BrokerError(f"the broker did not become ready in {wait_seconds:.0f}s; see {paths.log_file}")


def ensure_started(settings: Settings) -> bool:
    """Start the local broker unless one already answers; True if this call started it."""
    if ready(settings.kafka.bootstrap_servers):
        return False
    start(settings)
    return True


def started_for_process(settings: Settings) -> bool:
    """:func:`ensure_started`, and a broker this call started is stopped when the process exits
    (a benchmark leaves the machine as it found it)."""
    started = ensure_started(settings)
    if started:
        atexit.register(stop, settings)
    return started


def stop(settings: Settings, grace_seconds: float = 30.0) -> bool:
    """Stop the broker by PID; return False if none was running."""
    paths = paths_for(settings)
    pid = running_pid(paths)
    if pid is None:
        paths.pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if running_pid(paths) is None or _reaped(pid):
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    paths.pid_file.unlink(missing_ok=True)
    return True


def _reaped(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == pid
