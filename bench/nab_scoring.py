"""Numenta Anomaly Benchmark (NAB) scoring as pure functions.

The rules follow ``shared/nab/README.md``:

* rows before the probationary period ``P = min(floor(0.15 * N), 750)`` are not scored,
  and a window that starts inside it is dropped (its rows are not scored either; it still
  counts as the "previous window" when weighting later false positives);
* a detection is a row whose score is ``>= threshold``; the threshold is shared by every
  file of the corpus;
* inside a window ``[L, R]`` of width ``W`` the earliest detection at row ``i`` is worth
  ``A_TP * sigma(x) / sigma(-1)`` with ``x = -(R - i + 1) / W``; a window with no
  detection costs ``-A_FN``;
* a detection outside every window costs ``-A_FP`` when no window ended before it,
  otherwise ``A_FP * sigma(|i - R'| / (W' - 1))`` relative to the previous window;
* the threshold is chosen, per profile, among "never detect" and every distinct score of
  the corpus, maximising the summed raw score (ties go to the higher threshold);
* the normalised score is ``100 * (S - S_null) / (S_perfect - S_null)``.

The sweep sorts the corpus' scorable rows once and evaluates every threshold with
cumulative sums, so all profiles of a ~200k-row corpus are scored in well under a second.

Examples
--------
>>> import numpy as np
>>> labels = label_rows(100, [(60, 69)], probation=10)
>>> scores = np.zeros(100)
>>> scores[60] = 1.0
>>> result = optimize_threshold([scores], [labels], STANDARD)
>>> result.threshold, round(result.normalized, 1)
(1.0, 100.0)
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_PROFILES",
    "OUTSIDE",
    "REWARD_LOW_FN",
    "REWARD_LOW_FP",
    "STANDARD",
    "UNSCORED",
    "CostProfile",
    "FileLabels",
    "SweepResult",
    "ThresholdSweep",
    "label_rows",
    "load_profiles",
    "normalized_score",
    "optimize_threshold",
    "probationary_length",
    "scaled_sigmoid",
    "score_file",
    "sweep_thresholds",
    "window_rows",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: ``FileLabels.window`` value of a scored row outside every window.
OUTSIDE = -1
#: ``FileLabels.window`` value of a row that is not scored (probation, dropped window).
UNSCORED = -2


@dataclass(frozen=True, slots=True)
class CostProfile:
    """Weights of one NAB application profile."""

    name: str
    tp_weight: float
    fn_weight: float
    fp_weight: float


STANDARD = CostProfile("standard", 1.0, 1.0, 0.11)
REWARD_LOW_FP = CostProfile("reward_low_FP_rate", 1.0, 1.0, 0.22)
REWARD_LOW_FN = CostProfile("reward_low_FN_rate", 1.0, 2.0, 0.11)
DEFAULT_PROFILES: tuple[CostProfile, ...] = (STANDARD, REWARD_LOW_FP, REWARD_LOW_FN)


def load_profiles(path: str | Path) -> tuple[CostProfile, ...]:
    """Read NAB's ``profiles.json`` (``{name: {"CostMatrix": {"tpWeight": ..}}}``)."""
    raw = json.loads(Path(path).read_text())
    profiles = []
    for name, body in raw.items():
        costs = body["CostMatrix"]
        profiles.append(
            CostProfile(
                name,
                float(costs["tpWeight"]),
                float(costs["fnWeight"]),
                float(costs["fpWeight"]),
            )
        )
    return tuple(profiles)


def probationary_length(n_rows: int, fraction: float = 0.15, cap: int = 750) -> int:
    """Rows at the start of a file that are never scored."""
    return min(math.floor(fraction * n_rows), cap)


def scaled_sigmoid(x: npt.ArrayLike) -> FloatArray:
    """NAB's ``2 / (1 + exp(5x)) - 1``, forced to ``-1`` for ``x > 3``."""
    arr = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        out = 2.0 / (1.0 + np.exp(5.0 * arr)) - 1.0
    return np.where(arr > 3.0, -1.0, out)


def window_rows(
    timestamps: Sequence[datetime] | npt.NDArray[np.datetime64],
    windows: Sequence[tuple[datetime, datetime]] | Sequence[Sequence[str]],
) -> list[tuple[int, int]]:
    """Map ``[start, end]`` timestamps to inclusive row indices of sorted ``timestamps``.

    ``L`` is the first row at or after ``start`` and ``R`` the last row at or before
    ``end``; windows holding no row are skipped.
    """
    ts = np.asarray(timestamps, dtype="datetime64[us]")
    rows = []
    for start, end in windows:
        lo = int(np.searchsorted(ts, np.datetime64(_as_datetime(start), "us"), "left"))
        hi = int(np.searchsorted(ts, np.datetime64(_as_datetime(end), "us"), "right")) - 1
        if lo <= hi:
            rows.append((lo, hi))
    return rows


def _as_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class FileLabels:
    """Per-row scoring layout of one file, independent of profile and threshold.

    Attributes
    ----------
    window
        Index of the (kept) window holding each row, ``OUTSIDE`` or ``UNSCORED``.
    tp_value
        ``sigma(x) / sigma(-1)`` for window rows (worth ``A_TP`` times this), else 0.
    fp_value
        ``sigma(...)`` or ``-1`` for rows outside windows (worth ``A_FP`` times this).
    n_windows
        Number of windows kept (not dropped by the probationary period).
    """

    window: IntArray
    tp_value: FloatArray
    fp_value: FloatArray
    n_windows: int

    @property
    def in_window(self) -> npt.NDArray[np.bool_]:
        """Rows inside a kept window (label 1 of the results files)."""
        return self.window >= 0


def label_rows(
    n_rows: int,
    windows: Sequence[tuple[int, int]],
    probation: int | None = None,
) -> FileLabels:
    """Build the scoring layout of a file of ``n_rows`` with inclusive row windows."""
    if probation is None:
        probation = probationary_length(n_rows)
    window = np.full(n_rows, OUTSIDE, dtype=np.int64)
    tp_value = np.zeros(n_rows)
    fp_value = np.full(n_rows, -1.0)
    idx = np.arange(n_rows, dtype=np.float64)
    norm = float(scaled_sigmoid(-1.0))
    kept = 0
    ordered = sorted(windows)
    for k, (left, right) in enumerate(ordered):
        width = right - left + 1
        rows = slice(left, right + 1)
        if left < probation:
            window[rows] = UNSCORED
        else:
            window[rows] = kept
            tp_value[rows] = scaled_sigmoid(-(right - idx[rows] + 1) / width) / norm
            kept += 1
        fp_value[rows] = 0.0
        # Rows between this window and the next are weighted by distance to this one.
        stop = ordered[k + 1][0] if k + 1 < len(ordered) else n_rows
        after = slice(right + 1, stop)
        denom = max(width - 1, 1)
        fp_value[after] = scaled_sigmoid(np.abs(idx[after] - right) / denom)
    window[:probation] = UNSCORED
    fp_value[window != OUTSIDE] = 0.0
    return FileLabels(window, tp_value, fp_value, kept)


def score_file(scores: npt.ArrayLike, labels: FileLabels, threshold: float, profile: CostProfile) -> float:
    """Raw NAB score of one file for a fixed threshold."""
    detected = np.asarray(scores, dtype=np.float64) >= threshold
    outside = detected & (labels.window == OUTSIDE)
    total = profile.fp_weight * float(labels.fp_value[outside].sum())
    for w in range(labels.n_windows):
        hits = detected & (labels.window == w)
        if hits.any():
            total += profile.tp_weight * float(labels.tp_value[hits].max())
        else:
            total -= profile.fn_weight
    return total


def normalized_score(raw: float, n_windows: int, profile: CostProfile) -> float:
    """``100 * (S - S_null) / (S_perfect - S_null)``."""
    null = -profile.fn_weight * n_windows
    perfect = profile.tp_weight * n_windows
    if perfect == null:
        return 0.0
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True, slots=True)
class ThresholdSweep:
    """Profile-free cumulative sums at every distinct score of a corpus.

    Entry ``j`` describes the threshold ``thresholds[j]`` (descending); entry 0 of the
    sums is "never detect" (threshold ``+inf``).
    """

    thresholds: FloatArray
    fp_sum: FloatArray
    tp_sum: FloatArray
    detected: FloatArray
    n_windows: int

    def raw_scores(self, profile: CostProfile) -> FloatArray:
        """Raw corpus score at every threshold of :attr:`thresholds`."""
        return (
            profile.fp_weight * self.fp_sum
            + profile.tp_weight * self.tp_sum
            - profile.fn_weight * (self.n_windows - self.detected)
        )


def sweep_thresholds(scores: Sequence[npt.ArrayLike], labels: Sequence[FileLabels]) -> ThresholdSweep:
    """Sort the scorable rows of every file once and accumulate their contributions."""
    parts_s, parts_w, parts_tp, parts_fp = [], [], [], []
    offset = 0
    for file_scores, lab in zip(scores, labels, strict=True):
        s = np.asarray(file_scores, dtype=np.float64)
        if s.shape != lab.window.shape:
            raise ValueError(f"{s.shape[0]} scores for {lab.window.shape[0]} rows")
        keep = lab.window != UNSCORED
        w = lab.window[keep]
        parts_s.append(s[keep])
        parts_w.append(np.where(w >= 0, w + offset, OUTSIDE))
        parts_tp.append(lab.tp_value[keep])
        parts_fp.append(lab.fp_value[keep])
        offset += lab.n_windows
    all_s = np.concatenate(parts_s) if parts_s else np.zeros(0)
    if np.isnan(all_s).any():
        raise ValueError("scores contain NaN")
    order = np.argsort(-all_s, kind="stable")
    s_sorted = all_s[order]
    win = np.concatenate(parts_w)[order] if parts_w else np.zeros(0, np.int64)
    tp = np.concatenate(parts_tp)[order] if parts_tp else np.zeros(0)
    fp = np.concatenate(parts_fp)[order] if parts_fp else np.zeros(0)

    fp_delta = np.where(win == OUTSIDE, fp, 0.0)
    tp_delta = np.zeros_like(tp)
    det_delta = np.zeros_like(tp)
    # Windows gain value only when a row beats the best (earliest) row detected so far.
    for w in np.unique(win[win >= 0]):
        pos = np.flatnonzero(win == w)
        best = np.maximum.accumulate(tp[pos])
        prev = np.concatenate(([0.0], best[:-1]))
        tp_delta[pos] = best - prev
        det_delta[pos[0]] = 1.0
    # Rows sharing a score are flagged together: keep the last row of each tie group.
    if s_sorted.size:
        last = np.flatnonzero(np.append(s_sorted[1:] != s_sorted[:-1], True))
    else:
        last = np.zeros(0, dtype=np.int64)
    cum = [np.concatenate(([0.0], np.cumsum(d)[last])) for d in (fp_delta, tp_delta, det_delta)]
    return ThresholdSweep(
        thresholds=np.concatenate(([np.inf], s_sorted[last])),
        fp_sum=cum[0],
        tp_sum=cum[1],
        detected=cum[2],
        n_windows=offset,
    )


@dataclass(frozen=True, slots=True)
class SweepResult:
    """Best threshold of one profile and its raw and normalised corpus scores."""

    profile: CostProfile
    threshold: float
    raw: float
    null: float
    perfect: float
    normalized: float


def optimize_threshold(
    scores: Sequence[npt.ArrayLike] | ThresholdSweep,
    labels: Sequence[FileLabels] | None,
    profile: CostProfile,
) -> SweepResult:
    """Best corpus-wide threshold for ``profile`` (ties go to the higher threshold).

    Pass a precomputed :class:`ThresholdSweep` as ``scores`` (and ``labels=None``) to
    score several profiles from one sort.
    """
    if isinstance(scores, ThresholdSweep):
        sweep = scores
    else:
        if labels is None:
            raise ValueError("labels are required with raw scores")
        sweep = sweep_thresholds(scores, labels)
    raw = sweep.raw_scores(profile)
    # Exact float sums can differ in the last bits for equal scores; round before argmax.
    best = int(np.argmax(np.round(raw, 9)))
    n = sweep.n_windows
    return SweepResult(
        profile=profile,
        threshold=float(sweep.thresholds[best]),
        raw=float(raw[best]),
        null=-profile.fn_weight * n,
        perfect=profile.tp_weight * n,
        normalized=normalized_score(float(raw[best]), n, profile),
    )
