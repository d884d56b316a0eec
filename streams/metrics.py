"""Worker counters, exposed at ``/metrics`` (Prometheus) and ``/health`` (JSON).

Invariant over the input: consumed = applied + duplicates + dead_lettered + parked. Legacy-keyed
events make it longer to count: the main agent ``forwards`` them to the resolver, which
``resolves`` each one (re-keyed onto its input topic, so consumed a second time), ``parks`` it, or
finds it parked already (a ``duplicate``); a parked event is later ``released`` (re-keyed too).
With these counters: consumed − resolved − released = applied + duplicate + dead_letter +
(parked − released), the last term being the events still parked.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

OUTCOMES = ("applied", "duplicate", "dead_letter", "forwarded")
RESOLVER_OUTCOMES = ("resolved", "parked", "released", "learned")  # and "duplicate"


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
        self.verdicts = Gauge(
            "entbrain_verdicts_learned", "Operators' verdicts the rules have learned from enterprise.verdicts",
            registry=self.registry,
        )
        self.held = Gauge(
            "entbrain_aligner_held_records", "Input records held for event-time alignment", registry=self.registry
        )
        self.flow_paused = Gauge(
            "entbrain_input_partitions_paused", "Input partitions not fetched while their aligner queue is full",
            registry=self.registry,
        )
        self.silent_seeks = Counter(
            "entbrain_silent_partition_seeks", "Input partitions with records to fetch that delivered none "
            "for the alignment's max idle time, seeked to their next offset", registry=self.registry,
        )
        self.orphaned_pauses = Counter(
            "entbrain_orphaned_pauses", "Input partitions faust left paused after a rebalance, resumed",
            registry=self.registry,
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

    def count(self, topic: str, outcome: str, n: int = 1) -> None:
        self.consumed.labels(topic).inc(n)
        self.outcomes.labels(outcome).inc(n)
        self._counts["consumed"] += n
        self._counts[outcome] += n

    def count_all(self, counted: Iterable[tuple[str, str]]) -> None:
        """Count a batch's ``(topic, outcome)`` pairs: one increment per distinct pair."""
        for (topic, outcome), n in collections.Counter(counted).items():
            self.count(topic, outcome, n)

    def resolver(self, outcome: str) -> None:
        self.resolver_outcomes.labels(outcome).inc()
        self._counts[outcome] += 1

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def unaligned(self) -> dict[str, int]:
        """Records released without full event-time alignment, by reason (``out_of_order``:
        arrived after a later record had gone)."""
        return {s.labels["reason"]: int(s.value) for m in self.aligner_releases.collect() for s in m.samples}

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
