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

from detectors.situations import situation

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
class SituationEpisode:
    """One ``situation`` alert episode the worker emitted: its findings over all its versions."""

    uscc: str
    alert_id: str
    opened_on: date
    last_on: date  # business date of its last version
    findings: frozenset[str]
    diagnosis: str  # of all the findings it held


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
            "false_alerts_per_1000_enterprise_months": round(
                1000 * false / max(self.enterprise_months, 1), 3
            ),
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
        ok = any(
            t.anomaly_type in explains and alert.fired_on >= t.onset - GRACE
            for t in by_uscc.get(alert.uscc, [])
        )
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


# Situations ------------------------------------------------------------------------------
# One enterprise's alerts that fire within SITUATION_GAP of one another are one situation:
# what an operator looks at once, whatever number of rules it tripped.
SITUATION_GAP = timedelta(days=92)


@dataclass(frozen=True)
class Confounded:
    """An enterprise in a situation that is not an anomaly (a profile's confounder)."""

    uscc: str
    situation: str


def situations(alerts: list[FiredAlert]) -> list[list[FiredAlert]]:
    """Non-informational alerts grouped per enterprise into runs no more than SITUATION_GAP apart."""
    by_uscc: dict[str, list[FiredAlert]] = defaultdict(list)
    for alert in alerts:
        if alert.alert_type not in INFORMATIONAL:
            by_uscc[alert.uscc].append(alert)
    out: list[list[FiredAlert]] = []
    for uscc in sorted(by_uscc):
        run: list[FiredAlert] = []
        for alert in sorted(by_uscc[uscc], key=lambda a: (a.fired_on, a.alert_type)):
            if run and alert.fired_on - run[-1].fired_on > SITUATION_GAP:
                out.append(run)
                run = []
            run.append(alert)
        out.append(run)
    return out


# The diagnoses that name an injected anomaly correctly.
DIAGNOSES: dict[str, set[str]] = {
    "relocation": {"relocation"},
    "zombie": {"zombie_dormant"},
    "payroll_tax_mismatch": {"payroll_mismatch"},
    "abnormal_operation": {"abnormal_operation"},
    "legal_rep_churn": {"governance_churn"},
    "tax_collapse": {"distress", "signal:tax_collapse"},
    "layoff": {"distress", "signal:layoff"},
    "social_security_arrears": {"distress", "signal:social_security_arrears"},
    "invoice_drop": {"distress", "signal:invoice_drop"},
    "invoice_spike": {"signal:invoice_spike"},
}


def _explained(alert: FiredAlert, anomaly: Truth) -> bool:
    return (
        anomaly.anomaly_type in EXPLAINS.get(alert.alert_type, set())
        and alert.fired_on >= anomaly.onset - GRACE
    )


def _f1(p: float, r: float) -> float:
    return round(2 * p * r / (p + r), 4) if p + r else 0.0


def situation_figures(alerts: list[FiredAlert], truth: list[Truth]) -> dict[str, Any]:
    """Precision, recall and F1 counting situations instead of alerts.

    A situation is true when one of its alerts is a documented symptom (:data:`EXPLAINS`)
    of its enterprise's injected anomaly; an anomaly is detected when a true situation
    covers it. ``alerts_per_situation`` says how many alerts one situation cost on average;
    ``diagnosis_accuracy`` the share of true situations whose diagnosis
    (:func:`detectors.situations.situation`) names the injected anomaly (:data:`DIAGNOSES`).
    """
    by_uscc: dict[str, list[Truth]] = defaultdict(list)
    for t in truth:
        by_uscc[t.uscc].append(t)
    groups = situations(alerts)
    true, named, covered = 0, 0, set[tuple[str, str, date]]()
    for group in groups:
        hits = [t for t in by_uscc.get(group[0].uscc, []) for a in group if _explained(a, t)]
        true += bool(hits)
        covered.update((t.uscc, t.anomaly_type, t.onset) for t in hits)
        found = situation(a.alert_type for a in group)
        named += bool(hits) and found is not None and found.diagnosis in DIAGNOSES.get(hits[0].anomaly_type, set())
    return {
        "situations": len(groups),
        "true_situations": true,
        **_scored(true, len(groups), len(covered), len(truth), named),
        "alerts_per_situation": round(sum(len(g) for g in groups) / len(groups), 2) if groups else 0.0,
    }


def _scored(true: int, found: int, covered: int, anomalies: int, named: int) -> dict[str, float]:
    """Precision, recall, F1 and the share of true ones whose diagnosis names the anomaly."""
    precision = true / found if found else 0.0
    recall = covered / anomalies if anomalies else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": _f1(precision, recall),
            "diagnosis_accuracy": round(named / true, 4) if true else 0.0}  # fmt: skip


def episode_figures(episodes: list[SituationEpisode], truth: list[Truth]) -> dict[str, Any]:
    """Precision, recall and F1 of the situations the worker itself emitted (what subscribers get).

    An episode is true when one of its findings is a documented symptom (:data:`EXPLAINS`) of
    its enterprise's injected anomaly and it was still open a grace period before the onset;
    an anomaly is detected when a true episode covers it. Episodes made only of facts
    (:data:`INFORMATIONAL`: an exit, a missed filing) are left out, as those alerts are.
    """
    by_uscc: dict[str, list[Truth]] = defaultdict(list)
    for t in truth:
        by_uscc[t.uscc].append(t)
    episodes = [e for e in episodes if not e.findings <= INFORMATIONAL]
    true, named, covered = 0, 0, set[tuple[str, str, date]]()
    for episode in episodes:
        hits = [t for t in by_uscc.get(episode.uscc, [])
                if episode.last_on >= t.onset - GRACE and any(t.anomaly_type in EXPLAINS.get(f, set())
                                                              for f in episode.findings)]  # fmt: skip
        true += bool(hits)
        covered.update((t.uscc, t.anomaly_type, t.onset) for t in hits)
        named += bool(hits) and episode.diagnosis in DIAGNOSES.get(hits[0].anomaly_type, set())
    return {"episodes": len(episodes), "true_episodes": true,
            **_scored(true, len(episodes), len(covered), len(truth), named)}  # fmt: skip


def false_alerts_by_situation(
    alerts: list[FiredAlert],
    truth: list[Truth],
    confounded: list[Confounded],
    enterprises: list[str],
    months: int,
    festival_periods: list[int] | None = None,
) -> dict[str, dict[str, float]]:
    """False alerts per 1,000 enterprise-months, overall and per kind of enterprise.

    Rows: ``all``; ``clean`` (no anomaly, no confounder); each confounder situation (its
    enterprises without an anomaly); ``festival`` (all enterprises, alerts fired in a Spring
    Festival month or the month after — when that month's VAT return arrives).
    ``festival_periods`` are those month indexes (``year * 12 + month - 1``) in the window.
    """
    anomalous = {t.uscc: t for t in truth}
    by_uscc: dict[str, list[Truth]] = defaultdict(list)
    for t in truth:
        by_uscc[t.uscc].append(t)
    false_per: dict[str, int] = defaultdict(int)
    false_alerts: list[FiredAlert] = []
    for alert in alerts:
        if alert.alert_type in INFORMATIONAL:
            continue
        if not any(_explained(alert, t) for t in by_uscc.get(alert.uscc, [])):
            false_per[alert.uscc] += 1
            false_alerts.append(alert)
    groups: dict[str, set[str]] = defaultdict(set)
    groups["all"] = set(enterprises)
    confounded_usccs = {c.uscc for c in confounded}
    groups["clean"] = {u for u in enterprises if u not in anomalous and u not in confounded_usccs}
    for c in confounded:
        if c.uscc not in anomalous:
            groups[c.situation].add(c.uscc)
    out: dict[str, dict[str, float]] = {}
    for name, members in groups.items():
        count = sum(false_per.get(u, 0) for u in members)
        em = len(members) * months
        out[name] = {"enterprises": len(members), "enterprise_months": em, "false_alerts": count,
                     "per_1000_enterprise_months": round(1000 * count / em, 3) if em else 0.0}  # fmt: skip
    if festival_periods:
        window = set(festival_periods)
        count = sum(1 for a in false_alerts if _month(a.fired_on) in window)
        em = len(enterprises) * len(window)
        out["festival"] = {"enterprises": len(enterprises), "enterprise_months": em, "false_alerts": count,
                           "per_1000_enterprise_months": round(1000 * count / em, 3) if em else 0.0}  # fmt: skip
    return out
