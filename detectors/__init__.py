"""Online models and rules over enterprise state: scoring, forecasting, anomaly detection.

Pure: imports only :mod:`schemas` and :mod:`config`; no Kafka, ClickHouse or Faust, so the
same code runs in the worker, in a backtest and in a benchmark.
"""

from detectors.alerting import AlertContext, alert_id, transition
from detectors.findings import Finding
from detectors.rules import RULES, evaluate

__all__ = [
    "AlertContext",
    "Finding",
    "RULES",
    "alert_id",
    "evaluate",
    "transition",
]
