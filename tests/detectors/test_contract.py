"""One contract for every anomaly detector the worker runs, no skip list.

Each detector is driven through the same one-feature interface (``score_one`` then
``learn_one``): pickle round-trip, clone, score-before-learn (scoring changes nothing),
bounded memory, and ROC-AUC on a seeded synthetic stream with injected anomalies.

Besides, River's own estimator checks (``river.checks.yield_checks``) run over every
detector, each check on its own and none skipped. River feeds anomaly detectors its
CreditCard data set, a download of many features; the detectors here are univariate, so
the checks are fed the seeded one-feature stream below instead (the only substitution:
every check is River's).
"""

from __future__ import annotations

import copy
import math
import pickle
import random
from collections.abc import Callable
from typing import Any

import pytest
import river.checks
from river import base

from detectors.peer_divergence import PeerDivergence
from detectors.series_bank import DETECTOR_PARAMS
from detectors.univariate import StreamingDetector

DETECTORS: dict[str, Callable[[], Any]] = {
    "streaming-default": StreamingDetector,
    "streaming-invoice-series": lambda: StreamingDetector(**DETECTOR_PARAMS),
    "peer-divergence": lambda: PeerDivergence(min_seen=50),
}


def stream(n: int, seed: int, anomaly_every: int = 97) -> list[tuple[float, bool]]:
    """A seasonal noisy series with drops (a downward anomaly every ``anomaly_every`` rows)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        value = 1.0 + 0.3 * math.sin(i / 7) + rng.gauss(0, 0.05)
        anomalous = i > 300 and i % anomaly_every == 0
        out.append((value - 2.5 if anomalous else value, anomalous))
    return out


def run(model: Any, data: list[tuple[float, bool]]) -> list[float]:
    scores = []
    for value, _ in data:
        scores.append(model.score_one({"x": value}))
        model.learn_one({"x": value})
    return scores


def roc_auc(scores: list[float], labels: list[bool]) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@pytest.fixture(params=sorted(DETECTORS))
def make(request: pytest.FixtureRequest) -> Callable[[], Any]:
    return DETECTORS[request.param]


def test_pickle_round_trip_continues_identically(make: Callable[[], Any]) -> None:
    data = stream(1500, seed=1)
    model = make()
    run(model, data[:1000])
    twin = pickle.loads(pickle.dumps(model))
    assert run(model, data[1000:]) == run(twin, data[1000:])


def test_clone_is_a_fresh_model_with_the_same_parameters(make: Callable[[], Any]) -> None:
    data = stream(800, seed=2)
    model = make()
    run(model, data)
    fresh = model.clone()
    assert run(fresh, data) == run(make(), data)


def test_scoring_does_not_learn(make: Callable[[], Any]) -> None:
    model = make()
    run(model, stream(600, seed=3))
    before = pickle.dumps(model)
    for value in (0.0, 5.0, -5.0, 1.0):
        model.score_one({"x": value})
    twin = pickle.loads(before)
    assert run(copy.deepcopy(model), stream(200, seed=4)) == run(twin, stream(200, seed=4))


def test_memory_is_bounded(make: Callable[[], Any]) -> None:
    model = make()
    data = stream(40_000, seed=5)
    run(model, data[:20_000])
    size_half = len(pickle.dumps(model))
    run(model, data[20_000:])
    assert len(pickle.dumps(model)) <= size_half * 1.1


def test_anomalies_score_higher_than_normal_rows(make: Callable[[], Any]) -> None:
    data = stream(3000, seed=6)
    scores = run(make(), data)
    warm = 400
    auc = roc_auc(scores[warm:], [y for _, y in data[warm:]])
    assert auc >= 0.9, auc


# River's checks: every exported detector class, with its defaults and its unit-test params.
RIVER_MODELS: dict[str, base.AnomalyDetector] = {
    f"{cls.__name__}({i})": cls(**params)
    for cls in (StreamingDetector, PeerDivergence)
    for i, params in enumerate([{}, *cls._unit_test_params()])
}
RIVER_MODELS["StreamingDetector(invoice-series)"] = StreamingDetector(**DETECTOR_PARAMS)


class LabelledStream:
    """Re-iterable ``({"x": value}, is_anomaly)`` pairs of :func:`stream`."""

    def __init__(self, n: int) -> None:
        self.rows = [({"x": value}, label) for value, label in stream(n, seed=11)]

    def __iter__(self) -> Any:
        return iter([(dict(x), y) for x, y in self.rows])


def one_feature_datasets(model: Any, scale: int = 1) -> Any:
    yield LabelledStream(1000 * scale)


def river_checks() -> list[Any]:
    cases = []
    for name, model in RIVER_MODELS.items():
        original = river.checks._yield_datasets
        river.checks._yield_datasets = one_feature_datasets
        try:
            checks = list(river.checks.yield_checks(model))
        finally:
            river.checks._yield_datasets = original
        cases += [pytest.param(model, check, id=f"{name}-{check.__name__}") for check in checks]
    return cases


def test_river_yields_the_dataset_checks_too() -> None:
    names = {case.values[1].__name__ for case in river_checks()}
    assert {"check_roc_auc", "check_emerging_features", "check_bounded_memory_growth"} <= names


@pytest.mark.parametrize(("model", "check"), river_checks())
def test_river_estimator_check(model: base.AnomalyDetector, check: Callable[[Any], None]) -> None:
    assert check.__name__ not in model._unit_test_skips()
    check(model.clone())
