"""Consumed = applied + duplicate + dead-lettered + parked, across a SIGKILL mid-stream.

Counted on what survives the kill (ClickHouse tables written in the commit protocol's first
step): every valid event is applied (``events``) or still parked (``unmatched_events``),
never both, never lost; every malformed record is dead-lettered once.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import orjson
import pytest
from factories import encode, legacy_keyed, registration_number, synthetic_park
from worker_fixtures import WorkerProcess, isolated_env, produce

pytestmark = pytest.mark.kafka


def mixed_park() -> tuple[list[tuple[str, str, bytes]], set[str], set[str], int, int]:
    """A park where a third of the filings name their enterprise by its registration number;
    a few enterprises never reveal theirs. Returns (messages, event ids that must be applied,
    event ids that must stay parked, duplicates, malformed records)."""
    events = synthetic_park(24, 6, seed=11)
    number_of: dict[str, str] = {}
    hidden: set[str] = set()
    messages: list[tuple[str, str, bytes]] = []
    applied: set[str] = set()
    parked: set[str] = set()
    for n, event in enumerate(events):
        uscc = str(event["uscc"])
        if uscc not in number_of:
            number_of[uscc] = registration_number(len(number_of) + 1)
            if len(number_of) % 8 == 0:
                hidden.add(uscc)
        if event["kind"] == "registration" and event.get("change") == "establishment" and uscc not in hidden:
            event = {**event, "registration_number": number_of[uscc]}
        if event["kind"] != "registration" and n % 3 == 0:
            legacy: dict[str, Any] = legacy_keyed(event, registration_number=number_of[uscc])
            messages.append((str(event["kind"]), number_of[uscc], encode(legacy)))
            (parked if uscc in hidden else applied).add(str(event["event_id"]))
        else:
            messages.append((str(event["kind"]), uscc, encode(event)))
            applied.add(str(event["event_id"]))
    duplicates = [m for m in messages[5:200:40]]  # the same events sent again
    malformed = [("tax", "x", b"{broken"), ("social_security", "y", orjson.dumps({"kind": "social_security"}))]
    return messages + duplicates + malformed, applied, parked, len(duplicates), len(malformed)


def ids(worker: WorkerProcess, sql: str) -> set[str]:
    return {str(row[0]) for row in worker.query(sql)}


def test_the_invariant_holds_across_a_sigkill(tmp_path: Path, kafka_bootstrap: str) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap) | {"ENTBRAIN_SINK__BATCH_MAX_EVENTS": "60"}
    messages, must_apply, must_park, duplicates, malformed = mixed_park()
    first = WorkerProcess(env, tmp_path / "first.log")
    produce(first.settings, messages)
    first.start()
    first.wait_for(lambda: first.counts()["applied"] > 100 and first.counts()["parked"] > 0, what="under way")
    first.stop(signal.SIGKILL)

    survivor = WorkerProcess(env, tmp_path / "survivor.log").start()
    try:
        def settled() -> bool:
            applied = ids(survivor, "SELECT DISTINCT event_id FROM events FINAL")
            parked = ids(survivor, "SELECT event_id FROM unmatched_events FINAL WHERE status = 'parked'")
            return applied == must_apply and parked == must_park

        survivor.wait_for(settled, timeout=240, what="every event applied or parked")
        applied = survivor.query("SELECT count(), uniqExact(event_id) FROM events FINAL")[0]
        parked = ids(survivor, "SELECT event_id FROM unmatched_events FINAL WHERE status = 'parked'")
        dead = survivor.query("SELECT count() FROM dead_letters FINAL")[0][0]
    finally:
        survivor.stop()
    assert applied[0] == applied[1] == len(must_apply)  # none applied twice
    assert parked.isdisjoint(must_apply)
    assert dead == malformed
    assert len(messages) == len(must_apply) + duplicates + dead + len(parked)
    assert must_park  # the park really has events still waiting for their identity
