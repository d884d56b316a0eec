"""``bench.pipeline`` on a small park: both passes run over every event."""

from __future__ import annotations

from bench.pipeline import records, run
from simulator import SimulationConfig


def test_a_small_park_is_measured_with_and_without_the_state_cache() -> None:
    config = SimulationConfig(enterprises=6, months=2, seed=1)
    figures = run(config, batch=50, repeats=1)
    assert figures["events"] == len(records(config)) > 50
    assert figures["cpu_us_per_event_with_cache"] > 0 and figures["cpu_us_per_event_without_cache"] > 0
    assert 0 < figures["with_over_without"] < 5
