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
    # A small queue limit: the backlog is fetched faster than it is processed, so fetching
    # pauses and resumes per partition many times over (the back-pressure of a large backlog).
    result = compare(tmp_path, enterprises=80, months=6, seed=11, rate=800.0, partitions=4, timeout=600.0,
                     extra_env={"ENTBRAIN_WORKER__ALIGN_QUEUE_LIMIT": "40"})  # fmt: skip
    assert result.live, "the park raised no alert: nothing was compared"
    assert result.unaligned["backlog"].get("max_held", 0) == 0
    assert result.live == result.backlog, (sorted(result.live - result.backlog), sorted(result.backlog - result.live))
