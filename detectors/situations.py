"""One situation per enterprise: correlated findings become one diagnosis with its evidence.

An enterprise in trouble trips several rules — a relocation shows as a headcount drop, an
invoice drop, peer divergence and, at last, the register change. :func:`situation` folds
the alert types that are open for one enterprise into a :class:`Situation`: a diagnosis
(relocation, exit, zombie / dormant, payroll mismatch, abnormal operation, distress, or the
single signal), the independent sources that corroborate it, and a confidence that rises
as independent sources agree (``1 - Π(1 - p_source)``). The findings stay as its evidence.

Examples
--------
>>> s = situation(["invoice_drop", "layoff", "tax_collapse", "peer_divergence"])
>>> s.diagnosis, s.sources, s.confidence
('distress', ('invoices', 'peers', 'social_security', 'tax'), 0.974)
>>> situation(["relocation", "layoff"]).diagnosis
'relocation'
>>> situation(["tax_collapse"]).confidence < situation(["tax_collapse", "layoff"]).confidence
True
>>> situation(["tax_credit_downgrade"]) is None  # informational facts make no situation
True

:func:`situation_finding` turns an enterprise's open alerts into the finding of alert type
``situation``: the worker emits it through the same lifecycle as every other alert (firing,
updated when the diagnosis or the corroborating sources change, resolved when the last
finding resolves), and subscribers get it instead of each finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from detectors.alerting import AlertContext, transition
from detectors.findings import Finding
from detectors.rules import resolution
from schemas import Alert, EnterpriseState, Severity
from schemas.alert_catalogue import CATALOGUE, AlertType, diagnosis_labels
from schemas.delivery import SEVERITY_RANK

# Which department's data each finding rests on; cross-source rules rest on two.
SOURCES: dict[str, tuple[str, ...]] = {
    "relocation": ("register",),
    "abnormal_operation": ("register",),
    "legal_rep_churn": ("register",),
    "enterprise_exit": ("register",),
    "tax_collapse": ("tax",),
    "missing_filings": ("tax",),
    "invoice_drop": ("invoices",),
    "invoice_spike": ("invoices",),
    "invoice_anomaly": ("invoices",),
    "layoff": ("social_security",),
    "social_security_arrears": ("social_security",),
    "payroll_tax_mismatch": ("social_security", "tax"),
    "zombie": ("invoices", "social_security", "tax"),
    "peer_divergence": ("peers",),
}
# Findings that are facts to know rather than trouble to diagnose.
INFORMATIONAL = frozenset({"tax_credit_downgrade", "list_change", "data_quality"})
NOT_EVIDENCE = INFORMATIONAL | {"situation"}  # what a situation is not made of (itself included)
# Findings that say activity is falling away (distress when independent sources agree).
DECLINE = frozenset({"tax_collapse", "invoice_drop", "layoff", "social_security_arrears", "peer_divergence",
                     "missing_filings"})  # fmt: skip
# The first diagnosis whose finding is present wins: the most specific explanation.
SPECIFIC: tuple[tuple[str, str], ...] = (
    ("enterprise_exit", "exit"),
    ("relocation", "relocation"),
    ("zombie", "zombie_dormant"),
    ("payroll_tax_mismatch", "payroll_mismatch"),
    ("abnormal_operation", "abnormal_operation"),
    ("legal_rep_churn", "governance_churn"),
)
SOURCE_CONFIDENCE = 0.6  # what one source alone is worth when the finding gives no confidence
SOURCE_LABELS: dict[str, tuple[str, str]] = {
    "register": ("登记", "register"), "tax": ("税务", "tax"), "invoices": ("发票", "e-invoices"),
    "social_security": ("社保", "social security"), "peers": ("同行业", "industry peers"),
}  # fmt: skip


@dataclass(frozen=True)
class Situation:
    """What is going on with one enterprise, and the findings that say so."""

    diagnosis: str
    findings: tuple[str, ...]
    sources: tuple[str, ...]
    confidence: float


def diagnose(types: Iterable[str]) -> str:
    """The diagnosis of a set of (non-informational) alert types."""
    present = set(types)
    for alert_type, diagnosis in SPECIFIC:
        if alert_type in present:
            return diagnosis
    decline = present & DECLINE
    if len({s for t in decline for s in SOURCES.get(t, (t,))}) >= 2:
        return "distress"
    return "signal:" + min(present)


def situation(types: Iterable[str], confidences: Mapping[str, float] | None = None) -> Situation | None:
    """Fold an enterprise's open alert types into one situation (``None`` if nothing to diagnose).

    ``confidences`` may give a finding's own confidence (0–1); each source counts with the
    best confidence among its findings, sources combine as independent evidence.
    """
    found = tuple(sorted({t for t in types if t not in NOT_EVIDENCE}))
    if not found:
        return None
    best: dict[str, float] = {}
    for alert_type in found:
        p = (confidences or {}).get(alert_type, SOURCE_CONFIDENCE)
        for source in SOURCES.get(alert_type, (alert_type,)):
            best[source] = max(best.get(source, 0.0), p)
    doubt = 1.0
    for p in best.values():
        doubt *= 1.0 - p
    return Situation(diagnose(found), found, tuple(sorted(best)), round(1.0 - doubt, 3))


def situation_finding(state: EnterpriseState) -> Finding | None:
    """The ``situation`` finding of an enterprise's open alerts (``None``: nothing to say).

    Active while a finding of warning severity or above is open (info-level findings join
    one as evidence); inactive (a resolution) once none is left and a situation is still open. Its severity is the highest of its
    findings'; an update goes out when the diagnosis or the corroborating sources change.
    """
    open_findings = {t: a for t, a in state.open_alerts.items() if t not in NOT_EVIDENCE}
    now = situation(open_findings, {t: a.confidence for t, a in open_findings.items() if a.confidence is not None})
    if now is not None and all(Severity(a.severity) is Severity.INFO for a in open_findings.values()):
        now = None  # informational findings (a series oddity, a missed filing) corroborate, never open one
    if now is None:
        return resolution(AlertType.SITUATION.value, state) if AlertType.SITUATION.value in state.open_alerts else None
    severity = max((Severity(a.severity) for a in open_findings.values()), key=SEVERITY_RANK.__getitem__)
    name = state.name or state.uscc
    zh, en = diagnosis_labels(now.diagnosis)
    labels = [CATALOGUE[AlertType(t)] for t in now.findings]
    sources_zh = "、".join(SOURCE_LABELS.get(x, (x, x))[0] for x in now.sources)
    sources_en = ", ".join(SOURCE_LABELS.get(x, (x, x))[1] for x in now.sources)
    return Finding(
        alert_type=AlertType.SITUATION.value, active=True, rule="situation", severity=severity,
        title_zh=f"{zh}：{name}", title_en=f"{en[:1].upper()}{en[1:]}: {name}",
        explanation_zh=(f"{name} 的诊断为「{zh}」，依据：{'、'.join(e.label_zh for e in labels)}；"
                        f"佐证来源 {len(now.sources)} 个（{sources_zh}），置信度 {now.confidence:.0%}。"),
        explanation_en=(f"{name} is diagnosed as {en}, from: {', '.join(e.label_en for e in labels)}; "
                        f"{len(now.sources)} corroborating source(s) ({sources_en}), confidence {now.confidence:.0%}."),
        evidence={"diagnosis": now.diagnosis, "findings": list(now.findings), "sources": list(now.sources),
                  "confidence": now.confidence, "finding_alert_ids": {t: open_findings[t].id for t in now.findings}},
        decisive=("diagnosis", "sources"),
    )  # fmt: skip


def situation_alerts(state: EnterpriseState, emitted: list[Alert], context: AlertContext) -> list[Alert]:
    """The situation's alert versions after the findings' alerts ``emitted`` (``state`` mutated).

    Nothing when no finding changed; otherwise the situation fires, updates or resolves
    through :func:`detectors.alerting.transition` like any alert.
    """
    if not any(a.alert_type not in NOT_EVIDENCE for a in emitted):
        return []
    folded = situation_finding(state)
    return transition(state, [folded], context) if folded is not None else []
