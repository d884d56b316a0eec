"""How a rule says what it found: findings, the inactive finding, resolutions, filed months.

Shared by the rules (:mod:`detectors.rules`, :mod:`detectors.invoice_rules`); texts and
usual severities come from the one alert catalogue.
"""

from __future__ import annotations

from typing import Any

from detectors.findings import Finding
from schemas import EnterpriseState, Severity
from schemas.alert_catalogue import CATALOGUE, AlertType

__all__ = ["filed_months", "inactive", "make_finding", "name_of", "resolution", "usual_severity"]


def name_of(state: EnterpriseState) -> str:
    return state.name or state.uscc


def make_finding(
    alert_type: str, active: bool, severity: Severity, zh: tuple[str, str], en: tuple[str, str],
    evidence: dict[str, Any] | None = None, decisive: tuple[str, ...] | None = None,
) -> Finding:  # fmt: skip
    return Finding(
        alert_type=alert_type, active=active, rule=alert_type, severity=severity,
        title_zh=zh[0], explanation_zh=zh[1], title_en=en[0], explanation_en=en[1],
        evidence=evidence or {}, decisive=decisive,
    )  # fmt: skip


def usual_severity(alert_type: str) -> Severity:
    """The catalogue's usual severity (an unknown alert type raises: every type is catalogued)."""
    return CATALOGUE[AlertType(alert_type)].severity


_INACTIVE: dict[str, Finding] = {}


def inactive(alert_type: str, after: EnterpriseState) -> Finding:
    """The rule's condition does not hold (cheap: most rules say this about most events)."""
    finding = _INACTIVE.get(alert_type)
    if finding is None:
        finding = _INACTIVE[alert_type] = Finding(alert_type=alert_type, active=False, rule=alert_type)
    return finding


def resolution(alert_type: str, after: EnterpriseState) -> Finding:
    """An inactive finding with the text of a resolved alert."""
    entry = CATALOGUE[AlertType(alert_type)]
    name = name_of(after)
    return Finding(
        alert_type=alert_type, active=False, rule=alert_type, severity=Severity.INFO,
        title_zh=f"已解除：{entry.label_zh}：{name}", title_en=f"Resolved: {entry.label_en}: {name}",
        explanation_zh=entry.resolution_zh(name), explanation_en=entry.resolution_en(name),
    )  # fmt: skip


def filed_months(values: list[int | None], upto: int | None = None) -> list[tuple[int, int]]:
    """(position, value) of every filed month up to ``upto`` (inclusive)."""
    end = len(values) - 1 if upto is None else upto
    return [(i, v) for i, v in enumerate(values[: end + 1]) if v is not None]
