"""A park produced live and the same park loaded as a backlog raise the same alerts.

The small version of ``python -m bench.backlog``: two fresh stacks on the real broker, one
fed at an operating rate while the worker runs, one given the whole park before it starts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.backlog import compare

pytestmark = pytest.mark.kafka


def test_live_and_backlog_raise_the_same_alerts(tmp_path: Path, kafka_bootstrap: str) -> None:
    result = compare(tmp_path, enterprises=80, months=6, seed=11, rate=800.0, partitions=4, timeout=600.0)
    assert result.live, "the park raised no alert: nothing was compared"
    assert result.live == result.backlog, (sorted(result.live - result.backlog), sorted(result.backlog - result.live))
