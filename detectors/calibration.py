"""Alert thresholds calibrated online to an alert budget, one per detector.

A detector's scores are not comparable to a fixed constant across enterprises, seasons and
parks; what an operator can state is a budget — "at most this share of evaluations may
alert". :class:`AlertBudget` keeps a streaming quantile of each detector's scores (River's
P² estimator) and admits a score only when it exceeds both that quantile and the detector's
own floor. Score first, then learn: the threshold never includes the score it judges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from river import stats


@dataclass
class _Threshold:
    quantile: stats.Quantile
    seen: int = 0
    admitted: int = 0


@dataclass
class AlertBudget:
    """Per-detector streaming thresholds.

    Parameters
    ----------
    budget
        Share of evaluations allowed to alert (e.g. ``0.002``): the threshold is the
        ``1 - budget`` quantile of the scores seen.
    floor
        A score must also reach this value (the detector's own alert level).
    min_seen
        Evaluations needed before anything is admitted (the quantile needs data).

    Examples
    --------
    >>> budget = AlertBudget(budget=0.05, floor=0.5, min_seen=50)
    >>> [budget.admit("d", 0.1 + (i % 10) / 100) for i in range(100)].count(True)
    0
    >>> budget.admit("d", 0.9), budget.threshold("d") > 0.15
    (True, True)
    """

    budget: float = 0.002
    floor: float = 0.5
    min_seen: int = 500
    _thresholds: dict[str, _Threshold] = field(default_factory=dict)

    def _for(self, detector: str) -> _Threshold:
        found = self._thresholds.get(detector)
        if found is None:
            found = self._thresholds[detector] = _Threshold(stats.Quantile(1.0 - self.budget))
        return found

    def threshold(self, detector: str) -> float:
        value = self._for(detector).quantile.get()
        return max(self.floor, float(value) if value is not None else self.floor)

    def admit(self, detector: str, score: float) -> bool:
        """Whether ``score`` alerts under the budget; then learn it."""
        entry = self._for(detector)
        ok = entry.seen >= self.min_seen and score >= self.threshold(detector)
        entry.quantile.update(score)
        entry.seen += 1
        entry.admitted += ok
        return ok

    def rates(self) -> dict[str, float]:
        """Share of evaluations admitted so far, per detector."""
        return {name: t.admitted / t.seen for name, t in self._thresholds.items() if t.seen}
