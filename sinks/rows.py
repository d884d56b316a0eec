"""Pure conversions from entbrain's models to ClickHouse rows (dicts keyed by column)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from schemas import (
    Alert,
    DeadLetter,
    EnterpriseState,
    Event,
    InvoiceSummary,
    ListChange,
    ScoreUpdate,
    TaxFiling,
    business_month,
)

Row = dict[str, Any]


def event_row(
    event: Event, topic: str, partition: int, offset: int, payload: bytes, ingested_at: datetime
) -> Row:
    record = event.record if isinstance(event, TaxFiling | InvoiceSummary) else ""
    return {
        "event_id": event.event_id,
        "uscc": event.uscc,
        "kind": event.kind,
        "record": record,
        "occurred_at": event.occurred_at,
        "business_month": _month_start(event),
        "source": event.source,
        "schema_version": event.schema_version,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "payload": payload.decode("utf-8", errors="replace"),
        "ingested_at": ingested_at,
        "identified_by": event.resolved_from.partition(":")[0] if event.resolved_from else "",
    }


def _month_start(event: Event) -> date:
    """The first day of the event's business month (:func:`schemas.business_month`).

    >>> from schemas import InvoiceSummary
    >>> _month_start(InvoiceSummary.model_construct(date=date(2026, 3, 17)))
    datetime.date(2026, 3, 1)
    """
    if isinstance(event, InvoiceSummary):  # most events: no formatting and parsing back
        return event.date.replace(day=1)
    return date.fromisoformat(business_month(event) + "-01")


def dead_letter_row(letter: DeadLetter) -> Row:
    first = letter.reasons[0] if letter.reasons else {"message": "", "type": ""}
    return {
        "topic": letter.topic,
        "partition": letter.partition,
        "offset": letter.offset,
        "key": letter.key,
        "original": letter.original,
        "reason": first.get("message", ""),
        "reasons": orjson.dumps(letter.reasons).decode(),
        "error_type": first.get("type", ""),
        "received_at": letter.received_at,
    }


def _money(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(round(value, 2)))


def snapshot_row(state: EnterpriseState) -> Row:
    """The enterprise's latest state with its current scores (``state.scores``)."""
    summary = state.scores
    dims = summary.dims if summary is not None and len(summary.dims) == 5 else [0.0] * 5
    industry = state.industry_code or ""
    return {
        "uscc": state.uscc,
        "name": state.name or "",
        "district_code": state.district_code or "",
        "in_park": state.in_park,
        "industry_code": industry,
        "industry_section": industry[:1],
        "status": state.status,
        "latest_revenue": _money(state.latest_revenue()),
        "latest_headcount": state.latest_headcount(),
        "registration_events": state.counts.get("registration", 0),
        "tax_events": state.counts.get("tax", 0),
        "social_security_events": state.counts.get("social_security", 0),
        "composite": summary.composite if summary else 0.0,
        "tier": summary.tier if summary else "",
        "scale": dims[0],
        "development": dims[1],
        "profitability": dims[2],
        "financing": dims[3],
        "innovation": dims[4],
        "open_alerts": len(state.open_alerts),
        "provenance": orjson.dumps({f: p.model_dump(mode="json") for f, p in state.provenance.items()}).decode(),
        "state_version": state.applied,
        "updated_at": state.updated_at,
        "lists": list(summary.lists) if summary else [],
        "exit_risk": summary.exit_risk if summary else None,
        "forecast_revenue": summary.fc_revenue[1] if summary and summary.fc_revenue else None,
        "forecast_headcount": summary.fc_headcount[1] if summary and summary.fc_headcount else None,
    }


def score_row(score: ScoreUpdate, state_version: int) -> Row:
    dims = score.dimensions
    return {
        "uscc": score.uscc,
        "state_version": state_version,
        "scored_at": score.scored_at,
        "scale": dims.scale,
        "development": dims.development,
        "profitability": dims.profitability,
        "financing": dims.financing,
        "innovation": dims.innovation,
        "composite": score.composite,
        "tier": score.tier,
        "model_version": score.model_version,
        "config_version": score.config_version,
        "contributions": orjson.dumps(score.contributions).decode(),
        "percentiles": orjson.dumps(score.percentiles).decode(),
        "peer_group": score.peer_group,
        "lists": list(score.lists),
        "exit_risk": score.exit_risk,
        "forecast_revenue": score.forecast_revenue,
        "forecast_revenue_period": score.forecast_revenue_period or "",
        "forecast_headcount": score.forecast_headcount,
        "forecast_headcount_period": score.forecast_headcount_period or "",
    }


def list_change_row(change: ListChange) -> Row:
    return {
        "uscc": change.uscc,
        "list_name": change.list_name,
        "change": change.change,
        "changed_at": change.changed_at,
        "composite": change.composite,
        "event_id": change.event_id,
        "evidence": orjson.dumps(change.evidence).decode(),
        "config_version": change.config_version,
    }


def alert_row(alert: Alert, district_code: str | None) -> Row:
    return {
        "alert_id": alert.alert_id,
        "uscc": alert.uscc,
        "alert_type": alert.alert_type,
        "state": alert.state.value,
        "severity": alert.severity.value,
        "title_zh": alert.title_zh,
        "title_en": alert.title_en,
        "explanation_zh": alert.explanation_zh,
        "explanation_en": alert.explanation_en,
        "evidence": orjson.dumps(alert.evidence, default=str).decode(),
        "event_ids": list(alert.event_ids),
        "rule": alert.rule,
        "config_version": alert.config_version,
        "district_code": district_code or "",
        "occurred_at": alert.occurred_at,
        "emitted_at": alert.emitted_at,
        "version": alert.version,
    }
