"""The settings object and its sections."""

from __future__ import annotations

import socket
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr
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
    # Identity resolution: legacy-keyed events on their way to the resolver (keyed by
    # identifier), the identity table (compacted, keyed by identifier), and parked events.
    resolve: str = "enterprise.resolve"
    identities: str = "enterprise.identities"
    unmatched: str = "enterprise.unmatched"
    # Alert delivery: subscriptions and silences (compacted, keyed by id), the delivery
    # ledger (compacted, keyed by idempotency key) and notifications past the retry budget.
    subscriptions: str = "enterprise.subscriptions"
    silences: str = "enterprise.silences"
    notifications_ledger: str = "enterprise.notifications.ledger"
    notifications_deadletter: str = "enterprise.notifications.deadletter"
    # Embedded ClickHouse with several workers: the rows of the workers that do not hold the
    # chDB directory, on their way to the one that does (one partition: one writer, in order).
    rows: str = "enterprise.rows"
    # Operators' verdicts on alerts (one partition, kept forever): every worker reads all of
    # them, in one order, to recalibrate the rules (detectors/verdicts.py).
    verdicts: str = "enterprise.verdicts"

    def compacted(self) -> tuple[str, str, str, str]:
        """Topics that hold the latest value per key (``cleanup.policy=compact``)."""
        return (self.subscriptions, self.silences, self.notifications_ledger, self.identities)

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
    # How long the worker's fetch waits at the broker for records to arrive (faust fixes
    # 1.5 s): a partition whose records are being taken is fetched again only after the fetch
    # in flight, and the merge's questions to the broker queue behind it.
    fetch_max_wait_seconds: float = Field(default=0.1, gt=0, le=1.5)
    # Connection security, the same for every client (confluent-kafka, aiokafka/Faust).
    security_protocol: str = Field(default="PLAINTEXT", pattern="^(PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL)$")
    sasl_mechanism: str = Field(default="PLAIN", pattern="^(PLAIN|SCRAM-SHA-256|SCRAM-SHA-512)$")
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None


class ClickHouseSettings(_Section):
    """Where ClickHouse is: ``chdb://<dir>`` (embedded engine) or ``http://host:8123``."""

    url: str = f"chdb://{REPO_ROOT / '.data' / 'clickhouse'}"
    database: str = "entbrain"
    username: str | None = None  # a server's user (overrides one in the URL)
    password: SecretStr | None = None
    # Ad-hoc SQL (``entbrain query``, ``/api/query``): on a server, a read-only user of its
    # own (dashboards/clickhouse-users.xml); embedded, the limits below and readonly=1.
    query_username: str | None = None
    query_password: SecretStr | None = None
    query_max_rows: int = Field(default=100_000, ge=1)
    query_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    query_max_seconds: float = Field(default=30.0, gt=0)

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
    # rocksdb:// only, per table partition (one database each): the block cache of read
    # blocks and the size of one write buffer (two are kept). faust's defaults (2 GB and
    # 3 × 64 MB) let four partitions grow to 8.8 GB; the states' SST files stay in the
    # operating system's page cache, which gives memory back under pressure.
    rocksdb_block_cache_mb: int = Field(default=64, ge=1)
    rocksdb_write_buffer_mb: int = Field(default=16, ge=1)
    # Workers that keep a copy of each table partition they do not own (from its changelog),
    # so a failover resumes from that copy instead of replaying the whole changelog.
    standby_replicas: int = Field(default=1, ge=0)
    # Embedded ClickHouse (chDB) is held by one process. Empty: this worker opens it. A URL:
    # the web address of the worker that holds it; this worker then sends its rows through
    # the rows topic (commit step 1) and redirects ClickHouse-backed requests there.
    clickhouse_owner_url: str = ""
    # The holder of chDB also writes the rows the other workers send (``clickhouse_owner_url``).
    accept_relayed_rows: bool = False
    recent_event_ids: int = Field(default=64, ge=1)
    # Decoded states kept between batches (≈ 21 KB each), so an enterprise seen again is not
    # decoded again: 0 decodes every state from the table every batch.
    state_cache: int = Field(default=10_000, ge=0)
    # The cyclic garbage collector's young-generation threshold (Python's default: 700). The
    # worker holds a large heap of long-lived objects (decoded states, models), and with the
    # default every few hundred events set off a collection that walks far more than the
    # garbage; what is loaded at the start is frozen out of the collections too. 0 keeps
    # Python's own settings (streams.gc_policy).
    gc_young_threshold: int = Field(default=50_000, ge=0)
    # No progress this long with input waiting → re-seek to the committed offsets (0 = off).
    stall_seconds: float = Field(default=30.0, ge=0)
    # How often the online models are saved, in the commit protocol's step 3 (0 = every batch,
    # so a crash re-derives exactly the outputs it had sent).
    checkpoint_seconds: float = Field(default=0.0, ge=0)
    # Event-time alignment of the inputs: longest wait for a lagging partition, records held in
    # one partition's queue before its fetching pauses (until half of them went; lowered so that
    # every owned queue full stays within the most held), and most records held in all before
    # the earliest goes without waiting (the last resort).
    align_max_idle_seconds: float = Field(default=30.0, ge=0)
    align_queue_limit: int = Field(default=4_000, ge=2)
    align_max_held: int = Field(default=50_000, ge=1)
    align_settle_seconds: float = Field(default=0.2, ge=0)
    # Live, past the settle time a record passes a caught-up partition only once the broker
    # confirms that partition's end (asked after the settle time); at most this much longer.
    align_confirm_seconds: float = Field(default=2.0, ge=0)
    # Several workers in a group, during a backlog: how many records a worker may release past
    # the close period of the others' earliest frontier, whose learning its scores then may
    # lack, until that frontier moves (streams/alignment.py; 0: the same scores as one worker).
    group_lead_records: int = Field(default=0, ge=0)
    # Fault injection for tests: ``<failpoint>[@N]`` exits hard at that commit-protocol
    # boundary of the N-th batch (streams/commit.py); empty = off.
    failpoint: str = ""
    # Fault injection for tests: every ClickHouse insert fails for this long after the first.
    insert_outage_seconds: float = Field(default=0.0, ge=0)
    # Fault injection for tests: the assignment signal is handled this much later, so that
    # faust's recovery of the tables ends first (as it can when the changelogs are empty).
    assignment_delay_seconds: float = Field(default=0.0, ge=0)


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=6066, ge=1, le=65535)
    max_request_bytes: int = Field(default=256 * 1024, ge=1024)  # larger bodies get 413
    # Where people reach the dashboard; notifications link to <public_url>/#/enterprise/<uscc>.
    public_url: str = "http://127.0.0.1:6066"

    @property
    def loopback(self) -> bool:
        """Bound to the loopback interface only (no other machine can connect)."""
        return self.host in ("127.0.0.1", "localhost", "::1")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def advertised_url(self) -> str:
        """Where the other workers reach this one (Faust's ``canonical_url``, for table routes).

        Bound to every interface, the worker is reached by its host name (a container's name).
        """
        host = socket.gethostname() if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"


class NotifierSettings(_Section):
    """Alert delivery to subscribers (streams/notifier.py, sinks/channels.py)."""

    enabled: bool = True
    subscriptions_file: Path = REPO_ROOT / "config" / "subscriptions.yaml"  # seeds an empty topic
    timeout_seconds: float = Field(default=10.0, gt=0)  # one HTTP attempt
    retry_initial_seconds: float = Field(default=1.0, gt=0)
    retry_max_seconds: float = Field(default=300.0, gt=0)  # longest wait between attempts
    max_age_seconds: float = Field(default=3600.0, gt=0)  # then the notification is dead-lettered
    max_in_flight: int = Field(default=1000, ge=1)  # unsettled alert messages before pausing
    # Notifications one webhook or kafka subscription has in flight at once (one per
    # enterprise, each enterprise's in order); group robots and grouping windows send one at a time.
    parallel_per_subscription: int = Field(default=8, ge=1)
    watchlist_refresh_seconds: float = Field(default=300.0, gt=0)  # dynamic watch-lists


class LogSettings(_Section):
    """Log output of the worker: ``text`` for people, ``json`` (one object a line) for collectors."""

    format: str = Field(default="text", pattern="^(text|json)$")


class Role(StrEnum):
    """Who may do what on the worker's web API; each role includes the ones below it."""

    VIEWER = "viewer"  # dashboard and read APIs, personal data masked
    OPERATOR = "operator"  # silences, acknowledgements, subscriptions, replay / backtest
    ADMIN = "admin"  # ad-hoc SQL, personal data unmasked

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class AuthSettings(_Section):
    """Bearer tokens per role (comma-separated, so a token can be rotated without downtime).

    Without a token a request is refused (401), unless the worker listens on the loopback
    interface only and ``local_access`` is on: then it gets ``local_role``.
    """

    viewer_tokens: SecretStr = SecretStr("")
    operator_tokens: SecretStr = SecretStr("")
    admin_tokens: SecretStr = SecretStr("")
    local_access: bool = True
    local_role: Role = Role.ADMIN
    client_token: SecretStr | None = None  # what the CLI sends (default: the first admin token)

    def tokens(self, role: Role) -> list[str]:
        secret = {Role.VIEWER: self.viewer_tokens, Role.OPERATOR: self.operator_tokens,
                  Role.ADMIN: self.admin_tokens}[role]  # fmt: skip
        return [t.strip() for t in secret.get_secret_value().split(",") if t.strip()]

    def cli_token(self) -> str | None:
        if self.client_token is not None and self.client_token.get_secret_value():
            return self.client_token.get_secret_value()
        admin = self.tokens(Role.ADMIN)
        return admin[0] if admin else None


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
    auth: AuthSettings = AuthSettings()
    notifier: NotifierSettings = NotifierSettings()
    log: LogSettings = LogSettings()
    kafka_home: Path = REPO_ROOT / ".kafka"  # the broker's jars (lib/)
    kafka_data_dir: Path = REPO_ROOT / ".data" / "kafka"  # the local broker's storage, config, log
