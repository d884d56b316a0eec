"""Exit-risk probability: an online River classifier trained with delayed labels.

Each month an active enterprise leaves one *snapshot* of its model inputs (the last one
seen in that business month). Its label is known later:

* 1 when the enterprise exits (status ``deregistered``, ``moved_out`` or ``revoked``) within
  ``horizon_months`` after the snapshot's month;
* 0 once the business clock is more than ``horizon_months`` past the snapshot's month
  without an exit.

Both kinds are *learned* when the snapshot matures (the clock passes its horizon), not
when a positive becomes known: learning positives at once and negatives ``horizon`` months
later would teach the model that "recent-looking" inputs mean exit whenever the inputs
drift over time (growth, history length), which measurably inverted its ranking.

Guarding against label leakage:

* a snapshot is taken only from a state whose status is not an exit status, i.e. from
  data applied *before* the exit event; the exit event's own score call takes no snapshot,
  it only labels the pending ones;
* the inputs never include the registration status, ``in_park`` or the district — what the
  exit rule (:mod:`detectors.rules`) and the label are made of; the abnormal-operation
  listing is an input because it is public before, and distinct from, an exit;
* features come from :func:`detectors.features.enterprise_features`, which reads only the
  state, i.e. events applied so far (late filings included once they have arrived);
* predictions are made before learning ("score then learn"), and the labels of enterprises
  held out for evaluation (``holdout``) are never learned.
"""

from __future__ import annotations

import math
from array import array
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from river import compose, linear_model, optim, preprocessing

EXIT_STATUSES = frozenset({"deregistered", "moved_out", "revoked"})
_LOG_INPUTS = ("revenue_annual", "headcount", "invoice_amount_90d", "capital_injections_24m", "age_months")
_PLAIN_INPUTS = (
    "revenue_yoy", "revenue_3m_growth", "revenue_mom", "headcount_change_12m", "invoice_trend",
    "vat_filing_gaps", "ss_filing_gaps", "arrears_ratio", "overdue_days_12m", "legal_rep_changes_12m",
    "abnormal_operation", "credit_score", "tax_burden", "high_tech",
)  # fmt: skip


def exit_inputs(features: Mapping[str, float], dims: Mapping[str, float]) -> dict[str, float]:
    """The classifier's inputs: log-scaled sizes, growth and compliance features, dimensions."""
    x = {f"log_{k}": math.log1p(max(0.0, features[k])) for k in _LOG_INPUTS if k in features}
    x.update({k: features[k] for k in _PLAIN_INPUTS if k in features})
    x.update({f"dim_{k}": v / 100.0 for k, v in dims.items()})
    x["has_yoy"] = 1.0 if "revenue_yoy" in features else 0.0
    # shapes a linear model cannot draw itself: start-ups and decliners both exit more often
    if "age_months" in features:
        x["young"] = 1.0 if features["age_months"] < 36 else 0.0
    if "cit_burden" in features:
        x["no_profit_tax"] = 1.0 if features["cit_burden"] <= 0 else 0.0
    for name in ("revenue_yoy", "headcount_change_12m"):
        if name in features:
            x[f"abs_{name}"] = abs(features[name])
    return x


Snapshots = OrderedDict[str, tuple[tuple[str, ...], "array[float]", bool]]  # uscc → (input names, values, label)


class ExitRiskModel:
    """Logistic regression (with standard scaling) over monthly snapshots, labelled late.

    Parameters
    ----------
    horizon_months
        An exit within this many months after a snapshot's month makes it a positive.
    learning_rate
        SGD step.
    max_pending
        Unlabelled snapshots kept; the oldest are dropped (unlearned) beyond it.
    """

    def __init__(self, horizon_months: int = 6, learning_rate: float = 0.001, max_pending: int = 500_000) -> None:
        self.horizon_months = horizon_months
        self.learning_rate = learning_rate
        self.max_pending = max_pending
        self.model = compose.Pipeline(
            preprocessing.StandardScaler(),
            linear_model.LogisticRegression(optimizer=optim.SGD(learning_rate)),
        )
        # month → uscc → (input names, their values, label): a million pending snapshots as
        # dicts took ~1.5 KB each; the names tuple is shared by every snapshot with the same
        # inputs and the values are packed doubles (exact: a float is a double). A month's
        # snapshots are ordered: past ``max_pending`` the first of the oldest month is
        # dropped, and a plain dict finds its first entry only after every one deleted
        # before it (a million enterprises: ~10% of the worker's time in that search).
        self.pending: dict[int, Snapshots] = {}
        self._layouts: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.months: dict[str, list[int]] = {}
        self.size = 0
        self.clock: int | None = None
        self.positives = 0
        self.negatives = 0

    def predict(self, x: dict[str, float]) -> float:
        """Probability of an exit within the horizon (0 until a first label has been learned)."""
        if not self.positives and not self.negatives:
            return 0.0
        proba = self.model.predict_proba_one(x).get(True, 0.0)
        return round(float(proba), 4)

    def snapshot(self, uscc: str, month: int, x: dict[str, float]) -> None:
        """Keep ``x`` as the enterprise's snapshot for ``month`` (replacing that month's)."""
        bucket = self.pending.get(month)
        if bucket is None:
            bucket = self.pending[month] = OrderedDict()
        if uscc not in bucket:
            self.months.setdefault(uscc, []).append(month)
            self.size += 1
        bucket[uscc] = (*self._pack(x), False)
        while self.size > self.max_pending:
            oldest = min(self.pending)
            dropped = next(iter(self.pending[oldest]))
            self._drop(dropped, oldest)

    def exited(self, uscc: str, month: int) -> int:
        """The enterprise exited in ``month``: its pending snapshots within the horizon are
        positives (learned when they mature); returns how many."""
        ones = 0
        for snap_month in self.months.pop(uscc, []):
            bucket = self.pending.get(snap_month)
            if bucket is not None and uscc in bucket and 0 <= month - snap_month <= self.horizon_months:
                bucket[uscc] = (*bucket[uscc][:2], True)
                ones += 1
        return ones

    def advance(self, month: int) -> None:
        """Move the business clock; snapshots more than the horizon behind it are learned."""
        if self.clock is not None and month <= self.clock:
            return
        self.clock = month
        for snap_month in sorted(m for m in self.pending if m + self.horizon_months < month):
            matured = self.pending.pop(snap_month)
            for uscc in sorted(matured):  # one order whatever order they were taken in
                names, values, label = matured[uscc]
                self.size -= 1
                self._unlink(uscc, snap_month)
                self._learn(dict(zip(names, values, strict=True)), label)

    def forget(self, uscc: str) -> None:
        """Drop an enterprise's pending snapshots without learning them."""
        for snap_month in list(self.months.get(uscc, [])):
            self._drop(uscc, snap_month)

    def _drop(self, uscc: str, month: int) -> None:
        bucket = self.pending.get(month)
        if bucket is not None and bucket.pop(uscc, None) is not None:
            self.size -= 1
            if not bucket:
                del self.pending[month]
        self._unlink(uscc, month)

    def _unlink(self, uscc: str, month: int) -> None:
        months = self.months.get(uscc)
        if months is not None and month in months:
            months.remove(month)
            if not months:
                del self.months[uscc]

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Checkpoints written before snapshots were packed held ``(x, label)`` pairs."""
        self.__dict__.update(state)
        self.pending = {month: bucket if isinstance(bucket, OrderedDict) else OrderedDict(bucket)
                        for month, bucket in self.pending.items()}  # fmt: skip  # before ordered buckets
        if "_layouts" in state:
            return
        self._layouts = {}
        for bucket in self.pending.values():
            for uscc, (x, label) in list(bucket.items()):  # type: ignore[misc]
                bucket[uscc] = (*self._pack(x), label)

    def _pack(self, x: dict[str, float]) -> tuple[tuple[str, ...], array[float]]:
        """The snapshot's input names (one shared tuple per layout) and its values, packed."""
        names = tuple(x)
        return self._layouts.setdefault(names, names), array("d", x.values())

    def _learn(self, x: dict[str, float], label: bool) -> None:
        self.model.learn_one(x, label)
        if label:
            self.positives += 1
        else:
            self.negatives += 1
