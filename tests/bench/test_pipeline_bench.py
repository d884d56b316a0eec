"""``bench.pipeline`` on a small park: both passes run over every event."""

from __future__ import annotations

from bench.pipeline import outputs_digest, records, run
from simulator import SimulationConfig


def test_a_small_park_is_measured_with_and_without_the_state_cache() -> None:
    config = SimulationConfig(enterprises=6, months=2, seed=1)
    figures = run(config, batch=50, repeats=1)
    assert figures["events"] == len(records(config)) > 50
    assert figures["cpu_us_per_event_with_cache"] > 0 and figures["cpu_us_per_event_without_cache"] > 0
    assert 0 < figures["with_over_without"] < 5
    assert 0 <= figures["gc_share_with_cache"] < 1 and 0 <= figures["gc_share_without_cache"] < 1


def test_the_digest_of_the_outputs_is_the_same_for_the_same_park_and_not_for_another() -> None:
    park = records(SimulationConfig(enterprises=6, months=2, seed=1))
    first, again = outputs_digest(park, 50), outputs_digest(park, 50)
    assert first == again and first["messages"] > 0 and first["rows"] > first["events"] // 2
    other = outputs_digest(records(SimulationConfig(enterprises=6, months=2, seed=2)), 50)
    assert other["rows_sha256"] != first["rows_sha256"] and other["states_sha256"] != first["states_sha256"]
