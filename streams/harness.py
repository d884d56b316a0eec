"""A worker in its own process with isolated topics, group and database.

For integration tests and benchmarks: each run gets its own topic names, app id (consumer
group, changelog), chDB directory and web port, so runs never see each other's data on a
shared broker.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaException, TopicPartition

from config import REPO_ROOT, Settings
from streams.kafka_admin import ensure_topics, make_producer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def isolated_env(tmp: Path, bootstrap: str, partitions: int = 2) -> dict[str, str]:
    tmp = tmp.resolve()  # a relative chdb:// path would read as a host and a database name
    tag = uuid.uuid4().hex[:10]
    return {
        "ENTBRAIN_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "ENTBRAIN_KAFKA__PARTITIONS": str(partitions),
        "ENTBRAIN_KAFKA__TOPICS__REGISTRATION": f"t{tag}.registration",
        "ENTBRAIN_KAFKA__TOPICS__TAX": f"t{tag}.tax",
        "ENTBRAIN_KAFKA__TOPICS__SOCIAL_SECURITY": f"t{tag}.social_security",
        "ENTBRAIN_KAFKA__TOPICS__SCORES": f"t{tag}.scores",
        "ENTBRAIN_KAFKA__TOPICS__ALERTS": f"t{tag}.alerts",
        "ENTBRAIN_KAFKA__TOPICS__DEADLETTER": f"t{tag}.deadletter",
        "ENTBRAIN_KAFKA__TOPICS__LISTS": f"t{tag}.lists",
        "ENTBRAIN_KAFKA__TOPICS__RESOLVE": f"t{tag}.resolve",
        "ENTBRAIN_KAFKA__TOPICS__IDENTITIES": f"t{tag}.identities",
        "ENTBRAIN_KAFKA__TOPICS__UNMATCHED": f"t{tag}.unmatched",
        "ENTBRAIN_KAFKA__TOPICS__ROWS": f"t{tag}.rows",
        "ENTBRAIN_KAFKA__TOPICS__VERDICTS": f"t{tag}.verdicts",
        "ENTBRAIN_KAFKA__TOPICS__SUBSCRIPTIONS": f"t{tag}.subscriptions",
        "ENTBRAIN_KAFKA__TOPICS__SILENCES": f"t{tag}.silences",
        "ENTBRAIN_KAFKA__TOPICS__NOTIFICATIONS_LEDGER": f"t{tag}.notifications.ledger",
        "ENTBRAIN_KAFKA__TOPICS__NOTIFICATIONS_DEADLETTER": f"t{tag}.notifications.deadletter",
        "ENTBRAIN_NOTIFIER__SUBSCRIPTIONS_FILE": str(tmp / "subscriptions.yaml"),  # absent: no seed
        "ENTBRAIN_WORKER__APP_ID": f"test-{tag}",
        "ENTBRAIN_WORKER__DATA_DIR": str(tmp / "worker"),
        "ENTBRAIN_CLICKHOUSE__URL": f"chdb://{tmp / 'clickhouse'}",
        "ENTBRAIN_WEB__PORT": str(free_port()),
        "ENTBRAIN_SINK__BATCH_MAX_SECONDS": "0.3",
        "ENTBRAIN_WORKER__STALL_SECONDS": "0",  # the tests pass without the last defence
    }


def settings_from(env: dict[str, str]) -> Settings:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return Settings()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class WorkerProcess:
    """``python -m streams worker`` with an isolated environment."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = {**os.environ, **env}
        self.settings = settings_from(env)
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> WorkerProcess:
        fh = self.log.open("ab")
        loglevel = self.env.get("ENTBRAIN_TEST_LOGLEVEL", "WARNING")
        self.proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "streams", "worker", "--loglevel", loglevel],
            env=self.env, stdout=fh, stderr=subprocess.STDOUT, cwd=REPO_ROOT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log.read_text()[-3000:]}")
            try:
                self.health()
                return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"worker did not start: {self.log.read_text()[-3000:]}")

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.settings.web.base_url}/health", timeout=2) as resp:  # noqa: S310
            return dict(orjson.loads(resp.read()))

    def counts(self) -> dict[str, int]:
        return dict(self.health()["counts"])

    def _headers(self) -> dict[str, str]:
        token = self.settings.auth.cli_token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    def query(self, sql: str) -> list[list[Any]]:
        req = urllib.request.Request(  # noqa: S310
            f"{self.settings.web.base_url}/api/query", data=orjson.dumps({"sql": sql}), method="POST",
            headers=self._headers(),
        )  # fmt: skip
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310
            return [list(r) for r in orjson.loads(resp.read())["rows"]]

    def get_json(self, path: str) -> Any:
        req = urllib.request.Request(f"{self.settings.web.base_url}{path}", headers=self._headers())  # noqa: S310
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            return orjson.loads(resp.read())

    def call(self, method: str, path: str, token: str, body: Any = None, timeout: float = 120.0) -> tuple[int, Any]:
        """One API request with ``token``: the status and the JSON answer (errors included)."""
        req = urllib.request.Request(  # noqa: S310
            f"{self.settings.web.base_url}{path}", method=method, headers={"Authorization": f"Bearer {token}"},
            data=orjson.dumps(body) if body is not None else None,
        )  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
                return resp.status, orjson.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, orjson.loads(exc.read())

    def _samples(self) -> list[Any]:
        """Every sample of the worker's ``/metrics``, read once."""
        from prometheus_client.parser import text_string_to_metric_families

        req = urllib.request.Request(f"{self.settings.web.base_url}/metrics", headers=self._headers())  # noqa: S310
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            text = resp.read().decode()
        return [sample for family in text_string_to_metric_families(text) for sample in family.samples]

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample of the worker's ``/metrics`` (0 when it has none yet)."""
        return _sample_value(self._samples(), name, labels)

    def batch_stages(self) -> dict[str, dict[str, float]]:
        """Per stage of a batch (``entbrain_batch_stage_seconds``): batches seen and mean seconds."""
        from streams.observability import BATCH_STAGES

        samples, out = self._samples(), {}
        for stage in BATCH_STAGES:
            count = _sample_value(samples, "entbrain_batch_stage_seconds_count", {"stage": stage})
            total = _sample_value(samples, "entbrain_batch_stage_seconds_sum", {"stage": stage})
            out[stage] = {"batches": int(count), "mean_s": round(total / count, 4) if count else float("nan")}
        return out

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 180.0, what: str = "condition") -> None:
        """Poll ``predicate`` until it is true; fail naming ``what`` and the counters."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"timed out waiting for {what}; counts={self._safe_counts()}")

    def _safe_counts(self) -> Any:
        try:
            return self.counts()
        except OSError as exc:
            return str(exc)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def produce(settings: Settings, messages: Iterable[tuple[str, str, bytes]]) -> int:
    """Produce ``(kind, uscc, value)`` to the isolated input topics; return how many."""
    ensure_topics(settings.kafka)
    producer = make_producer(settings.kafka)
    n = 0
    for kind, key, value in messages:
        producer.produce(settings.kafka.topics.for_kind(kind), key=key.encode(), value=value)
        n += 1
    if producer.flush(30) != 0:
        raise RuntimeError("messages still undelivered after 30 s")
    return n


def read_topic(bootstrap: str, topic: str, timeout: float = 30.0, expect: int | None = None) -> list[Any]:
    """Every message of ``topic`` from the beginning (each partition to its end)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})  # fmt: skip
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        parts = [TopicPartition(topic, p, 0) for p in meta.partitions]
        consumer.assign(parts)
        out: list[Any] = []
        deadline = time.monotonic() + timeout
        ends = {p.partition: consumer.get_watermark_offsets(p, timeout=10)[1] for p in parts}
        seen = dict.fromkeys(ends, 0)
        while time.monotonic() < deadline and any(seen[p] < ends[p] for p in ends):
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            out.append(msg)
            seen[int(msg.partition() or 0)] = int(msg.offset() or 0) + 1
        if expect is not None:
            if len(out) < expect:
                raise TimeoutError(f"{topic}: {len(out)} messages, expected {expect}")
        return out
    finally:
        consumer.close()


def fresh_group(env: dict[str, str], tmp: Path) -> dict[str, str]:
    """The same input topics; a new group, outputs, data dir, database and web port (under ``tmp/<tag>``)."""
    tag = uuid.uuid4().hex[:8]
    inputs = {f"ENTBRAIN_KAFKA__TOPICS__{kind}" for kind in ("REGISTRATION", "TAX", "SOCIAL_SECURITY")}
    outputs = {k: f"{v}.{tag}" for k, v in env.items() if k.startswith("ENTBRAIN_KAFKA__TOPICS__") and k not in inputs}
    return env | outputs | {
        "ENTBRAIN_WORKER__APP_ID": f"group-{tag}", "ENTBRAIN_WORKER__DATA_DIR": str(tmp / tag / "worker"),
        "ENTBRAIN_CLICKHOUSE__URL": f"chdb://{(tmp / tag / 'clickhouse').resolve()}",
        "ENTBRAIN_WEB__PORT": str(free_port()),
    }  # fmt: skip


def pair_envs(env: dict[str, str], tmp: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Two workers of one group on one machine (embedded ClickHouse): the first holds chDB and
    writes the rows the second relays to it (:mod:`streams.row_relay`)."""
    owner = env | {"ENTBRAIN_WORKER__ACCEPT_RELAYED_ROWS": "true"}
    relay = env | {
        "ENTBRAIN_WEB__PORT": str(free_port()),
        "ENTBRAIN_WORKER__DATA_DIR": str(tmp / "worker-2"),
        "ENTBRAIN_WORKER__CLICKHOUSE_OWNER_URL": settings_from(owner).web.base_url,
    }
    return owner, relay


def group_lag(bootstrap: str, group: str, topics: Iterable[str]) -> int:
    """Records of ``topics`` past the group's committed offsets (all partitions)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        lag = 0
        for topic in topics:
            meta = consumer.list_topics(topic, timeout=10).topics[topic]
            tps = [TopicPartition(topic, p) for p in meta.partitions]
            for tp in consumer.committed(tps, timeout=10):
                high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)[1]
                lag += high - max(tp.offset, 0)
        return lag
    finally:
        consumer.close()


def settled(settings: Settings) -> bool:
    """Every input committed by the group, and every relayed row written by the holder of chDB."""
    kafka, app_id = settings.kafka, settings.worker.app_id
    try:
        return (
            group_lag(kafka.bootstrap_servers, app_id, kafka.topics.inputs()) == 0
            and group_lag(kafka.bootstrap_servers, f"{app_id}.rows", [kafka.topics.rows]) == 0
        )
    except KafkaException:  # e.g. the group coordinator still loading
        return False


def _sample_value(samples: list[Any], name: str, labels: dict[str, str]) -> float:
    """The value of the sample named ``name`` with ``labels`` among ``samples`` (0 when there is none)."""
    for sample in samples:
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
            return float(sample.value)
    return 0.0
