"""The worker's collector policy: the start's heap frozen, the young threshold raised — or nothing."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from config import Settings
from streams import gc_policy


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_the_worker_default_freezes_the_start_and_raises_the_young_threshold(collector: None) -> None:
    young = Settings().worker.gc_young_threshold
    assert young > gc.get_threshold()[0]  # the default is above Python's
    loaded = [{"state": i} for i in range(1000)]  # what a start loads (modules, models)
    gc_policy.apply(young)
    assert gc.get_threshold()[0] == young
    assert gc.get_freeze_count() >= len(loaded)


def test_zero_leaves_python_s_settings(collector: None) -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    gc_policy.apply(0)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen


def test_cyclic_garbage_is_still_collected(collector: None) -> None:
    gc_policy.apply(Settings().worker.gc_young_threshold)

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    del a, b
    assert gc.collect(0) >= 2  # a young collection frees the cycle
