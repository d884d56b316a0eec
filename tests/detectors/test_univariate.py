"""Contract and quality checks of detectors.univariate.StreamingDetector."""

from __future__ import annotations

import copy
import math
import pickle
import random

import numpy as np
import pytest

from detectors.univariate import StreamingDetector
from detectors.univariate.neighbours import NeighbourBank


def seasonal_stream(n: int, seed: int = 0) -> tuple[list[float], list[int]]:
    """Noisy daily-like cycle with injected spikes and level shifts (label 1 at each)."""
    rng = random.Random(seed)
    values, labels = [], []
    shift = 0.0
    for i in range(n):
        label = 0
        value = 50.0 + 10.0 * math.sin(2 * math.pi * i / 96) + rng.gauss(0.0, 1.0) + shift
        if i > 600 and i % 397 == 0:
            value += rng.choice((-1, 1)) * rng.uniform(30.0, 60.0)
            label = 1
        if i > 600 and i % 1201 == 0:
            shift += rng.choice((-1, 1)) * 40.0
            value += rng.choice((-1, 1)) * 40.0
            label = 1
        values.append(value)
        labels.append(label)
    return values, labels


def run(model: StreamingDetector, values: list[float]) -> list[float]:
    scores = []
    for v in values:
        scores.append(model.score_one({"y": v}))
        model.learn_one({"y": v})
    return scores


def roc_auc(labels: list[int], scores: list[float]) -> float:
    y = np.asarray(labels)
    s = np.asarray(scores)
    order = s.argsort(kind="stable")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    for value in np.unique(s):  # average ranks of ties
        tied = s == value
        ranks[tied] = ranks[tied].mean()
    pos, neg = int(y.sum()), int((1 - y).sum())
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def test_scores_in_unit_interval_and_neutral_during_warm_up() -> None:
    values, _ = seasonal_stream(2000)
    model = StreamingDetector()
    scores = run(model, values)
    assert all(s == 0.0 for s in scores[: model.warm_up])
    assert all(0.0 <= s < 1.0 for s in scores)


def test_roc_auc_on_injected_anomalies() -> None:
    values, labels = seasonal_stream(6000, seed=1)
    scores = run(StreamingDetector(), values)
    start = 300
    assert roc_auc(labels[start:], scores[start:]) > 0.93


def test_score_does_not_learn() -> None:
    values, _ = seasonal_stream(1600)
    model = StreamingDetector()
    run(model, values[:800])
    twin = copy.deepcopy(model)
    first = model.score_one({"y": 123.0})
    assert model.score_one({"y": 123.0}) == first
    for probe in (-500.0, 0.0, 50.0, 1e6):
        model.score_one({"y": probe})
    assert run(model, values[800:]) == run(twin, values[800:])


def test_pickle_round_trip_continues_identically() -> None:
    values, _ = seasonal_stream(3000, seed=2)
    model = StreamingDetector()
    run(model, values[:1500])
    twin = pickle.loads(pickle.dumps(model))
    assert run(model, values[1500:]) == run(twin, values[1500:])


def test_clone_is_fresh_with_same_params() -> None:
    values, _ = seasonal_stream(1500, seed=3)
    model = StreamingDetector(window=6, min_history=60)
    run(model, values)
    clone = model.clone()
    assert clone._get_params() == model._get_params()
    assert run(clone, values) == run(StreamingDetector(window=6, min_history=60), values)


def test_memory_is_bounded() -> None:
    rng = random.Random(4)
    model = StreamingDetector(bank_size=300)
    sizes = []
    for i in range(100_000):
        x = {"y": rng.gauss(0.0, 1.0) + (i % 50) / 10}
        model.score_one(x)
        model.learn_one(x)
        if i in (10_000, 99_999):
            sizes.append(len(pickle.dumps(model)))
    assert sizes[1] <= sizes[0] * 1.05


def test_explain_names_the_driver() -> None:
    values, _ = seasonal_stream(700)
    model = StreamingDetector()
    run(model, values)
    model.score_one({"y": 10_000.0})
    parts = model.explain()
    assert parts["driver"] in {"range", "novelty"}
    assert parts["range"] > 1.0
    assert parts["novelty"] > 5.0
    assert parts["score"] > 0.99


def test_exactly_one_feature() -> None:
    with pytest.raises(ValueError, match="one feature"):
        StreamingDetector().score_one({"a": 1.0, "b": 2.0})


def test_a_pickled_detector_goes_on_exactly_as_the_original() -> None:

    rng = np.random.default_rng(5)
    values = [float(v) for v in 100 + 10 * np.sin(np.arange(300) / 7) + rng.normal(0, 1, 300)]
    original = StreamingDetector(window=8, bank_size=60, min_history=20, warm_up=30)
    for v in values[:200]:
        original.learn_one({"x": v})
    copy = pickle.loads(pickle.dumps(original))
    for v in values[200:]:
        assert copy.score_one({"x": v}) == original.score_one({"x": v})
        copy.learn_one({"x": v})
        original.learn_one({"x": v})


def test_a_bank_pickled_with_its_arrays_as_before_is_still_read() -> None:

    bank = NeighbourBank(dim=2, size=4, gap=1)
    for v in ([0.0, 1.0], [2.0, 3.0], [5.0, 5.0]):
        bank.add(np.array(v))
    old = NeighbourBank.__new__(NeighbourBank)
    old.__setstate__(dict(vars(bank)))  # the state as pickles before the packing held it
    assert pickle.loads(pickle.dumps(old)).distance(np.array([2.0, 3.5])) == bank.distance(
        np.array([2.0, 3.5])
    )
