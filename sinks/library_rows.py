"""ClickHouse rows of the one library: the identity table, parked (unmatched) events, data-quality findings."""

from __future__ import annotations

from datetime import datetime

import orjson

from schemas.identity import IdentityRecord, ParkedEvent
from schemas.quality import QualityFinding
from sinks.rows import Row


def identity_row(record: IdentityRecord) -> Row:
    scheme, _, value = record.identifier.partition(":")
    return {
        "identifier": record.identifier,
        "scheme": scheme,
        "value": value,
        "uscc": record.uscc,
        "origin": record.origin,
        "source": record.source,
        "event_id": record.event_id or "",
        "learned_at": record.learned_at,
    }


def unmatched_row(parked: ParkedEvent, uscc: str | None = None, released_at: datetime | None = None) -> Row:
    """The parked event; with ``uscc`` and ``released_at``, its release (a later version)."""
    released = uscc is not None and released_at is not None
    return {
        "identifier": parked.identifier,
        "named": parked.named,
        "event_id": parked.event_id,
        "origin": parked.origin,
        "topic": parked.topic,
        "kind": parked.kind,
        "source": parked.source,
        "occurred_at": parked.occurred_at,
        "reason": parked.reason,
        "parked_at": parked.parked_at,
        "status": "released" if released else "parked",
        "uscc": uscc or "",
        "released_at": released_at,
        "delay_seconds": (released_at - parked.parked_at).total_seconds() if released_at else 0.0,
        "version": 2 if released else 1,
        "payload": parked.payload,
    }


def finding_row(finding: QualityFinding) -> Row:
    return {
        "finding_id": finding.finding_id,
        "uscc": finding.uscc,
        "check": finding.check.value,
        "severity": finding.severity.value,
        "subject": finding.subject,
        "sources": finding.sources,
        "event_ids": finding.event_ids,
        "evidence": orjson.dumps(finding.evidence).decode(),
        "explanation_zh": finding.explanation_zh,
        "explanation_en": finding.explanation_en,
        "occurred_at": finding.occurred_at,
        "detected_at": finding.detected_at,
    }
