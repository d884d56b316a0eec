"""Applying events to the enterprise state: amendments, order, duplicates, bounds, size."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from factories import cit, invoice, make_uscc, registration, social_security, vat
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import EnterpriseState, validate_payload
from schemas.state import DIGEST_CHARS, MAX_DAYS, MAX_MONTHS, ScoreSummary
from streams.state_update import apply_event

NOW = datetime(2026, 11, 26, tzinfo=UTC)
USCC = make_uscc(11)


def apply_all(events: list[dict[str, Any]], state: EnterpriseState | None = None) -> EnterpriseState:
    for payload in events:
        event = validate_payload(payload, NOW)
        assert not isinstance(event, Exception), event
        state, _ = apply_event(state, event, NOW, 64)
    assert state is not None
    return state


def period(i: int, start: int = 2022 * 12) -> str:
    return f"{(start + i) // 12:04d}-{(start + i) % 12 + 1:02d}"


def test_an_amended_filing_replaces_its_period_per_tax_type() -> None:
    state = apply_all([
        vat(USCC, "v1", "2026-03", revenue="1000.40", tax_payable="60.00", tax_paid="60.00"),
        cit(USCC, "c1", "2026-03", revenue="3000.00", tax_payable="90.00", tax_paid="90.00", rd_expense="100.00"),
        vat(USCC, "v2", "2026-03", revenue="1200.60", tax_payable="72.00", tax_paid="70.00"),  # amendment
        social_security(USCC, "s1", "2026-03", headcount=5),
        social_security(USCC, "s2", "2026-03", headcount=6),  # amendment
    ])  # fmt: skip
    m = state.monthly
    assert (m.start, m.revenue, m.vat_payable, m.vat_unpaid) == ("2026-03", [1201], [72], {"2026-03": 2})
    assert (m.cit_payable, m.cit_unpaid, m.rd_expense) == ([90], {}, [100])
    assert m.paid(0) == 72 - 2 + 90  # the VAT amendment left CIT alone
    assert m.headcount == [6] and state.latest_headcount() == 6
    assert state.revenue == {"2026-03": 1201.0}


def test_late_filings_land_in_their_month_and_gaps_stay_null() -> None:
    state = apply_all([
        vat(USCC, "v5", "2026-05", revenue="500.00"),
        vat(USCC, "v2", "2026-02", revenue="200.00"),  # late: the window grows backwards
        social_security(USCC, "s4", "2026-04", headcount=4),
    ])  # fmt: skip
    m = state.monthly
    assert m.start == "2026-02"
    assert m.revenue == [200, None, None, 500]
    assert m.headcount == [None, None, 4, None]
    assert state.latest_revenue() == 500.0


FILINGS = [vat(USCC, f"v{i}", period(i), revenue=f"{1000 + i}.00") for i in range(6)] + [
    social_security(USCC, f"s{i}", period(i), headcount=10 + i) for i in range(6)
] + [invoice(USCC, f"i{d}", f"2023-01-{d:02d}", amount=f"{d}00.00") for d in range(1, 8)]


@settings(max_examples=40, deadline=None)
@given(st.permutations(FILINGS))
def test_the_order_of_arrival_does_not_change_the_series(order: list[dict[str, Any]]) -> None:
    in_order = apply_all(FILINGS)
    shuffled = apply_all(order)
    assert shuffled.monthly == in_order.monthly
    assert shuffled.invoices == in_order.invoices
    assert shuffled.business_at == in_order.business_at


def test_a_repeated_event_id_changes_nothing_and_the_input_state_is_not_modified() -> None:
    first = apply_all([vat(USCC, "v1", "2026-03"), invoice(USCC, "i1", "2026-03-02")])
    before = first.model_dump_json()
    again = validate_payload(vat(USCC, "v1", "2026-03", revenue="999.00"), NOW)
    assert not isinstance(again, Exception)
    second, applied = apply_event(first, again, NOW, 64)
    assert not applied and second.duplicates == 1 and second.applied == first.applied
    assert second.monthly == first.monthly and second.recent_event_ids == first.recent_event_ids
    assert first.model_dump_json() == before  # pure: the input is untouched
    other = validate_payload(vat(USCC, "v2", "2026-04"), NOW)
    assert not isinstance(other, Exception)
    third, applied = apply_event(first, other, NOW, 64)
    assert applied and first.model_dump_json() == before and len(third.monthly) == 2


def test_series_are_bounded_and_slide_with_the_latest_month() -> None:
    events = [vat(USCC, f"v{i}", period(i), revenue=f"{i}.00") for i in range(50)]
    events += [invoice(USCC, f"i{d}", date.fromordinal(date(2026, 1, 1).toordinal() + d).isoformat()) for d in range(120)]
    events += [vat(USCC, "too-old", period(3), revenue="7.00")]  # older than the window: counted, not stored
    state = apply_all(events)
    assert len(state.monthly) == MAX_MONTHS and state.monthly.start == period(50 - MAX_MONTHS)
    assert state.monthly.revenue[-1] == 49 and 7 not in state.monthly.revenue
    assert len(state.invoices.count) == MAX_DAYS and state.invoices.start == date(2026, 1, 31)
    assert state.counts["tax"] == 50 + 120 + 1


def test_register_history_is_kept_short_and_dated() -> None:
    events = [registration(USCC, "r0")]
    for i in range(30):
        events.append(registration(USCC, f"cap{i}", change="shareholder", occurred_at=f"{period(i)}-10T10:00:00",
                                   shareholder={"name": "甲", "capital_injection": "1000.00"}))  # fmt: skip
        events.append(registration(USCC, f"rep{i}", change="legal_representative", legal_representative=f"张{i}",
                                   occurred_at=f"{period(i)}-11T10:00:00"))  # fmt: skip
    state = apply_all(events)
    assert len(state.injections) == 24 and state.injections[-1] == (period(29), 1000)
    assert len(state.rep_changes) == 12 and state.rep_changes[-1] == date.fromisoformat(f"{period(29)}-11")


def big_state(revenue: float = 12_345_678.91) -> EnterpriseState:
    """36 months of every filing of an enterprise selling ~150 M CNY a year, 90 invoice days."""
    events: list[dict[str, Any]] = [registration(USCC, "r0")]
    for i in range(36):
        p = period(i)
        sales = revenue * (1 + i / 100)
        events.append(vat(USCC, f"v{i}", p, revenue=f"{sales:.2f}", tax_payable=f"{sales * 0.06:.2f}",
                          tax_paid=f"{sales * 0.06:.2f}", high_tech=True, credit_grade="A"))  # fmt: skip
        events.append(social_security(USCC, f"s{i}", p, headcount=123 + i))
        if i % 3 == 2:
            events.append(cit(USCC, f"c{i}", p, revenue=f"{3 * sales:.2f}", tax_payable=f"{sales * 0.03:.2f}",
                              tax_paid=f"{sales * 0.03:.2f}", rd_expense=f"{sales * 0.15:.2f}"))  # fmt: skip
    for d in range(90):
        day = date.fromordinal(date(2024, 9, 1).toordinal() + d).isoformat()
        events.append(invoice(USCC, f"invoice-event-{d:06d}", day, amount=f"{revenue / 22:.2f}"))
    state = apply_all(events)
    state.scores = ScoreSummary(
        dims=[71.25, 55.5, 62.75, 40.0, 88.5], composite=64.12, tier="growth", lists=["kunpeng"],
        exit_risk=0.0123, fc_revenue=("2025-01", 16234567.89), fc_headcount=("2025-01", 160.4),
        learned=("2024-12", "2024-12"),
    )  # fmt: skip
    return state


def test_a_36_month_enterprise_with_90_invoice_days_serializes_in_5_kb() -> None:
    state = big_state()
    raw = state.model_dump_json()
    assert len(state.monthly) == 36 and len(state.invoices.amount) == 90 and len(state.recent_event_ids) == 64 * DIGEST_CHARS
    # 4 KB of series and bookkeeping, and about 0.5 KB of field provenance (one library)
    assert len(raw.encode()) <= 5120, len(raw.encode())
    assert EnterpriseState.model_validate_json(raw) == state
