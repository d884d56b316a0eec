"""The per-message logic without Kafka: idempotency, amendments, dead letters, the exit rule."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from factories import encode, invoice, make_uscc, registration, social_security, vat

from detectors.models import OnlineModels
from schemas import AlertState, EnterpriseState
from streams.pipeline import Outcome, RawMessage, process_message

NOW = datetime(2026, 11, 26, tzinfo=UTC)
USCC = make_uscc(7)


def msg(value: bytes, key: str | None = USCC, offset: int = 0, topic: str = "enterprise.tax") -> RawMessage:
    return RawMessage(topic, 0, offset, key.encode() if key else None, value)


def run(values: list[bytes]) -> tuple[EnterpriseState | None, list[Outcome]]:
    state: EnterpriseState | None = None
    outcomes = []
    for i, value in enumerate(values):
        outcome = process_message(msg(value, offset=i), state, NOW)
        outcomes.append(outcome)
        if outcome.state is not None:
            state = outcome.state
    return state, outcomes


def test_a_repeated_event_id_changes_nothing_but_the_duplicate_count() -> None:
    event = encode(vat(USCC, "t1", "2026-03", revenue="500.00"))
    state, outcomes = run([event, event])
    assert [o.status for o in outcomes] == ["applied", "duplicate"]
    assert state is not None
    assert state.counts == {"tax": 1} and state.duplicates == 1 and state.applied == 1
    assert outcomes[1].rows == []


def test_an_amended_filing_replaces_the_period_and_late_filings_land_in_their_month() -> None:
    state, _ = run(
        [
            encode(vat(USCC, "t-04", "2026-04", revenue="400.00")),
            encode(vat(USCC, "t-03", "2026-03", revenue="300.00")),  # late
            encode(vat(USCC, "t-03b", "2026-03", revenue="350.00")),  # amendment
        ]
    )
    assert state is not None
    assert state.revenue == {"2026-03": 350.0, "2026-04": 400.0}
    assert state.latest_revenue() == 400.0


def test_invalid_bytes_become_a_dead_letter_with_origin_and_reason() -> None:
    out = process_message(msg(b'{"broken', offset=42), None, NOW)
    assert out.status == "dead_letter" and out.state is None
    letter = out.dead_letter
    assert letter is not None
    assert (letter.topic, letter.partition, letter.offset) == ("enterprise.tax", 0, 42)
    assert base64.b64decode(letter.original) == b'{"broken'
    assert letter.reasons[0]["type"] == "json"
    assert out.rows[0][0] == "dead_letters"


def test_a_key_that_is_not_the_events_uscc_is_dead_lettered() -> None:
    out = process_message(msg(encode(vat(USCC, "t1", "2026-03")), key=make_uscc(8)), None, NOW)
    assert out.status == "dead_letter"
    assert out.dead_letter is not None and out.dead_letter.reasons[0]["type"] == "key_mismatch"


def test_moving_out_fires_one_alert_and_returning_resolves_it_with_the_same_id() -> None:
    state, outcomes = run(
        [
            encode(registration(USCC, "r1")),
            encode(social_security(USCC, "s1", "2026-03")),
            encode(registration(USCC, "r2", change="status", status="moved_out")),
            encode(registration(USCC, "r3", change="address", in_park=False, district_code="310104")),
            encode(registration(USCC, "r4", change="status", status="active", in_park=True)),
        ]
    )
    alerts = [a for o in outcomes for a in o.alerts if a.alert_type != "situation"]
    situation = [a for o in outcomes for a in o.alerts if a.alert_type == "situation"]
    assert [a.state for a in alerts] == [AlertState.FIRING, AlertState.UPDATED, AlertState.RESOLVED]
    # the enterprise's situation opens with the finding and resolves with it
    assert situation[0].state is AlertState.FIRING and situation[-1].state is AlertState.RESOLVED
    assert situation[0].evidence["diagnosis"] == "relocation" and len({a.alert_id for a in situation}) == 1
    assert len({a.alert_id for a in alerts}) == 1
    assert alerts[0].event_ids == ["r2"]
    assert all(a.alert_type == "relocation" for a in alerts)
    assert "status_moved_out" in alerts[0].explanation_en and alerts[0].title_zh.startswith("企业迁出园区")
    assert state is not None and state.open_alerts == {}


def test_a_second_exit_is_a_new_episode_with_a_new_alert_id() -> None:
    _, outcomes = run(
        [
            encode(registration(USCC, "r1")),
            encode(registration(USCC, "r2", change="status", status="deregistered")),
            encode(registration(USCC, "r3", change="status", status="active")),
            encode(registration(USCC, "r4", change="status", status="revoked")),
        ]
    )
    firing = [a for o in outcomes for a in o.alerts if a.state == AlertState.FIRING and a.alert_type != "situation"]
    assert len(firing) == 2 and firing[0].alert_id != firing[1].alert_id


def test_every_applied_event_yields_an_event_row_and_filings_a_score() -> None:
    models = OnlineModels()
    state, _ = run([encode(registration(USCC, "r1"))])
    filing = process_message(msg(encode(vat(USCC, "t1", "2026-03")), offset=1), state, NOW, models=models)
    assert sorted(t for t, _ in filing.rows) == ["events", "scores"]  # the snapshot is built per batch
    assert filing.score is not None and filing.state is not None and filing.state.scores is not None
    assert filing.score.model_version and 0 <= filing.score.composite <= 100
    daily = process_message(msg(encode(invoice(USCC, "i1", "2026-03-05")), offset=2), filing.state, NOW, models=models)
    assert sorted(t for t, _ in daily.rows) == ["events"]  # invoices are not re-scored
    assert daily.score is None
