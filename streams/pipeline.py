"""The per-message processing, without Faust: decode → apply → detect → score → rows.

The agent in :mod:`streams.app` only moves bytes and state between Kafka, the table and
the sink; everything it decides comes from :func:`process_message`, so a backtest or a
benchmark runs the very same logic.

Order within one applied event: the rules see the state before and after the event (and
the revenue forecast made before this period's figures arrived); then the streaming series
detector (invoice summaries) and the peer-divergence detector; then the alert lifecycle;
then the scorer, which learns from the new state. Invoice summaries (most of the traffic)
update the state and the series detector but are not re-scored: scores move with filings
and register changes.

The ``enterprise_snapshot`` row (the latest state) is not built here: the batch builds it
once per enterprise from the state it ends with (:func:`streams.batch.process_batch`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime

from config.rules import RuleConfig, default_rules
from detectors import AlertContext, Finding, evaluate, transition
from detectors.features import enterprise_features
from detectors.list_notices import list_change_notice
from detectors.models import OnlineModels
from detectors.quality import contradictions
from detectors.rules import resolution
from detectors.scoring import list_changes
from detectors.scoring.scorer import Learning
from detectors.situations import situation_alerts
from detectors.verdicts import VerdictCalibration
from schemas import (
    Alert,
    DeadLetter,
    EnterpriseState,
    Event,
    EventRejected,
    InvoiceSummary,
    RegistrationEvent,
    RejectReason,
    ScoreUpdate,
    TaxFiling,
)
from schemas.decode import LegacyKeyed, decode_input
from schemas.identifiers import SCHEMES, derived_identifiers, routing_identifier
from schemas.identity import IdentityRecord, UnresolvedEvent
from schemas.outputs import ListChange
from sinks.library_rows import finding_row
from sinks.rows import (
    Row,
    alert_row,
    dead_letter_row,
    event_row,
    list_change_row,
    score_row,
)
from streams.state_update import apply_event

DEFAULT_RULES = default_rules()  # config/rules.yaml, the one source of the thresholds


@dataclass(frozen=True)
class RawMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: float | None = None  # the record's Kafka timestamp (seconds)


@dataclass
class Outcome:
    """What one message produced. ``state`` is None when nothing is to be stored."""

    status: str  # "applied" | "duplicate" | "dead_letter" | "forwarded" (to the resolver)
    uscc: str | None = None
    state: EnterpriseState | None = None
    score: ScoreUpdate | None = None
    alerts: list[Alert] = field(default_factory=list)
    list_changes: list[ListChange] = field(default_factory=list)
    notices: list[Alert] = field(default_factory=list)  # list changes, for subscribers (enterprise.alerts)
    dead_letter: DeadLetter | None = None
    rows: list[tuple[str, Row]] = field(default_factory=list)
    identities: list[IdentityRecord] = field(default_factory=list)  # facts for the identity table
    unresolved: UnresolvedEvent | None = None  # a legacy-keyed event, for the resolver
    learning: Learning | None = None  # what the scorer learned, for the other workers (streams.model_feed)


def _dead_letter(msg: RawMessage, rejected: EventRejected, now: datetime) -> Outcome:
    letter = DeadLetter(
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        key=msg.key.decode("utf-8", errors="replace") if msg.key is not None else None,
        original=base64.b64encode(msg.value or b"").decode(),
        reasons=[r.as_dict() for r in rejected.reasons],
        received_at=now,
    )
    return Outcome("dead_letter", dead_letter=letter, rows=[("dead_letters", dead_letter_row(letter))])


def peek_uscc(msg: RawMessage) -> str | None:
    return msg.key.decode("utf-8", errors="replace") if msg.key else None


def _model_findings(event: Event, before: EnterpriseState | None, after: EnterpriseState,
                    models: OnlineModels) -> list[Finding]:  # fmt: skip
    found: list[Finding] = []
    name = after.name or after.uscc
    if isinstance(event, InvoiceSummary):
        series = models.series.observe_invoice_day(after.uscc, name, event.date.isoformat(), float(event.amount))
        if series is not None:
            found.append(series)
        elif "invoice_anomaly" in after.open_alerts:
            found.append(resolution("invoice_anomaly", after))
    elif isinstance(event, TaxFiling) and event.tax_type == "vat":
        divergence = models.peers.observe(after, enterprise_features(after))
        if divergence is not None:
            found.append(divergence)
        elif "peer_divergence" in after.open_alerts:
            found.append(resolution("peer_divergence", after))
    return found


def process_message(
    msg: RawMessage,
    state: EnterpriseState | None,
    now: datetime,
    keep_ids: int = 64,
    rules: RuleConfig | None = None,
    models: OnlineModels | None = None,
    verdicts: VerdictCalibration | None = None,
) -> Outcome:
    position = f"{msg.topic}:{msg.partition}"
    if state is not None and msg.offset <= state.positions.get(position, -1):
        return Outcome("duplicate", uscc=state.uscc)  # redelivered: already applied, nothing changes
    decoded = decode_input(msg.value, now)
    if isinstance(decoded, EventRejected):
        return _dead_letter(msg, decoded, now)
    if isinstance(decoded, LegacyKeyed):
        return Outcome("forwarded", unresolved=unresolved_event(msg, decoded, now))
    key = peek_uscc(msg)
    if key != decoded.uscc:
        reason = RejectReason("uscc", f"message key {key!r} does not match the event's uscc", "key_mismatch")
        return _dead_letter(msg, EventRejected([reason]), now)
    new_state, applied = apply_event(state, decoded, now, keep_ids)
    new_state.positions[position] = msg.offset
    if not applied:
        return Outcome("duplicate", uscc=decoded.uscc, state=new_state)
    rules = rules or DEFAULT_RULES
    industry = models.industry.observe(new_state, decoded) if models is not None else None
    findings = evaluate(state, new_state, rules, decoded, verdicts, industry)
    if models is not None:
        findings += _model_findings(decoded, state, new_state, models)
    alerts: list[Alert] = []
    if findings:  # most events find nothing, and an empty transition changes nothing
        context = AlertContext(decoded.event_id, decoded.occurred_at, now, rules.version)
        alerts = transition(new_state, findings, context)
        alerts += situation_alerts(new_state, alerts, context)
    score = None
    learning = None
    changes: list[ListChange] = []
    if models is not None and not isinstance(decoded, InvoiceSummary):
        score = models.scorer.score_one(new_state, now)
        learning = models.scorer.last_learning
        changes = list_changes(state, score, decoded.event_id)
    rows: list[tuple[str, Row]] = [
        ("events", event_row(decoded, msg.topic, msg.partition, msg.offset, msg.value or b"", now)),
    ]
    if score is not None:
        rows.append(("scores", score_row(score, new_state.applied)))
    rows.extend(("list_changes", list_change_row(change)) for change in changes)
    for alert in alerts:
        row = alert_row(alert, new_state.district_code)
        rows.append(("alerts", row))
        rows.append(("alert_events", row))
    findings_found, new_state.quality = contradictions(new_state, decoded, now)
    rows.extend(("data_quality_findings", finding_row(f)) for f in findings_found)
    learned = learned_identities(decoded, state is None, now)
    notices = [list_change_notice(change, new_state.name) for change in changes]
    return Outcome("applied", decoded.uscc, new_state, score, alerts, changes, rows=rows, identities=learned,
                   notices=notices, learning=learning)  # fmt: skip


def unresolved_event(msg: RawMessage, legacy: LegacyKeyed, now: datetime) -> UnresolvedEvent:
    event = legacy.event
    return UnresolvedEvent(
        identifier=str(legacy.routing), named=str(legacy.named), topic=msg.topic,
        origin=f"{msg.topic}:{msg.partition}:{msg.offset}", event_id=event.event_id, kind=event.kind,
        source=event.source, occurred_at=event.occurred_at, received_at=now,
        payload=(msg.value or b"").decode("utf-8"),
    )  # fmt: skip


def learned_identities(event: Event, first: bool, now: datetime) -> list[IdentityRecord]:
    """Identity facts an applied event carries: a registration event's former identifiers,
    and the organisation code inside the USCC of an enterprise seen for the first time."""
    found: dict[str, IdentityRecord] = {}
    if isinstance(event, RegistrationEvent):
        for scheme in SCHEMES:
            value = getattr(event, scheme)
            if value:
                key = str(routing_identifier(scheme, value))
                found[key] = IdentityRecord(identifier=key, uscc=event.uscc, origin="registration",
                                            source=event.source, event_id=event.event_id, learned_at=now)  # fmt: skip
    if first or isinstance(event, RegistrationEvent):
        for derived in derived_identifiers(event.uscc):
            found.setdefault(str(derived), IdentityRecord(identifier=str(derived), uscc=event.uscc,
                                                          origin="derived", learned_at=now))  # fmt: skip
    return list(found.values())
