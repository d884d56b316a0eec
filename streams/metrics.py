"""Worker counters, exposed at ``/metrics`` (Prometheus) and ``/health`` (JSON).

Invariant of the main agent: consumed = applied + duplicates + dead_lettered + forwarded (legacy-keyed
events sent to the resolver). The resolver turns each forwarded event into a ``resolved`` one
(re-keyed onto its input topic, consumed again) or a ``parked`` one, later ``released`` (re-keyed
too). Over the original input: consumed − resolved − released = applied + duplicates +
dead_lettered + (parked − released).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

OUTCOMES = ("applied", "duplicate", "dead_letter", "forwarded")
RESOLVER_OUTCOMES = ("resolved", "parked", "released", "learned")


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
        self.resolver_outcomes = Counter(
            "entbrain_resolver_outcome", "Resolver results: resolved, parked, released, identities learned",
            ["outcome"], registry=self.registry,
        )  # fmt: skip
        self._counts = dict.fromkeys(("consumed", *OUTCOMES, *RESOLVER_OUTCOMES), 0)

    def count(self, topic: str, outcome: str) -> None:
        self.consumed.labels(topic).inc()
        self.outcomes.labels(outcome).inc()
        self._counts["consumed"] += 1
        self._counts[outcome] += 1

    def resolver(self, outcome: str) -> None:
        self.resolver_outcomes.labels(outcome).inc()
        self._counts[outcome] += 1

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
