"""StreamingDetector: range exceedance + nearest-neighbour novelty, with a refractory period.

Design (one parameter set for every series)
-------------------------------------------
Two evidence channels are computed for each value before it is learnt:

``range``
    :class:`~detectors.univariate.extremes.RangeExceedance`: how far the value lies beyond
    the all-time ``[min, max]``, in units of that range. Catches spikes, drops and level
    shifts to levels never seen.
``novelty``
    :class:`~detectors.univariate.neighbours.NeighbourBank`: RMS distance from the window
    of the last ``window`` values to its nearest neighbour among the last ``bank_size``
    past windows (the KNN-CAD idea). The distance is compared with the distances of the
    last ``bank_size`` rows, held in a :class:`~detectors.univariate.quantiles.SortedWindow`:
    ``novelty = (d - median) / (q - median)`` with ``q`` the ``quantile`` of that
    reference, a scale-free robust z. The reference spans the stretch the bank remembers:
    a distance is judged against the distances met over the same past it was searched in. Catches shapes never seen inside the usual range (a
    flattened day, a doubled or missing peak, a burst of spikes). A novelty that does not
    beat every novelty of the last ``min_history`` rows is damped: a new shape is reported
    when it appears, not for as long as it lasts.

The evidence is ``max(range, novelty_weight * novelty)``. When it reaches ``alert_level``
the next ``2 * window`` rows are damped (NAB rewards only the earliest detection in a
window and charges every extra false positive). That span is not a free parameter: a
value stays inside the embeddings for ``window`` rows, and each of those embeddings reaches
the bank ``window`` rows later (the bank's gap), so for ``2 * window`` rows after an
anomaly its own echoes can look novel; after that the bank holds them. The published score is
``evidence / (evidence + alert_level)``: monotone, in ``[0, 1)``, 0.5 at the alert level,
without piles at exactly 1.0. :meth:`StreamingDetector.explain` returns every component.

Only the value is used (never the timestamp or the file), and nothing depends on the
length of the series.

How well it generalises (leave-one-category-out, ``python -m bench.nab_cv``)
---------------------------------------------------------------------------
For each NAB category the reference ``quantile`` (0.98 / 0.99 / 0.995) and ``bank_size``
(1000 / 1500 / 2000) are chosen on the other categories, each profile's threshold too,
and the held-out category is scored with them: **73.0 / 68.2 / 76.3** standard / low-FP /
low-FN (in-sample 74.4 / 69.6 / 77.8; about 19 µs of CPU per record). Every fold picks
``quantile=0.98, bank_size=1500``, the defaults. The gain over the previous form (71.1 /
65.7 / 74.5 cross-validated, 72.6 in-sample) comes from the reference spanning the bank
(1500 distances instead of 1000, so its quantile rests on ~30 distances beyond it instead
of ~10): two more windows are found (the level-shifted regime of
rds_cpu_utilization_cc0c53, the third spike of exchange-3_cpc), for 13 more false
positives (58 against 45). It is not a flat optimum. Cross-validated with the threshold
chosen per fold, single changes (standard): quantile 0.97 / 0.975 / 0.985 / 0.99 -> 72.8
/ 74.0 / 69.9 / 67.1; bank_size 1000 / 1250 / 1750 / 2000 -> 69.8 / 70.7 / 72.8 / 71.1;
window 6 / 10 -> 70.7 / 71.8; novelty_weight 0.003 / 0.005 -> 72.1 / 72.4; alert_level
0.006 / 0.008 -> 72.5 / 72.8; min_history 50 / 200 -> 72.9 / 72.9. The grid brackets
values found in-sample and the tie of the reference to the bank was kept after its
cross-validated score was seen, so the figure is somewhat optimistic; on the full 58-file
corpus the previous form scored 68.0 / 59.6 / 72.7 against its 72.6 in-sample here.

Third round (cross-validated standard with the threshold per fold, vs 71.2 for the
previous form; none kept): range exceedance in units of the distance from the median to
the extreme (70.4), or of an exponential tail fitted to the top 1 % of the last values
(70.3); the novelty as an exponential tail excess over the 80-95 % quantile of the
distances (<= 70.5 in-sample); windows centred on their mean or last value before the
search (69.2 / 68.1); a reservoir instead of a ring for the bank, whole or half
(71.2 / 71.1); refractory rows beating the alarm that started them by 1-5x raising a new
alarm (69.6-71.2); alarm scores weighted by the stream's share of quiet rows since the last
alarm (69.7-70.0); a range exceedance over the last 200 / 500 values next to the all-time
one (<= 70.0 / 72.9 in-sample); an alarming value not learnt into the range, wholly or by
half (66.3 / 70.3); distances of the refractory rows kept out of the reference (71.8, but
66.6 with the quantile chosen per fold: unstable). The refractory span barely matters
(5 / 10 / 14-20 rows -> 72.2 / 72.5 / 72.6 in-sample), nor does ``min_history`` as the
novelty-peak span (50-200: no change), which is why neither is a parameter any more.

Earlier rounds, with the previous form (reference of 1000 distances, quantile 0.99,
refractory 20).

Tried on NAB and dropped (in-sample standard score of the variant vs. ~72.6 kept):
Numenta-style Gaussian anomaly likelihood of the distance (~70-71); distances in units of
the range instead of raw units (71.2); k-th (k = 2, 3) instead of first neighbour (~71.4);
error of the neighbour's successor as a forecast (<= 66); a second, coarse (block-mean)
neighbour channel (its apparent gain came only from its warm-up); Gaussian z of the value
or its differences; decaying or windowed envelopes or a smoothed series instead of the
all-time range; weighting range records by the time since the previous record or by the
stream's age; refractory periods of 100+ rows, which swallow a real anomaly that follows
a false alarm.

Second round (each as an extra channel or rule next to the two above, with the parameters
above unchanged; standard score vs 72.6; kept only if >= +0.5 and stable under ±20-50%
changes of its own parameters; none was kept):

* CUSUM level shifts: robust z of the value against the median and IQR of the last 200
  values, two-sided CUSUM (drift 0.5), calibrated against its own last 1000 statistics
  like the novelty, max-combined with weight w. w = 3e-3 gives 74.0, but the whole gain is
  one window (the third of exchange-3_cpc) plus one false alarm on art_noisy; w = 2.5e-3
  72.6, 4e-3 73.2, 5e-3 73.6 (gains TravelTime_451 for ~24 more false alarms), 6e-3
  69.8; drift 1.0 72.3, 2.0 65.9; span 100 72.3, 150-400 73.9-74.0. A knife edge.
* Two-window mean difference (last 6 vs previous 48; 12 or 24 vs 48 or 144),
  self-calibrated the same way: <= 72.6 (72.2 at w = 4e-3, 55 at 8e-3). It does not see
  art_daily_nojump (a missing daily jump is not a shift) and the jumps files are already
  caught by the novelty.
* Flatline (std of the last 8 values against the 10-90 % spread of the last 60,
  self-calibrated): 72.6 at w <= 6e-4 (never decisive), 72.1-72.2 at 1e-3-2e-3, 71.4 at
  4e-3.
* Local robust spike (|x - median| / (q90 - q10) of the last 60): 72.2 at 1e-4, 71.8 at
  3e-4, 66.6-67.8 at 1e-3-4e-3. Spectral residual (Ren et al., 2019; 64 values,
  self-calibrated): 72.6 / 72.4 / 70.8 at 1e-3 / 2e-3 / 4e-3, and ~6x slower.
* Range beyond the k-th most extreme value (k = 2, 3, 5) instead of min/max: 70.4 / 67.6
  / 64.7. Sum instead of max of the channels: 72.5. Range exceedance gated by the novelty
  of the same row: 71.0-72.5.
* Adaptive refractory: for 100-400 rows after an alarm, damp evidence below 1-2x that
  alarm's: 58.9-71.2 (windows often come in pairs); restarting the refractory while the
  evidence stays above the alert level: 72.6 (no change). Fixed refractory 10 / 30 / 40 /
  60: 72.5 / 72.7 / 71.2 / 69.7.
* Multi-scale novelty (mean, median or min of the robust z over windows 6, 8, 10; or 8
  with 4 or 12): 70.4-71.9, also with the novelty weight re-scaled.

The misses that remain are mostly spikes inside a range widened by an earlier, larger
spike (exchange-3/4, TravelTime_387, iio NetworkIn, grok) and windows with nothing visible
in the value alone (ec2_disk_write_bytes_c0d644's third, ec2_cpu fe7f93's third). For
reference, the kept parameters are themselves a narrow optimum: window 6 / 10 -> 70.9,
quantile 0.98 / 0.995 -> 71.8 / 69.6, alert_level 0.006 / 0.008 -> 71.4 / 72.3,
novelty_weight 0.003 / 0.005 -> 71.8 / 71.2.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
from river import base

from detectors.univariate.extremes import RangeExceedance
from detectors.univariate.neighbours import NeighbourBank
from detectors.univariate.quantiles import SortedWindow

__all__ = ["StreamingDetector"]

_DAMPING = 1e-3
# Floor of the novelty reference spread, as a fraction of the range (flat series).
_SPREAD_FLOOR = 1e-4


class StreamingDetector(base.AnomalyDetector):
    """Univariate streaming anomaly detector (score in ``[0, 1)``, higher = more anomalous).

    ``x`` holds one numeric feature (its name does not matter; the single value is taken),
    or none when the value is missing on that row (scored 0.0, not learnt). Score first,
    then learn. Memory is bounded: ``bank_size * window`` floats for the neighbour bank and
    a few rings of at most ``bank_size`` floats.

    Parameters
    ----------
    window
        Values per embedding for the nearest-neighbour channel.
    bank_size
        Past embeddings searched, and past neighbour distances forming the reference
        distribution of the novelty.
    quantile
        Upper quantile of that reference: novelty = ``(d - median) / (q - median)``.
    min_history
        Distances needed in the reference before novelty is reported; also the span a
        novelty must beat (every novelty of this many previous rows) to count in full.
    novelty_weight
        Converts the novelty (robust z) into range-exceedance units.
    alert_level
        Evidence at which a detection damps the next ``2 * window`` rows (score 0.5).
    warm_up
        Rows scored 0.0 while the channels fill.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(7)
    >>> model = StreamingDetector()
    >>> scores = []
    >>> for i in range(600):
    ...     value = 10.0 + math.sin(i / 10) + rng.gauss(0.0, 0.1)
    ...     scores.append(model.score_one({"cpu": value}))
    ...     model.learn_one({"cpu": value})
    >>> scores[0], max(scores[200:]) < 0.5
    (0.0, True)
    >>> round(model.score_one({"cpu": 11.5}), 3)
    0.945
    >>> explanation = model.explain()
    >>> explanation["driver"], round(explanation["range"], 3), round(explanation["high"], 2)
    ('range', 0.12, 11.2)
    """

    def __init__(
        self,
        window: int = 8,
        bank_size: int = 1500,
        quantile: float = 0.98,
        min_history: int = 100,
        novelty_weight: float = 4e-3,
        alert_level: float = 0.007,
        warm_up: int = 150,
    ) -> None:
        self.window = window
        self.bank_size = bank_size
        self.quantile = quantile
        self.min_history = min_history
        self.novelty_weight = novelty_weight
        self.alert_level = alert_level
        self.warm_up = warm_up
        self._n = 0
        self._state: _State | None = None
        self._cache: tuple[int, float, dict[str, Any]] | None = None
        self._last: dict[str, Any] = {}

    @classmethod
    def _unit_test_params(cls) -> Any:
        yield {}
        yield {"window": 4, "bank_size": 200, "min_history": 50, "warm_up": 50}

    def score_one(self, x: dict[base.typing.FeatureName, Any]) -> float:
        """Score of ``x`` against what has been learnt so far (nothing is stored).

        An empty ``x`` (the feature is missing on this row) scores 0.0.
        """
        value = _single_value(x)
        if value is None:
            self._last = {}
            return 0.0
        parts = self._evaluate(value)
        self._last = parts
        return float(parts["score"])

    def learn_one(self, x: dict[base.typing.FeatureName, Any]) -> None:
        """Learn ``x`` (reuses the evaluation of a preceding ``score_one`` of the same x).

        An empty ``x`` is skipped: nothing is learnt.
        """
        value = _single_value(x)
        if value is None:
            return
        parts = self._evaluate(value)
        if self._state is None:
            self._state = _State(self)
        self._state.learn(value, parts, self)
        self._n += 1
        self._cache = None

    def explain(self) -> dict[str, Any]:
        """Components of the last score: channel values, the driver and the range."""
        return dict(self._last)

    def _evaluate(self, value: float) -> dict[str, Any]:
        if self._cache is not None and self._cache[0] == self._n and self._cache[1] == value:
            return self._cache[2]
        state = self._state
        parts: dict[str, Any] = {
            "value": value,
            "range": 0.0,
            "distance": None,
            "novelty": 0.0,
            "novelty_peak": 0.0,
            "evidence": 0.0,
            "refractory": False,
            "score": 0.0,
            "driver": "warm-up",
        }
        if state is not None:
            parts.update(state.evaluate(value, self))
        if self._n >= self.warm_up:
            evidence = max(parts["range"], self.novelty_weight * parts["novelty_peak"])
            parts["evidence"] = evidence
            parts["driver"] = "range" if parts["range"] >= evidence else "novelty"
            shown = evidence * _DAMPING if parts["refractory"] else evidence
            parts["score"] = shown / (shown + self.alert_level)
        self._cache = (self._n, value, parts)
        return parts


class _State:
    """Heavy state of a :class:`StreamingDetector`, built on the first ``learn_one``."""

    def __init__(self, model: StreamingDetector) -> None:
        self.extremes = RangeExceedance()
        self.bank = NeighbourBank(model.window, model.bank_size, gap=model.window)
        self.distances = SortedWindow(model.bank_size)
        self.recent: deque[float] = deque(maxlen=model.window)
        # The same last ``window`` values as an array (oldest first) for the embedding.
        self.tail = np.zeros(model.window)
        # Monotone deque of (row, novelty): the maximum novelty of the last min_history rows.
        self.peaks: deque[tuple[int, float]] = deque()
        self.quiet = 0

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["tail"] = self.tail.tobytes()  # as bytes: faster to pickle (see NeighbourBank)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if isinstance(state["tail"], bytes):  # checkpoints from before hold the array itself
            state["tail"] = np.frombuffer(state["tail"]).copy()
        self.__dict__.update(state)

    def evaluate(self, value: float, model: StreamingDetector) -> dict[str, Any]:
        out: dict[str, Any] = {"refractory": self.quiet > 0}
        n = model._n
        out["range"] = self.extremes.excess(value)
        out["low"], out["high"] = self.extremes.low, self.extremes.high
        distance = self._distance(value)
        novelty = 0.0
        if distance is not None and n >= model.warm_up and len(self.distances) >= model.min_history:
            novelty = self.distances.excess(distance, model.quantile, _SPREAD_FLOOR * self.extremes.width)
        peaks, since = self.peaks, n - model.min_history
        if peaks and peaks[0][0] >= since:  # the front is the maximum; usually still current
            beaten = peaks[0][1]
        else:
            beaten = next((s for row, s in peaks if row >= since), -math.inf)
        out["distance"] = distance
        out["novelty"] = novelty
        out["novelty_peak"] = novelty if novelty > beaten else novelty * _DAMPING
        return out

    def _distance(self, value: float) -> float | None:
        if len(self.recent) < self.bank.dim or self.bank.filled == 0:
            return None
        vector = np.empty(self.bank.dim)
        vector[:-1] = self.tail[1:]
        vector[-1] = value
        return self.bank.distance(vector)

    def learn(self, value: float, parts: dict[str, Any], model: StreamingDetector) -> None:
        n = model._n
        if parts["distance"] is not None:
            self.distances.add(parts["distance"])
        novelty = parts["novelty"]
        while self.peaks and self.peaks[-1][1] <= novelty:
            self.peaks.pop()
        self.peaks.append((n, novelty))
        while self.peaks and self.peaks[0][0] < n - model.min_history:
            self.peaks.popleft()
        if self.quiet > 0:
            self.quiet -= 1
        elif parts["evidence"] >= model.alert_level:
            self.quiet = 2 * model.window
        self.extremes.update(value)
        self.recent.append(value)
        # A fresh array each row: the bank keeps what it is given.
        tail = np.empty(model.window)
        tail[:-1] = self.tail[1:]
        tail[-1] = value
        self.tail = tail
        if len(self.recent) == model.window:
            self.bank.add(tail)


def _single_value(x: dict[base.typing.FeatureName, Any]) -> float | None:
    if not x:
        return None
    if len(x) != 1:
        raise ValueError(f"StreamingDetector takes one feature, got {len(x)}: {sorted(map(str, x))}")
    return float(next(iter(x.values())))
