"""NAB scoring on hand-computable cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.nab_scoring import (
    OUTSIDE,
    REWARD_LOW_FN,
    STANDARD,
    UNSCORED,
    label_rows,
    normalized_score,
    optimize_threshold,
    probationary_length,
    scaled_sigmoid,
    score_file,
    sweep_thresholds,
    window_rows,
)


def sigma(x: float) -> float:
    return -1.0 if x > 3 else 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def one_hot(n: int, *rows: int) -> np.ndarray:
    scores = np.zeros(n)
    scores[list(rows)] = 1.0
    return scores


def test_probationary_length() -> None:
    assert probationary_length(100) == 15
    assert probationary_length(4032) == 604
    assert probationary_length(10_000) == 750


def test_scaled_sigmoid() -> None:
    assert float(scaled_sigmoid(0.0)) == 0.0
    assert float(scaled_sigmoid(-1.0)) == pytest.approx(sigma(-1.0))
    assert float(scaled_sigmoid(3.5)) == -1.0


def test_detection_at_window_start_is_worth_a_tp() -> None:
    labels = label_rows(200, [(100, 119)], probation=30)
    assert score_file(one_hot(200, 100), labels, 0.5, STANDARD) == pytest.approx(1.0)


def test_detection_at_window_end_is_worth_almost_nothing() -> None:
    labels = label_rows(400, [(100, 199)], probation=30)
    value = score_file(one_hot(400, 199), labels, 0.5, STANDARD)
    assert value == pytest.approx(sigma(-1 / 100) / sigma(-1.0))
    assert 0.0 < value < 0.03


def test_only_the_earliest_detection_of_a_window_counts() -> None:
    labels = label_rows(200, [(100, 119)], probation=30)
    expected = sigma(-(119 - 110 + 1) / 20) / sigma(-1.0)
    assert score_file(one_hot(200, 110, 115, 119), labels, 0.5, STANDARD) == pytest.approx(expected)


def test_missed_window_costs_a_fn() -> None:
    labels = label_rows(200, [(100, 119)], probation=30)
    assert score_file(np.zeros(200), labels, 0.5, STANDARD) == -1.0
    assert score_file(np.zeros(200), labels, 0.5, REWARD_LOW_FN) == -2.0


def test_false_positive_before_any_window_costs_a_fp() -> None:
    labels = label_rows(200, [(100, 119)], probation=30)
    assert score_file(one_hot(200, 50, 100), labels, 0.5, STANDARD) == pytest.approx(1 - 0.11)


def test_false_positive_after_window_is_weighted_by_distance() -> None:
    labels = label_rows(300, [(100, 109)], probation=30)
    near, far = 114, 200
    got = score_file(one_hot(300, 100, near), labels, 0.5, STANDARD)
    assert got == pytest.approx(1.0 + 0.11 * sigma((near - 109) / 9))
    got = score_file(one_hot(300, 100, far), labels, 0.5, STANDARD)
    assert got == pytest.approx(1.0 - 0.11)
    # Right after the window the false positive is almost free.
    got = score_file(one_hot(300, 100, 110), labels, 0.5, STANDARD)
    assert got == pytest.approx(1.0 + 0.11 * sigma(1 / 9))


def test_probation_drops_rows_and_windows() -> None:
    labels = label_rows(100, [(10, 20), (60, 69)])  # P = 15
    assert labels.n_windows == 1
    assert (labels.window[:15] == UNSCORED).all()
    assert (labels.window[10:21] == UNSCORED).all()
    assert labels.window[30] == OUTSIDE
    # A detection inside the probation or the dropped window is neither TP nor FP.
    assert score_file(one_hot(100, 5, 12, 60), labels, 0.5, STANDARD) == pytest.approx(1.0)


def test_normalisation_null_and_perfect() -> None:
    assert normalized_score(-3.0, 3, STANDARD) == 0.0
    assert normalized_score(3.0, 3, STANDARD) == 100.0
    assert normalized_score(-6.0, 3, REWARD_LOW_FN) == 0.0
    labels = label_rows(200, [(100, 119)], probation=30)
    assert optimize_threshold([np.zeros(200)], [labels], STANDARD).normalized == 0.0
    best = optimize_threshold([one_hot(200, 100)], [labels], STANDARD)
    assert best.normalized == pytest.approx(100.0)
    assert best.threshold == 1.0


def test_never_detect_wins_when_every_threshold_loses() -> None:
    labels = label_rows(200, [], probation=30)
    best = optimize_threshold([one_hot(200, 50)], [labels], STANDARD)
    assert best.threshold == math.inf
    assert best.raw == 0.0


def test_threshold_tie_goes_to_the_higher_threshold() -> None:
    labels = label_rows(200, [(100, 119)], probation=30)
    scores = np.zeros(200)
    scores[100] = 0.9  # the earliest row: the whole reward
    scores[110] = 0.8  # later in the same window: adds nothing, costs nothing
    best = optimize_threshold([scores], [labels], STANDARD)
    assert best.threshold == 0.9


def test_tied_scores_are_flagged_together() -> None:
    labels = label_rows(200, [(100, 119)], probation=30)
    scores = np.zeros(200)
    scores[[40, 100]] = 0.7  # one FP shares the TP's score
    best = optimize_threshold([scores], [labels], STANDARD)
    assert best.raw == pytest.approx(1.0 - 0.11)


def test_sweep_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    files, labels = [], []
    for n, wins in ((500, [(200, 239), (400, 439)]), (300, [(150, 179)]), (250, [])):
        files.append(np.round(rng.random(n), 2))
        labels.append(label_rows(n, wins))
    sweep = sweep_thresholds(files, labels)
    for profile in (STANDARD, REWARD_LOW_FN):
        raw = sweep.raw_scores(profile)
        for theta, expected in zip(sweep.thresholds[1:], raw[1:], strict=True):
            pairs = zip(files, labels, strict=True)
            got = sum(score_file(s, lab, theta, profile) for s, lab in pairs)
            assert expected == pytest.approx(got)
        best = optimize_threshold(sweep, None, profile)
        assert best.raw == pytest.approx(raw.max())


def test_window_rows_from_timestamps() -> None:
    stamps = np.arange("2024-01-01T00:00", "2024-01-01T01:00", 5, dtype="datetime64[m]")
    rows = window_rows(stamps, [("2024-01-01 00:10:00.000000", "2024-01-01 00:20:00.000000")])
    assert rows == [(2, 4)]
