"""The worker's fast paths change no output: a simulated park gives what it gave before them.

The park (40 enterprises × 6 months, a quarter with injected anomalies, a fixed end month)
goes through :func:`streams.batch.process_batch` in batches of 500 over two partitions,
like the worker, with one table of states between batches. Its states, output messages
(in order) and ClickHouse rows (in order, per table) are hashed; the hashes are the ones
the pipeline gave before the fast paths (rules run only for the events that can change
their inputs, one snapshot row per enterprise and batch, the invoice rules' slices). A
change that is meant to change outputs updates them here, and says so.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest

import streams.pipeline
from config import Settings
from config.rules import load_rules
from detectors.models import OnlineModels
from detectors.rules import evaluate
from schemas.state_codec import StateCache, encode_state, state_json
from simulator import SimulationConfig, simulate
from streams.batch import OutputTopics, process_batch
from streams.pipeline import RawMessage
from streams.send_times import SendClock

PARK = SimulationConfig(enterprises=40, months=6, seed=3, anomaly_rate=0.25, end_month="2026-06")
NOW = datetime(2026, 7, 15, tzinfo=UTC)
# What the pipeline gave for PARK before the fast paths: commit b100430, then again on the
# merge of the one-library work (field provenance, data-quality findings, list-change
# notices change the outputs on purpose), taken from that merge without the fast paths; then
# again for the detection work (own seasonality, confidence, scale-free payroll-mismatch and
# near-zero zombie rules change the alerts on purpose), taken with every rule run on every
# event (``evaluate`` patched as in the second test below); then again for the situations
# (one ``situation`` alert per enterprise folding its findings; open alerts keep their
# severity and confidence; the rules gain their `verdicts` section, so their version), taken
# the same way; then again for the peers' closes (percentiles read the peers as they stood at
# the last weekly close, the exit-risk model learns at closes), taken the same way.
BEFORE = {
    "states": "4dd41f11c0818b953f7867c2790cdbb38de1644cf2dc8fb9fb5e682daac7c2c9",
    "messages": "0b20c1e5227a4109a3534f333e7acfe9a842af1bf840addd6c1ffdcc41e06558",
    "rows": "2f64163a63cb1ff2695b7a0f4a9e93ad455036e4fdc4c797f479c459b08f6b1b",
}


class _RecordingSink:
    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows[table].append(row)


def _records() -> list[RawMessage]:
    clock, offsets, out = SendClock(), dict[tuple[str, int], int](), []
    for m in simulate(PARK):
        partition = zlib.crc32(m.key) % 2
        offset = offsets[(m.kind, partition)] = offsets.get((m.kind, partition), -1) + 1
        out.append(RawMessage(m.kind, partition, offset, m.key, m.value, clock.stamp(m.business_time) / 1000))
    return out


def replay_park(cache: StateCache | None = None) -> dict[str, str]:
    """The park through the batch pipeline; a digest of its states, messages and rows.

    With a ``cache``, each batch also checks that every state the cache keeps still encodes
    to the table value it was kept with: nothing mutated a state after it was stored."""
    settings, rules, models = Settings(), load_rules(), OnlineModels()
    table: dict[bytes, bytes] = {}
    sink, messages = _RecordingSink(), hashlib.sha256()
    topics = OutputTopics("scores", "alerts", "lists", "deadletter")
    records = _records()
    for start in range(0, len(records), 500):
        chunk = ((r, None) for r in records[start : start + 500])
        batch = process_batch(chunk, table.get, sink, topics, settings, rules, models, NOW,  # type: ignore[arg-type]
                              cache=cache)  # fmt: skip
        for topic, key, value in batch.outputs.messages:
            messages.update(repr((topic, key, value)).encode())
        table.update(batch.outputs.states)
        for key, stored in table.items() if cache is not None else ():
            assert state_json(encode_state(cache.decode(key, stored))) == state_json(stored), key
    states = hashlib.sha256(repr(sorted((k, state_json(v)) for k, v in table.items())).encode())
    rows = hashlib.sha256(repr(sorted((t, [sorted(r.items()) for r in rs]) for t, rs in sink.rows.items())).encode())
    return {"states": states.hexdigest(), "messages": messages.hexdigest(), "rows": rows.hexdigest()}


def test_the_park_gives_the_outputs_it_gave_before_the_fast_paths() -> None:
    assert replay_park() == BEFORE


def test_keeping_the_decoded_states_between_batches_gives_the_same() -> None:
    cache = StateCache(1_000)
    assert replay_park(cache) == BEFORE
    assert cache.hits > 0


def test_running_every_rule_on_every_event_gives_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = replay_park()

    def every_rule(
        before: Any, after: Any, cfg: Any = None, event: Any = None, verdicts: Any = None, industry: Any = None
    ) -> Any:
        return evaluate(before, after, cfg, None, verdicts, industry)

    monkeypatch.setattr(streams.pipeline, "evaluate", every_rule)
    assert replay_park() == fast
