"""Each early-warning rule: a positive and a negative case from hand-written event sequences."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from factories import encode, invoice, make_uscc, registration, social_security, vat

from config.rules import load_rules
from schemas import Alert, AlertState, EnterpriseState
from streams.pipeline import RawMessage, process_message

NOW = datetime(2026, 11, 26, tzinfo=UTC)
U = make_uscc(42)
RULES = load_rules()


def run(events: list[dict[str, Any]]) -> tuple[EnterpriseState, list[Alert]]:
    state: EnterpriseState | None = None
    alerts: list[Alert] = []
    for i, event in enumerate(events):
        out = process_message(RawMessage("t", 0, i, U.encode(), encode(event)), state, NOW, rules=RULES)
        assert out.status == "applied", out.dead_letter
        state = out.state
        alerts.extend(out.alerts)
    assert state is not None
    return state, alerts


def fired(events: list[dict[str, Any]]) -> set[str]:
    return {a.alert_type for a in run(events)[1] if a.state == AlertState.FIRING}


def months(n: int, start: int = 1) -> list[str]:
    return [f"2025-{m:02d}" for m in range(start, start + n)]


def filings(revenues: list[int], heads: list[int], arrears: list[int] | None = None) -> list[dict[str, Any]]:
    """Monthly SS filings and the VAT for each month (filed in the following month)."""
    out: list[dict[str, Any]] = [registration(U, "r0", occurred_at="2024-12-01T09:00:00")]
    for i, (period, revenue, heads_) in enumerate(zip(months(len(revenues)), revenues, heads, strict=True)):
        owed = arrears[i] if arrears else 0
        out.append(social_security(U, f"s{i}", period, heads_, occurred_at=f"{period}-20T09:00:00",
                                   paid=f"{heads_ * 2400 - (owed - (arrears[i - 1] if arrears and i else 0)) if owed else heads_ * 2400}.00",
                                   arrears=f"{owed}.00"))  # fmt: skip
        nxt = f"2025-{i + 2:02d}" if i + 2 <= 12 else "2026-01"
        out.append(vat(U, f"v{i}", period, revenue=f"{revenue}.00", occurred_at=f"{nxt}-10T09:00:00"))
    return out


STEADY = [100_000, 104_000, 98_000, 102_000, 101_000, 99_000, 103_000]


def test_layoff_fires_on_a_sharp_headcount_drop_and_not_on_noise() -> None:
    assert "layoff" in fired(filings(STEADY, [40, 41, 40, 42, 41, 40, 20]))
    assert "layoff" not in fired(filings(STEADY, [40, 41, 40, 42, 41, 40, 38]))


def test_tax_collapse_fires_against_the_own_level_and_not_on_a_normal_month() -> None:
    assert "tax_collapse" in fired(filings([*STEADY[:6], 15_000], [40] * 7))
    assert "tax_collapse" not in fired(filings([*STEADY[:6], 80_000], [40] * 7))


def test_zombie_needs_zero_revenue_and_a_skeleton_staff() -> None:
    assert "zombie" in fired(filings([*STEADY[:5], 0, 0], [30, 30, 30, 30, 30, 2, 2]))
    assert "zombie" not in fired(filings([*STEADY[:5], 0, 0], [30] * 7))  # a quiet month with staff


def test_social_security_arrears_fire_on_a_large_share_and_not_on_a_small_one() -> None:
    heads = [10] * 6
    assert "social_security_arrears" in fired(filings(STEADY[:6], heads, [0, 0, 0, 0, 16_000, 32_000]))
    assert "social_security_arrears" not in fired(filings(STEADY[:6], heads, [0, 0, 0, 0, 4_000, 0]))


def test_payroll_tax_mismatch_when_staff_grows_while_revenue_falls() -> None:
    assert "payroll_tax_mismatch" in fired(filings([*STEADY[:6], 30_000], [40, 40, 40, 40, 52, 56, 60]))
    assert "payroll_tax_mismatch" not in fired(filings([*STEADY[:6], 120_000], [40, 40, 40, 40, 52, 56, 60]))


def test_relocation_fires_on_leaving_the_park_but_not_for_an_enterprise_registered_outside() -> None:
    moving = [registration(U, "r0"), social_security(U, "s1", "2025-03", 20),
              registration(U, "r1", change="address", district_code="330106", in_park=False,
                           occurred_at="2025-04-02T09:00:00")]  # fmt: skip
    state, alerts = run(moving)
    relocation = [a for a in alerts if a.alert_type == "relocation"]
    assert relocation and relocation[0].state == AlertState.FIRING
    assert set(relocation[0].evidence["signals"]) == {"in_park_false", "address_left_park"}
    outside = [registration(U, "r0", district_code="330106", in_park=False), social_security(U, "s1", "2025-03", 20)]
    assert "relocation" not in fired(outside)


def test_enterprise_exit_and_abnormal_operation_follow_the_register() -> None:
    assert "enterprise_exit" in fired([registration(U, "r0"), registration(U, "r1", change="status", status="deregistered")])
    assert "abnormal_operation" in fired([registration(U, "r0"), registration(U, "r1", change="status", status="abnormal_operation")])
    assert not fired([registration(U, "r0"), registration(U, "r1", change="status", status="active")])


def test_legal_representative_churn_counts_changes_within_twelve_months() -> None:
    def change(i: int, day: str) -> dict[str, Any]:
        return registration(U, f"lr{i}", change="legal_representative", legal_representative=f"张{i}",
                            occurred_at=f"{day}T09:00:00")  # fmt: skip

    founded = registration(U, "r0", legal_representative="王一", occurred_at="2020-01-01T09:00:00")
    quick = [founded, change(1, "2025-02-01"), change(2, "2025-05-01"), change(3, "2025-09-01")]
    slow = [founded, change(1, "2023-02-01"), change(2, "2024-05-01"), change(3, "2025-09-01")]
    assert "legal_rep_churn" in fired(quick)
    assert "legal_rep_churn" not in fired(slow)


def test_missing_filings_when_vat_stops_but_invoicing_goes_on() -> None:
    events = [registration(U, "r0"), vat(U, "v1", "2025-03", occurred_at="2025-04-10T09:00:00")]
    days = [date(2025, 4, 1) + timedelta(days=d) for d in range(0, 95, 3)]
    invoices_only = events + [invoice(U, f"i{i}", d.isoformat()) for i, d in enumerate(days)]
    assert "missing_filings" in fired(invoices_only)
    filed = list(invoices_only)
    for i, period in enumerate(("2025-04", "2025-05")):
        filed.insert(2 + 10 * (i + 1), vat(U, f"v-{period}", period, occurred_at=f"2025-0{5 + i}-10T09:00:00"))
    assert "missing_filings" not in fired(filed)


def test_tax_credit_downgrade_into_c_or_d() -> None:
    assert "tax_credit_downgrade" in fired([vat(U, "v1", "2025-03", credit_grade="B"), vat(U, "v2", "2025-04", credit_grade="D")])
    assert "tax_credit_downgrade" not in fired([vat(U, "v1", "2025-03", credit_grade="B"), vat(U, "v2", "2025-04", credit_grade="A")])


def invoices(
    days: int, per_day: int, amount_each: int, tail: tuple[int, int] | None = None, vat_months: int = 6
) -> list[dict[str, Any]]:
    """``vat_months`` steady VAT returns up to 2025-03, then daily summaries from 2025-04-01;
    the last 10 days use ``tail`` (count, amount each)."""
    out = [registration(U, "r0", occurred_at="2024-09-01T09:00:00")]
    for k in range(vat_months):
        period = f"2025-{3 - k:02d}" if k < 3 else f"2024-{15 - k:02d}"
        out.append(vat(U, f"v{k}", period, revenue="88000.00", occurred_at="2025-03-31T09:00:00"))
    start = date(2025, 4, 1)
    for d in range(days):
        count, each = tail if tail and d >= days - 10 else (per_day, amount_each)
        day = (start + timedelta(days=d)).isoformat()
        summary = invoice(U, f"i{d}", day, amount=f"{count * each}.00") | {"invoices_issued": count}
        out.append(summary)
    return out


@pytest.mark.parametrize(("tail", "expected"), [((12, 5000), "invoice_spike"), ((0, 1000), "invoice_drop")])
def test_invoice_spike_and_drop_against_the_own_rate(tail: tuple[int, int], expected: str) -> None:
    assert expected in fired(invoices(70, 4, 1000, tail))
    assert not fired(invoices(70, 4, 1000)) & {"invoice_spike", "invoice_drop"}
    # with too little history to know the enterprise's seasons the finding is held
    assert expected not in fired(invoices(70, 4, 1000, tail, vat_months=2))


def test_a_condition_that_ends_resolves_the_alert_with_a_readable_text() -> None:
    events = filings(STEADY, [40, 41, 40, 42, 41, 40, 20])
    events += [social_security(U, f"x{i}", p, 20, occurred_at=f"{p}-20T09:00:00") for i, p in enumerate(months(4, start=8))]
    _, alerts = run(events)
    layoff = [a for a in alerts if a.alert_type == "layoff"]
    assert layoff[0].state == AlertState.FIRING and layoff[-1].state == AlertState.RESOLVED
    assert {a.alert_id for a in layoff} == {layoff[0].alert_id}
    assert [a.version for a in layoff] == list(range(1, len(layoff) + 1))
    assert layoff[-1].title_en.startswith("Resolved: layoffs")
