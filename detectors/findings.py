"""What a rule or model says about one enterprise after one event: a finding.

A finding is active (the condition holds) or inactive (it no longer holds); the alert
lifecycle in :mod:`detectors.alerting` turns findings into firing / updated / resolved alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas import Severity


@dataclass(frozen=True)
class Finding:
    alert_type: str
    active: bool
    rule: str
    severity: Severity = Severity.WARNING
    title_zh: str = ""
    title_en: str = ""
    explanation_zh: str = ""
    explanation_en: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    # Evidence keys whose change is worth an "updated" alert (None: all of them).
    decisive: tuple[str, ...] | None = None
