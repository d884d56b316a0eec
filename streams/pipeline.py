"""The per-message processing, without Faust: decode → apply → score → detect → rows.

The agent in :mod:`streams.agents` only moves bytes and state between Kafka, the table and
the sink; everything it decides comes from :func:`process_message`, so a backtest or a
benchmark runs the very same logic.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime

from config.rules import RuleConfig
from detectors import AlertContext, evaluate, placeholder, transition
from schemas import (
    Alert,
    DeadLetter,
    EnterpriseState,
    EventRejected,
    RejectReason,
    ScoreUpdate,
    decode_event,
)
from sinks.rows import Row, alert_row, dead_letter_row, event_row, score_row, snapshot_row
from streams.state_update import apply_event

CONFIG_VERSION = "1"


@dataclass(frozen=True)
class RawMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class Outcome:
    """What one message produced. ``state`` is None when nothing is to be stored."""

    status: str  # "applied" | "duplicate" | "dead_letter"
    uscc: str | None = None
    state: EnterpriseState | None = None
    score: ScoreUpdate | None = None
    alerts: list[Alert] = field(default_factory=list)
    dead_letter: DeadLetter | None = None
    rows: list[tuple[str, Row]] = field(default_factory=list)


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


def process_message(
    msg: RawMessage,
    state: EnterpriseState | None,
    now: datetime,
    keep_ids: int = 64,
    rules: RuleConfig | None = None,
) -> Outcome:
    decoded = decode_event(msg.value, now)
    if isinstance(decoded, EventRejected):
        return _dead_letter(msg, decoded, now)
    key = peek_uscc(msg)
    if key != decoded.uscc:
        reason = RejectReason("uscc", f"message key {key!r} does not match the event's uscc", "key_mismatch")
        return _dead_letter(msg, EventRejected([reason]), now)
    new_state, applied = apply_event(state, decoded, now, keep_ids)
    if not applied:
        return Outcome("duplicate", uscc=decoded.uscc, state=new_state)
    findings = evaluate(state, new_state, rules)
    ctx = AlertContext(decoded.event_id, decoded.occurred_at, now, rules.version if rules else CONFIG_VERSION)
    alerts = transition(new_state, findings, ctx)
    score = placeholder.score(new_state, now, CONFIG_VERSION)
    rows: list[tuple[str, Row]] = [
        ("events", event_row(decoded, msg.topic, msg.partition, msg.offset, msg.value or b"", now)),
        ("scores", score_row(score, new_state.applied)),
        ("enterprise_snapshot", snapshot_row(new_state, score)),
    ]
    for alert in alerts:
        rows.append(("alerts", alert_row(alert, new_state.district_code)))
        rows.append(("alert_events", alert_row(alert, new_state.district_code)))
    return Outcome("applied", decoded.uscc, new_state, score, alerts, rows=rows)
