"""The settings object and its sections."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TopicNames(_Section):
    """Kafka topic names. The three input topics are co-partitioned by USCC."""

    registration: str = "enterprise.registration"
    tax: str = "enterprise.tax"
    social_security: str = "enterprise.social_security"
    scores: str = "enterprise.scores"
    alerts: str = "enterprise.alerts"
    deadletter: str = "enterprise.deadletter"
    lists: str = "enterprise.lists"

    def inputs(self) -> tuple[str, str, str]:
        return (self.registration, self.tax, self.social_security)

    def for_kind(self, kind: str) -> str:
        """The input topic that carries events of ``kind``."""
        return str(getattr(self, kind))


class KafkaSettings(_Section):
    bootstrap_servers: str = "127.0.0.1:9092"
    partitions: int = Field(default=4, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    topics: TopicNames = TopicNames()
    # How long the group waits for a crashed worker before handing its partitions on.
    session_timeout_seconds: float = Field(default=10.0, ge=6.0)
    heartbeat_interval_seconds: float = Field(default=2.0, gt=0)


class ClickHouseSettings(_Section):
    """Where ClickHouse is: ``chdb://<dir>`` (embedded engine) or ``http://host:8123``."""

    url: str = f"chdb://{REPO_ROOT / '.data' / 'clickhouse'}"
    database: str = "entbrain"

    @property
    def embedded(self) -> bool:
        return self.url.startswith("chdb:")


class SinkSettings(_Section):
    """Batching of the ClickHouse sink and of the worker's input."""

    batch_max_events: int = Field(default=2000, ge=1)
    batch_max_seconds: float = Field(default=1.0, gt=0)
    retry_initial_seconds: float = Field(default=0.5, gt=0)
    retry_max_seconds: float = Field(default=30.0, gt=0)


class WorkerSettings(_Section):
    app_id: str = "entbrain"
    data_dir: Path = REPO_ROOT / ".data" / "worker"
    table_store: str = "memory://"
    recent_event_ids: int = Field(default=64, ge=1)
    # No progress this long with input waiting → re-seek to the committed offsets (0 = off).
    stall_seconds: float = Field(default=30.0, ge=0)
    # How often the online models are saved, in the commit protocol's step 3 (0 = every batch,
    # so a crash re-derives exactly the outputs it had sent).
    checkpoint_seconds: float = Field(default=0.0, ge=0)
    # Event-time alignment of the co-partitioned inputs: longest wait for a lagging partition,
    # and most records held per partition group before releasing without waiting.
    align_max_idle_seconds: float = Field(default=2.0, ge=0)
    align_max_held: int = Field(default=50_000, ge=1)
    # Fault injection for tests: ``<failpoint>[@N]`` exits hard at that commit-protocol
    # boundary of the N-th batch (streams/commit.py); empty = off.
    failpoint: str = ""


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=6066, ge=1, le=65535)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


class Settings(BaseSettings):
    """All settings of entbrain; environment variables ``ENTBRAIN_<SECTION>__<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="ENTBRAIN_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    kafka: KafkaSettings = KafkaSettings()
    clickhouse: ClickHouseSettings = ClickHouseSettings()
    sink: SinkSettings = SinkSettings()
    worker: WorkerSettings = WorkerSettings()
    web: WebSettings = WebSettings()
    kafka_home: Path = REPO_ROOT / ".kafka"  # the broker's jars (lib/)
    kafka_data_dir: Path = REPO_ROOT / ".data" / "kafka"  # the local broker's storage, config, log
