"""Worker counters, exposed at ``/metrics`` (Prometheus) and ``/health`` (JSON).

Invariant: consumed = applied + duplicates + dead_lettered.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

OUTCOMES = ("applied", "duplicate", "dead_letter")


class WorkerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.consumed = Counter(
            "entbrain_events_consumed", "Input messages consumed", ["topic"], registry=self.registry
        )
        self.outcomes = Counter(
            "entbrain_events_outcome", "Input messages by outcome", ["outcome"], registry=self.registry
        )
        self.alerts = Counter(
            "entbrain_alerts_emitted", "Alert versions emitted", ["state"], registry=self.registry
        )
        self.rows = Counter(
            "entbrain_clickhouse_rows_written", "Rows written to ClickHouse", registry=self.registry
        )
        self.sink_failures = Gauge(
            "entbrain_clickhouse_write_failures", "Failed ClickHouse writes (retried)", registry=self.registry
        )
        self.batch_seconds = Gauge(
            "entbrain_last_batch_seconds", "Seconds the last batch took", registry=self.registry
        )
        self.stalls = Counter(
            "entbrain_consumer_stalls", "Times the consumer was re-seeked after a stall", registry=self.registry
        )
        self.held = Gauge(
            "entbrain_aligner_held_records", "Input records held for event-time alignment", registry=self.registry
        )
        self.offset_gaps = Counter(
            "entbrain_offset_gaps", "Input records skipped by the consumer and read again", registry=self.registry
        )
        self.aligner_releases = Gauge(
            "entbrain_aligner_unaligned_releases", "Records released without full event-time alignment",
            ["reason"], registry=self.registry,
        )
        self._counts = {"consumed": 0, "applied": 0, "duplicate": 0, "dead_letter": 0}

    def count(self, topic: str, outcome: str, n: int = 1) -> None:
        self.consumed.labels(topic).inc(n)
        self.outcomes.labels(outcome).inc(n)
        self._counts["consumed"] += n
        self._counts[outcome] += n

    def count_all(self, counted: Iterable[tuple[str, str]]) -> None:
        """Count a batch's ``(topic, outcome)`` pairs: one increment per distinct pair."""
        for (topic, outcome), n in collections.Counter(counted).items():
            self.count(topic, outcome, n)

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
