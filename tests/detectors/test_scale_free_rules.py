"""Rules that hold on data they were not tuned on: the enterprise's own seasons, per-capita
output, near-zero activity, and findings held while history is too short to back them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from factories import encode, make_uscc, registration, social_security, vat

from config.rules import load_rules
from detectors.seasonality import confidence, log_variability, seasonal_expectation
from schemas import AlertState
from streams.pipeline import RawMessage, process_message

NOW = datetime(2027, 6, 1, tzinfo=UTC)
U = make_uscc(77)
RULES = load_rules()
# a Q4-seasonal business (gifts): most of its sales in October–December
Q4 = (0.5, 0.45, 0.55, 0.6, 0.65, 0.75, 0.7, 0.75, 0.95, 1.5, 2.0, 2.6)


def _period(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def park(revenues: list[float], heads: list[int], first: str = "2024-10") -> list[dict[str, Any]]:
    """Monthly SS filings and VAT returns (VAT filed the following month) from ``first``."""
    start = int(first[:4]) * 12 + int(first[5:]) - 1
    out: list[dict[str, Any]] = [registration(U, "r0", occurred_at=f"{first}-01T09:00:00")]
    for i, (revenue, staff) in enumerate(zip(revenues, heads, strict=True)):
        period, filed = _period(start + i), _period(start + i + 1)
        out.append(social_security(U, f"s{i}", period, staff, occurred_at=f"{period}-20T09:00:00",
                                   paid=f"{staff * 2400}.00"))  # fmt: skip
        out.append(
            vat(U, f"v{i}", period, revenue=f"{round(revenue)}.00", occurred_at=f"{filed}-10T09:00:00")
        )
    return out


def alerts(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(alert type, period of the evidence) of every firing alert."""
    state, out = None, []
    for i, event in enumerate(events):
        result = process_message(RawMessage("t", 0, i, U.encode(), encode(event)), state, NOW, rules=RULES)
        assert result.status == "applied", result.dead_letter
        state = result.state
        out += [
            (a.alert_type, str(a.evidence.get("period")))
            for a in result.alerts
            if a.state == AlertState.FIRING
        ]
    return out


def seasonal(months: int, level: float = 400_000, collapse_at: int | None = None) -> list[float]:
    """A Q4 business from October 2024; from ``collapse_at`` (position) on, at 15% of that."""
    return [
        level * Q4[(9 + i) % 12] * (0.15 if collapse_at is not None and i >= collapse_at else 1.0)
        for i in range(months)
    ]


def test_a_q4_business_is_not_flagged_in_its_first_january_nor_a_year_later() -> None:
    fired = alerts(park(seasonal(20), [30] * 20))
    assert not [a for a in fired if a[0] == "tax_collapse"], fired


def test_a_real_collapse_of_a_q4_business_is_found_once_its_season_is_known() -> None:
    fired = alerts(park(seasonal(20, collapse_at=17), [30] * 20))  # 2026-03 collapses
    assert ("tax_collapse", "2026-03") in fired


def test_without_own_seasonality_rule_the_first_january_would_have_fired() -> None:
    # the same park judged with only the park-wide calendar (confidence switched off, no own
    # season) fires: the test above passes because of the new logic, not by construction
    data = RULES.model_dump()
    data["confidence"]["min_confidence"] = 0.0
    data["tax_collapse"]["seasonal_ratio"] = 0.01
    loose = type(RULES).model_validate(data)
    state, fired = None, []
    for i, event in enumerate(park(seasonal(20), [30] * 20)):
        result = process_message(RawMessage("t", 0, i, U.encode(), encode(event)), state, NOW, rules=loose)
        state = result.state
        fired += [a.alert_type for a in result.alerts if a.state == AlertState.FIRING]
    assert "tax_collapse" in fired


def test_per_capita_output_halved_while_payroll_rises_is_a_mismatch() -> None:
    revenues = [500_000.0] * 8 + [220_000.0]
    heads = [40] * 8 + [46]  # +15% staff, per-capita output at 38%
    assert ("payroll_tax_mismatch", "2025-06") in alerts(park(revenues, heads))
    # the same hiring with revenue holding up (a capital increase, say) is not
    assert not [
        a for a in alerts(park([500_000.0] * 8 + [430_000.0], heads)) if a[0] == "payroll_tax_mismatch"
    ]


def test_a_noisy_enterprise_needs_a_bigger_fall_in_its_own_deviations() -> None:
    noisy = [
        500_000.0,
        250_000.0,
        700_000.0,
        300_000.0,
        650_000.0,
        280_000.0,
        600_000.0,
        320_000.0,
        180_000.0,
    ]
    heads = [40] * 8 + [46]
    assert not [a for a in alerts(park(noisy, heads)) if a[0] == "payroll_tax_mismatch"]


def test_near_zero_filings_with_one_employee_are_a_zombie() -> None:
    revenues = [300_000.0] * 6 + [2_000.0, 1_500.0]
    assert "zombie" in {a[0] for a in alerts(park(revenues, [12] * 6 + [1, 1]))}
    # near-zero with staff on the payroll is not a shell
    assert "zombie" not in {a[0] for a in alerts(park(revenues, [12] * 6 + [10, 10]))}
    # a micro firm that always files small amounts is not a zombie (scale-free)
    assert "zombie" not in {a[0] for a in alerts(park([2_000.0] * 8, [1] * 8))}


def test_seasonal_expectation_and_confidence() -> None:
    values: list[int | None] = [round(v) for v in seasonal(16)]
    own = seasonal_expectation(values, 15)  # January 2026 against January 2025 × growth
    assert own is not None and abs(own - values[15]) / values[15] < 0.05  # type: ignore[operator]
    assert seasonal_expectation(values, 3) is None  # no year of history
    assert confidence(3, -10, season_known=False) == 0.25
    assert confidence(6, -1.5, season_known=True) == 0.5
    assert log_variability([100, None, 100], 3) is None
