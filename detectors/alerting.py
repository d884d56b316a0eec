"""The alert lifecycle: findings → firing / updated / resolved alerts with stable ids.

``alert_id`` is derived from (USCC, alert type, episode): the episode number grows each
time an alert of that type fires anew for the enterprise, so a replay produces the same ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from detectors.findings import Finding
from schemas import Alert, AlertState, EnterpriseState
from schemas.state import OpenAlert


def alert_id(uscc: str, alert_type: str, episode: int) -> str:
    return hashlib.sha1(f"{uscc}|{alert_type}|{episode}".encode()).hexdigest()[:20]  # noqa: S324


@dataclass(frozen=True)
class AlertContext:
    event_id: str
    occurred_at: datetime
    emitted_at: datetime
    config_version: str


def fingerprint(finding: Finding) -> str:
    """What makes an update worth sending: severity and evidence."""
    keys = finding.decisive if finding.decisive is not None else tuple(finding.evidence)
    body = repr((finding.severity.value, sorted((k, repr(finding.evidence.get(k))) for k in keys)))
    return hashlib.sha1(body.encode()).hexdigest()[:12]  # noqa: S324


def transition(state: EnterpriseState, findings: list[Finding], ctx: AlertContext) -> list[Alert]:
    """Apply findings to ``state.open_alerts`` (mutated) and return the alert versions to emit.

    An active finding opens an episode (firing) or, when its evidence changed, updates it;
    an inactive one resolves the open episode. Unchanged evidence emits nothing.
    """
    out: list[Alert] = []
    for finding in findings:
        current = state.open_alerts.get(finding.alert_type)
        mark = fingerprint(finding) if finding.active else ""
        if finding.active and current is None:
            episode = state.alert_episodes.get(finding.alert_type, 0) + 1
            state.alert_episodes[finding.alert_type] = episode
            opened = OpenAlert(id=alert_id(state.uscc, finding.alert_type, episode), fingerprint=mark,
                               severity=finding.severity.value, confidence=_confidence(finding))  # fmt: skip
            state.open_alerts[finding.alert_type] = opened
            out.append(_alert(state.uscc, opened.id, finding, AlertState.FIRING, 1, ctx))
        elif finding.active and current is not None and current.fingerprint != mark:
            current.version += 1
            current.fingerprint = mark
            current.severity, current.confidence = finding.severity.value, _confidence(finding)
            out.append(_alert(state.uscc, current.id, finding, AlertState.UPDATED, current.version, ctx))
        elif not finding.active and current is not None:
            del state.open_alerts[finding.alert_type]
            out.append(_alert(state.uscc, current.id, finding, AlertState.RESOLVED, current.version + 1, ctx))
    return out


def _confidence(finding: Finding) -> float | None:
    value = finding.evidence.get("confidence")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _alert(
    uscc: str, aid: str, finding: Finding, lifecycle: AlertState, version: int, ctx: AlertContext
) -> Alert:
    return Alert(
        alert_id=aid,
        uscc=uscc,
        alert_type=finding.alert_type,
        state=lifecycle,
        severity=finding.severity,
        title_zh=finding.title_zh,
        title_en=finding.title_en,
        explanation_zh=finding.explanation_zh,
        explanation_en=finding.explanation_en,
        evidence=finding.evidence,
        event_ids=[ctx.event_id],
        rule=finding.rule,
        config_version=ctx.config_version,
        occurred_at=ctx.occurred_at,
        emitted_at=ctx.emitted_at,
        version=version,
    )
