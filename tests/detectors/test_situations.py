"""One situation per enterprise: its lifecycle follows the findings it is made of."""

from __future__ import annotations

from datetime import UTC, datetime

from detectors.alerting import AlertContext, transition
from detectors.findings import Finding
from detectors.situations import situation_alerts
from schemas import AlertState, EnterpriseState, Severity

AT = datetime(2026, 3, 1, tzinfo=UTC)
CONTEXT = AlertContext("e1", AT, AT, "r1")


def step(state: EnterpriseState, *findings: Finding) -> list[tuple[str, str, int]]:
    emitted = transition(state, list(findings), CONTEXT)
    emitted += situation_alerts(state, emitted, CONTEXT)
    return [(a.alert_type, a.state.value, a.version) for a in emitted]


def found(alert_type: str, active: bool = True, severity: Severity = Severity.WARNING, **evidence: object) -> Finding:
    return Finding(alert_type=alert_type, active=active, rule=alert_type, severity=severity, evidence=dict(evidence))


def test_a_situation_fires_updates_with_a_new_source_and_resolves_with_the_last_finding() -> None:
    state = EnterpriseState(uscc="91330110MA2B000011", name="Acme")
    assert step(state, found("layoff", headcount=10)) == [("layoff", "firing", 1), ("situation", "firing", 1)]
    situation = state.open_alerts["situation"]
    assert step(state, found("tax_collapse", confidence=0.9)) == [("tax_collapse", "firing", 1),
                                                                  ("situation", "updated", 2)]  # fmt: skip
    assert state.open_alerts["situation"].id == situation.id
    # new evidence on a finding that changes neither the diagnosis nor the sources: the finding only
    assert step(state, found("layoff", headcount=8)) == [("layoff", "updated", 2)]
    assert step(state, found("layoff", active=False)) == [("layoff", "resolved", 3), ("situation", "updated", 3)]
    assert step(state, found("tax_collapse", active=False)) == [("tax_collapse", "resolved", 2),
                                                                ("situation", "resolved", 4)]  # fmt: skip
    assert "situation" not in state.open_alerts
    assert step(state, found("layoff")) == [("layoff", "firing", 1), ("situation", "firing", 1)]
    assert state.open_alerts["situation"].id != situation.id  # a new episode


def test_the_situation_says_what_and_why() -> None:
    state = EnterpriseState(uscc="91330110MA2B000011", name="Acme")
    transition(state, [found("invoice_drop"), found("tax_collapse", severity=Severity.CRITICAL, confidence=0.9),
                       found("layoff")], CONTEXT)  # fmt: skip
    emitted = situation_alerts(state, [], CONTEXT)
    assert emitted == []  # nothing changed in this call's findings: nothing to fold
    [alert] = situation_alerts(state, transition(state, [found("peer_divergence")], CONTEXT), CONTEXT)
    assert alert.state is AlertState.FIRING and alert.severity is Severity.CRITICAL
    assert alert.evidence["diagnosis"] == "distress"
    assert alert.evidence["sources"] == ["invoices", "peers", "social_security", "tax"]
    assert set(alert.evidence["finding_alert_ids"]) == {"invoice_drop", "layoff", "peer_divergence", "tax_collapse"}
    assert alert.evidence["confidence"] > 0.9
    assert alert.title_en == "Distress: Acme" and "经营困难" in alert.title_zh and "Acme" in alert.explanation_en


def test_informational_findings_make_no_situation_but_corroborate_one() -> None:
    state = EnterpriseState(uscc="91330110MA2B000011")
    assert step(state, found("tax_credit_downgrade")) == [("tax_credit_downgrade", "firing", 1)]
    assert step(state, found("invoice_anomaly", severity=Severity.INFO)) == [("invoice_anomaly", "firing", 1)]
    assert step(state, found("layoff")) == [("layoff", "firing", 1), ("situation", "firing", 1)]
    assert state.open_alerts["situation"].severity == "warning"
    assert step(state, found("layoff", active=False)) == [("layoff", "resolved", 2), ("situation", "resolved", 2)]
