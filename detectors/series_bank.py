"""Streaming detectors over each enterprise's high-frequency series (daily e-invoice amounts).

One :class:`~detectors.univariate.StreamingDetector` per enterprise and series, on the log of
the daily amount, in a bounded least-recently-used map (memory stays bounded however many
enterprises the park has). Scores pass an :class:`~detectors.calibration.AlertBudget`;
what passes becomes an ``invoice_anomaly`` finding with the detector's explanation.
The bank is plain picklable state: the worker checkpoints it with the scorer.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from detectors.calibration import AlertBudget
from detectors.findings import Finding
from detectors.univariate import StreamingDetector
from schemas.alert_catalogue import CATALOGUE, AlertType

DETECTOR_PARAMS: dict[str, Any] = {
    "window": 7, "bank_size": 120, "quantile": 0.99, "min_history": 30, "warm_up": 60,
}  # fmt: skip


@dataclass
class SeriesDetectorBank:
    max_series: int = 50_000
    # An informational "look here" signal: about 1 in 5,000 enterprise-days, and only scores
    # past the detector's own alert level (0.5).
    budget: AlertBudget = field(default_factory=lambda: AlertBudget(budget=0.0002, floor=0.5, min_seen=5000))
    _detectors: OrderedDict[str, StreamingDetector] = field(default_factory=OrderedDict)

    def __len__(self) -> int:
        return len(self._detectors)

    def _detector(self, key: str) -> StreamingDetector:
        detector = self._detectors.get(key)
        if detector is None:
            detector = self._detectors[key] = StreamingDetector(**DETECTOR_PARAMS)
            if len(self._detectors) > self.max_series:
                self._detectors.popitem(last=False)
        else:
            self._detectors.move_to_end(key)
        return detector

    def observe_invoice_day(self, uscc: str, name: str, day: str, amount: float) -> Finding | None:
        """Score then learn one day's invoiced amount; a finding if it alerts under the budget."""
        detector = self._detector(f"{uscc}/invoice_amount")
        x: dict[Hashable, Any] = {"log_amount": math.log1p(max(0.0, amount))}
        score = detector.score_one(x)
        parts = detector.explain()
        detector.learn_one(x)
        if not self.budget.admit("invoice_amount", score):
            return None
        direction = "spike" if parts["value"] >= parts.get("high", parts["value"]) else (
            "drop" if parts["value"] <= parts.get("low", parts["value"]) else "unusual pattern")  # fmt: skip
        zh = {"spike": "异常偏高", "drop": "异常偏低", "unusual pattern": "形态异常"}[direction]
        threshold = self.budget.threshold("invoice_amount")
        return Finding(
            alert_type=AlertType.INVOICE_ANOMALY.value, active=True, rule="streaming_detector",
            severity=CATALOGUE[AlertType.INVOICE_ANOMALY].severity,
            title_zh=f"开票序列异常：{name}", title_en=f"Unusual e-invoice series: {name}",
            explanation_zh=f"{name} {day} 开票 {amount:,.0f} 元，{zh}（流式检测得分 {score:.3f}，阈值 {threshold:.3f}）。",
            explanation_en=f"{name} invoiced {amount:,.0f} CNY on {day}: {direction} for its own series "
                           f"(streaming score {score:.3f} over the budget threshold {threshold:.3f}).",
            evidence={"day": day, "amount": round(amount), "score": round(score, 4), "threshold": round(threshold, 4),
                      "driver": parts.get("driver"), "direction": direction},
            decisive=("direction",),
        )  # fmt: skip
