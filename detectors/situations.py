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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

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
    found = tuple(sorted({t for t in types if t not in INFORMATIONAL}))
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
