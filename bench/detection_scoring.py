"""Scoring alerts against the simulator's ground truth: pure functions.

An injected anomaly is *detected* when an alert of the same type fires for its enterprise
no earlier than a month before the onset. An alert episode is *true* when its enterprise
carries an injected anomaly that the alert's condition is a documented symptom of
(:data:`EXPLAINS`; e.g. a relocation's headcount drop legitimately fires ``layoff``), from a
month before the onset on. Alerts of :data:`INFORMATIONAL` types (facts, not anomalies:
deregistrations, missed returns, credit downgrades) are counted apart.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

EXPLAINS: dict[str, set[str]] = {
    "relocation": {"relocation"},
    "layoff": {"layoff", "relocation", "zombie"},
    "tax_collapse": {"tax_collapse", "zombie", "payroll_tax_mismatch", "abnormal_operation"},
    "zombie": {"zombie"},
    "social_security_arrears": {"social_security_arrears"},
    "payroll_tax_mismatch": {"payroll_tax_mismatch"},
    "legal_rep_churn": {"legal_rep_churn"},
    "abnormal_operation": {"abnormal_operation"},
    "invoice_spike": {"invoice_spike"},
    "invoice_drop": {"invoice_drop", "zombie", "tax_collapse", "relocation", "abnormal_operation"},
    "peer_divergence": {"tax_collapse", "zombie", "payroll_tax_mismatch", "abnormal_operation", "relocation"},
}
# Facts and look-here signals, not anomaly claims: deregistrations, missed returns, credit
# downgrades, and the budgeted streaming-detector signal on invoice series.
INFORMATIONAL = {"enterprise_exit", "missing_filings", "tax_credit_downgrade", "invoice_anomaly"}
GRACE = timedelta(days=31)


@dataclass(frozen=True)
class FiredAlert:
    uscc: str
    alert_type: str
    alert_id: str
    fired_on: date  # business date of the event that fired it


@dataclass(frozen=True)
class Truth:
    uscc: str
    anomaly_type: str
    onset: date


def _month(d: date) -> int:
    return d.year * 12 + d.month - 1


@dataclass
class DetectionReport:
    anomalies: int = 0
    detected: int = 0
    alerts: int = 0
    true_alerts: int = 0
    informational: int = 0
    enterprise_months: int = 0
    delays_periods: list[int] = field(default_factory=list)
    delays_days: list[int] = field(default_factory=list)
    per_type: dict[str, dict[str, float]] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        precision = self.true_alerts / self.alerts if self.alerts else 0.0
        recall = self.detected / self.anomalies if self.anomalies else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        false = self.alerts - self.true_alerts
        ordered = sorted(self.delays_periods)
        return {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "median_delay_periods": statistics.median(ordered) if ordered else None,
            "p90_delay_periods": ordered[int(0.9 * (len(ordered) - 1))] if ordered else None,
            "median_delay_days": statistics.median(self.delays_days) if self.delays_days else None,
            "false_alerts_per_1000_enterprise_months": round(1000 * false / max(self.enterprise_months, 1), 3),
            "informational_alerts_per_1000_enterprise_months": round(
                1000 * self.informational / max(self.enterprise_months, 1), 3
            ),
            "anomalies": self.anomalies,
            "alerts": self.alerts,
            "per_type": self.per_type,
        }


def score(alerts: list[FiredAlert], truth: list[Truth], enterprise_months: int) -> DetectionReport:
    report = DetectionReport(anomalies=len(truth), enterprise_months=enterprise_months)
    by_uscc: dict[str, list[Truth]] = defaultdict(list)
    for t in truth:
        by_uscc[t.uscc].append(t)
    first: dict[tuple[str, str], date] = {}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # alert type → [alerts, true]
    for alert in alerts:
        key = (alert.uscc, alert.alert_type)
        first[key] = min(first.get(key, alert.fired_on), alert.fired_on)
        if alert.alert_type in INFORMATIONAL:
            report.informational += 1
            continue
        explains = EXPLAINS.get(alert.alert_type, set())
        ok = any(t.anomaly_type in explains and alert.fired_on >= t.onset - GRACE for t in by_uscc.get(alert.uscc, []))
        report.alerts += 1
        report.true_alerts += ok
        counts[alert.alert_type][0] += 1
        counts[alert.alert_type][1] += ok
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # anomaly type → [anomalies, detected]
    for t in truth:
        fired = first.get((t.uscc, t.anomaly_type))
        hit = fired is not None and fired >= t.onset - GRACE
        found[t.anomaly_type][0] += 1
        if hit and fired is not None:
            found[t.anomaly_type][1] += 1
            report.detected += 1
            report.delays_periods.append(max(0, _month(fired) - _month(t.onset)))
            report.delays_days.append(max(0, (fired - t.onset).days))
    for kind in sorted(set(found) | set(counts)):
        n_alerts, n_true = counts[kind] if kind in counts else (0, 0)
        n_anom, n_hit = found[kind] if kind in found else (0, 0)
        p = n_true / n_alerts if n_alerts else 0.0
        r = n_hit / n_anom if n_anom else 0.0
        report.per_type[kind] = {
            "anomalies": n_anom, "detected": n_hit, "alerts": n_alerts, "true_alerts": n_true,
            "precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
        }  # fmt: skip
    return report
