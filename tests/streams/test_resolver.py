"""The resolver's pure steps: resolve, park, release in business-time order, re-derive."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from factories import legacy_keyed, legacy_uscc, registration_number, social_security

from schemas.identity import IdentityEntry, IdentityRecord, UnresolvedEvent
from streams.resolver import ResolverTopics, on_identity, on_unresolved, resolve_batch

NOW = datetime(2026, 1, 1, tzinfo=UTC)
U = legacy_uscc(9)
NUMBER = registration_number(9)
KEY = f"registration_number:{NUMBER}"


def unresolved(period: str, offset: int) -> UnresolvedEvent:
    payload = legacy_keyed(social_security(U, f"s-{period}", period), registration_number=NUMBER)
    return UnresolvedEvent(identifier=KEY, named=KEY, topic="enterprise.social_security",
                           origin=f"enterprise.social_security:0:{offset}", event_id=f"s-{period}",
                           kind="social_security", source="hrss", occurred_at=datetime.fromisoformat(f"{period}-20T09:00:00+08:00"),
                           received_at=NOW, payload=orjson.dumps(payload).decode())  # fmt: skip


def identity() -> IdentityRecord:
    return IdentityRecord(identifier=KEY, uscc=U, origin="import", learned_at=NOW)


def test_unknown_identifiers_park_and_a_known_one_resolves() -> None:
    step = on_unresolved(IdentityEntry(), unresolved("2025-02", 1), NOW)
    assert step.outcomes == ["parked"] and step.parked is not None and not step.rekeyed
    assert step.rows[0][1]["status"] == "parked"
    again = on_unresolved(step.entry, unresolved("2025-02", 1), NOW)  # re-derived after a crash
    assert again.outcomes == ["duplicate"] and len(again.entry.parked) == 1
    known = on_unresolved(IdentityEntry(uscc=U), unresolved("2025-03", 2), NOW)
    assert known.outcomes == ["resolved"]
    topic, uscc, value = known.rekeyed[0]
    assert (topic, uscc) == ("enterprise.social_security", U) and orjson.loads(value)["uscc"] == U


def test_an_identity_releases_parked_events_oldest_business_time_first() -> None:
    entry = IdentityEntry()
    for period, offset in (("2025-03", 1), ("2025-01", 2), ("2025-02", 3)):
        entry = on_unresolved(entry, unresolved(period, offset), NOW).entry
    released = on_identity(entry, identity(), NOW)
    assert released.outcomes == ["learned", "released", "released", "released"]
    assert [orjson.loads(v)["period"] for _, _, v in released.rekeyed] == ["2025-01", "2025-02", "2025-03"]
    assert released.entry.parked == [] and released.entry.uscc == U
    assert [row["status"] for table, row in released.rows if table == "unmatched_events"] == ["released"] * 3


def test_a_batch_keeps_entries_between_its_records_and_returns_them_to_store() -> None:
    rows: list[tuple[str, dict[str, object]]] = []
    topics = ResolverTopics(unmatched="unmatched", inputs=lambda name: name)
    records = [
        ("resolve", KEY.encode(), unresolved("2025-01", 1).model_dump_json().encode(), "e1"),
        ("identities", KEY.encode(), identity().model_dump_json().encode(), "e2"),
        ("resolve", KEY.encode(), unresolved("2025-02", 2).model_dump_json().encode(), "e3"),
        ("resolve", KEY.encode(), b"not json", "e4"),
    ]
    batch = resolve_batch(records, lambda key: None, lambda t, r: rows.append((t, r)), "identities", topics,
                          lambda event: NOW)  # fmt: skip
    assert batch.outcomes == ["parked", "learned", "released", "resolved"]
    assert batch.malformed == 1
    assert [m[0] for m in batch.outputs.messages] == ["unmatched", "enterprise.social_security", "enterprise.social_security"]
    assert batch.outputs.events == ["e1", "e2", "e3", "e4"]
    assert IdentityEntry.model_validate_json(batch.outputs.states[KEY.encode()]).uscc == U
