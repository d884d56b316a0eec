"""Enterprise features computed from the state alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from factories import cit, invoice, make_uscc, registration, social_security, vat

from detectors.features import enterprise_features
from schemas import EnterpriseState, validate_payload
from streams.state_update import apply_event

NOW = datetime(2026, 11, 26, tzinfo=UTC)
USCC = make_uscc(21)


def state_of(events: list[dict[str, Any]]) -> EnterpriseState:
    state: EnterpriseState | None = None
    for payload in events:
        event = validate_payload(payload, NOW)
        assert not isinstance(event, Exception), event
        state, _ = apply_event(state, event, NOW, 64)
    assert state is not None
    return state


def month(i: int) -> str:
    """Month i counted from 2024-01."""
    return f"{2024 + i // 12}-{i % 12 + 1:02d}"


def growing_enterprise(months: int = 15) -> EnterpriseState:
    """Revenue 1000·(i+1), VAT paid 60·(i+1); headcount 10 → 10+months-1; quarterly CIT with R&D."""
    events: list[dict[str, Any]] = [registration(USCC, "r0", occurred_at="2023-01-05T10:00:00")]
    for i in range(months):
        r = 1000 * (i + 1)
        events.append(vat(USCC, f"v{i}", month(i), revenue=f"{r}.00", tax_payable=f"{r * 0.06:.2f}",
                          tax_paid=f"{r * 0.06:.2f}", credit_grade="B", high_tech=True))  # fmt: skip
        events.append(social_security(USCC, f"s{i}", month(i), headcount=10 + i))
        if i % 3 == 2:
            events.append(cit(USCC, f"c{i}", month(i), tax_payable="100.00", tax_paid="100.00", rd_expense="500.00",
                              high_tech=True, credit_grade="B"))  # fmt: skip
    return state_of(events)


def test_revenue_scale_growth_and_ratios() -> None:
    f = enterprise_features(growing_enterprise())
    last12 = sum(1000 * (i + 1) for i in range(3, 15))
    assert f["revenue_annual"] == pytest.approx(last12)
    assert f["revenue_yoy"] == pytest.approx((13 + 14 + 15) / (1 + 2 + 3) - 1)
    assert f["revenue_3m_growth"] == pytest.approx((13 + 14 + 15) / (10 + 11 + 12) - 1)
    assert f["revenue_mom"] == pytest.approx(15 / 14 - 1)
    assert f["tax_burden"] == pytest.approx((0.06 * last12 + 4 * 100) / last12)
    assert f["cit_burden"] == pytest.approx(400 / last12)
    assert f["rd_intensity"] == pytest.approx(2000 / last12)
    assert f["rd_expense_annual"] == pytest.approx(2000)
    assert f["revenue_per_capita"] == pytest.approx(last12 / 24)
    assert f["high_tech"] == 1.0 and f["credit_score"] == 3.0


def test_workforce_features() -> None:
    f = enterprise_features(growing_enterprise())
    assert f["headcount"] == 24
    assert f["headcount_change_12m"] == pytest.approx(24 / 12 - 1)  # month 14 against month 2
    assert f["contribution_per_employee"] == pytest.approx(8000)  # factories: base = 8000 per head
    assert f["arrears_ratio"] == 0.0
    with_arrears = state_of([social_security(USCC, "s", "2026-01", headcount=10, paid="20000.00", arrears="5000.00")])
    assert enterprise_features(with_arrears)["arrears_ratio"] == pytest.approx(0.2)


def test_undefined_features_are_left_out() -> None:
    young = enterprise_features(growing_enterprise(months=2))
    for name in ("revenue_yoy", "revenue_3m_growth", "headcount_change_12m", "invoice_trend"):
        assert name not in young
    assert young["revenue_mom"] == pytest.approx(1.0)
    empty = enterprise_features(EnterpriseState(uscc=USCC))
    assert "revenue_annual" not in empty and "headcount" not in empty


def test_filing_gaps_count_missing_months_up_to_the_latest_month() -> None:
    events = [vat(USCC, f"v{i}", month(i)) for i in (0, 1, 4, 5)]  # VAT missing for months 2, 3
    events += [social_security(USCC, f"s{i}", month(i)) for i in (0, 1, 2, 3, 4, 6)]  # SS missing 5
    f = enterprise_features(state_of(events))
    # reference month 6: VAT is due for months up to 5, social security up to 6
    assert f["vat_filing_gaps"] == 2.0
    assert f["ss_filing_gaps"] == 1.0


def test_register_features_count_recent_events_only() -> None:
    events = [registration(USCC, "r0", occurred_at="2023-06-01T09:00:00")]
    for i, when in enumerate(("2023-09-10", "2025-02-10", "2026-05-10")):
        events.append(registration(USCC, f"cap{i}", change="shareholder", occurred_at=f"{when}T10:00:00",
                                   shareholder={"name": "乙", "capital_injection": "100000.00"}))  # fmt: skip
        events.append(registration(USCC, f"rep{i}", change="legal_representative", legal_representative=f"李{i}",
                                   occurred_at=f"{when}T11:00:00"))  # fmt: skip
    events.append(vat(USCC, "late", "2026-06", overdue_days=30))
    f = enterprise_features(state_of(events))  # reference month 2026-06
    assert f["capital_injections_24m"] == 200000.0 and f["capital_injection_count_24m"] == 2
    assert f["legal_rep_changes_12m"] == 1.0
    assert f["overdue_days_12m"] == 30.0
    assert f["age_months"] == 36.0
    assert f["registered_capital"] == 1_000_000.0


def test_invoice_features_use_the_last_90_days() -> None:
    days = [f"2026-0{m}-{d:02d}" for m in (6, 7, 8, 9) for d in range(1, 29)]
    events = [invoice(USCC, f"i{day}", day, amount="300.00" if day >= "2026-09" else "100.00") for day in days]
    f = enterprise_features(state_of(events))
    # the 90 days up to 2026-09-28 start on 2026-07-01: 84 invoice days, 12 invoices each
    assert f["invoice_count_90d"] == 84 * 12
    assert f["invoice_amount_90d"] == 56 * 100 + 28 * 300
    assert f["invoice_trend"] > 1.0  # the last 30 days sold about three times as much
