"""Each cross-source contradiction check on a hand-written case, and its quiet counterpart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from factories import make_uscc, registration, social_security, vat

from detectors.quality import contradictions
from schemas import EnterpriseState, validate_payload
from schemas.quality import QualityCheck, QualityFinding
from streams.state_update import apply_event

NOW = datetime(2026, 1, 1, tzinfo=UTC)
U = make_uscc(77)


def run(events: list[dict[str, Any]]) -> tuple[EnterpriseState, list[QualityFinding]]:
    """Apply ``events`` in order, collecting the findings each one reveals."""
    state: EnterpriseState | None = None
    found: list[QualityFinding] = []
    for payload in events:
        event = validate_payload(payload, NOW)
        assert not hasattr(event, "reasons"), event
        state, _ = apply_event(state, event, NOW, 64)  # type: ignore[arg-type]
        new, state.quality = contradictions(state, event, NOW)  # type: ignore[arg-type]
        found += new
    assert state is not None
    return state, found


REGISTERED = registration(U, "r0", occurred_at="2024-01-05T09:00:00", name="杭州甲科技有限公司",
                          legal_representative="张三")  # fmt: skip


def checks(found: list[QualityFinding]) -> list[str]:
    return [f.check.value for f in found]


def test_social_security_filed_in_another_district_than_registered() -> None:
    _, found = run([REGISTERED, social_security(U, "s1", "2024-03", district_code="330106"),
                    social_security(U, "s2", "2024-04", district_code="330106")])  # fmt: skip
    assert checks(found) == ["district_mismatch"]  # reported once, not per filing
    assert found[0].evidence == {"registered": "330110", "filed": "330106", "source": "hrss", "period": "2024-03"}
    assert found[0].event_ids == ["r0", "s1"] and "330106" in found[0].explanation_zh
    _, quiet = run([REGISTERED, social_security(U, "s1", "2024-03", district_code="330110")])
    assert quiet == []


def test_filings_after_deregistration() -> None:
    exited = registration(U, "x", change="status", status="deregistered", occurred_at="2024-05-10T10:00:00")
    _, found = run([REGISTERED, exited, vat(U, "v6", "2024-06"), social_security(U, "s7", "2024-07")])
    assert checks(found) == ["filing_after_exit"]
    assert found[0].evidence["exit_date"] == "2024-05-10" and found[0].evidence["period"] == "2024-06"
    _, late = run([REGISTERED, exited, vat(U, "v5", "2024-05")])  # the exit month's own filing is normal
    assert late == []


def test_insured_headcount_against_payroll_tax_headcount() -> None:
    _, found = run([REGISTERED, social_security(U, "s1", "2024-03", headcount=40),
                    vat(U, "v1", "2024-03", withheld_employees=12)])  # fmt: skip
    assert checks(found) == ["headcount_payroll_mismatch"]
    assert found[0].evidence == {"period": "2024-03", "insured": 40, "withheld": 12, "difference": 28}
    _, close = run([REGISTERED, vat(U, "v1", "2024-03", withheld_employees=38),
                    social_security(U, "s1", "2024-03", headcount=40)])  # fmt: skip
    assert close == []


def test_filing_in_two_districts() -> None:
    _, found = run([REGISTERED, vat(U, "v1", "2024-03", district_code="330110"),
                    social_security(U, "s1", "2024-03", district_code="330110"),
                    vat(U, "v2", "2024-04", district_code="330108")])  # fmt: skip
    assert checks(found) == ["multi_district_filing"]
    assert found[0].subject == "330108|330110" and found[0].sources == ["hrss", "tax"]


def test_name_and_legal_representative_differing_between_sources() -> None:
    _, found = run([REGISTERED, vat(U, "v1", "2024-03", name="杭州乙贸易有限公司", legal_representative="李四"),
                    social_security(U, "s1", "2024-03", name="杭州甲科技有限公司")])  # fmt: skip
    assert sorted(checks(found)) == ["legal_rep_mismatch", "name_mismatch"]
    renamed = registration(U, "r1", change="name", name="杭州丙科技有限公司", occurred_at="2024-06-01T09:00:00")
    _, late = run([REGISTERED, renamed, social_security(U, "s1", "2024-03", name="杭州甲科技有限公司")])
    assert late == []  # a filing older than the renaming still carries the old name


def test_every_check_of_the_catalogue_is_exercised_here() -> None:
    tested = {"district_mismatch", "filing_after_exit", "headcount_payroll_mismatch", "multi_district_filing",
              "name_mismatch", "legal_rep_mismatch"}  # fmt: skip
    assert tested == {c.value for c in QualityCheck}
