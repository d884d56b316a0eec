"""Features of one enterprise, computed from its state alone: pure functions, flat dicts.

The reference month is the last month of the state's monthly window (the latest VAT or
social-security period seen). VAT for a month is filed in the following month, so VAT
figures are read up to the latest month that has a VAT filing, and VAT filing gaps are
counted up to the month before the reference month. A feature that is undefined (a ratio
over nothing, a growth rate without a base) is left out of the dict rather than set to 0.

Only data in the state is used, and the state only holds events applied so far; that is
what keeps the exit-risk snapshots free of look-ahead (see :mod:`detectors.scoring.exit_risk`).
Registration status and ``in_park`` are deliberately not features: they are what the exit
rule and the exit label are made of.
"""

from __future__ import annotations

from datetime import date

from schemas import EnterpriseState
from schemas.state import MonthlySeries, month_index

GRADE_SCORE = {"A": 4.0, "B": 3.0, "M": 2.0, "C": 1.0, "D": 0.0}
GROWTH_CLIP = (-1.0, 10.0)


def _clip(value: float, bounds: tuple[float, float] = GROWTH_CLIP) -> float:
    return min(bounds[1], max(bounds[0], value))


def _growth(now: float, before: float) -> float | None:
    return _clip(now / before - 1.0) if before > 0 else None


def last_filed(values: list[int | None]) -> int | None:
    """Position of the last non-null value, ``None`` if there is none."""
    for i in range(len(values) - 1, -1, -1):
        if values[i] is not None:
            return i
    return None


def _unpaid(m: MonthlySeries, lo: int, hi: int) -> int:
    """Tax not paid (VAT and CIT) in positions ``lo..hi``; the sparse maps are nearly always empty."""
    if not m.vat_unpaid and not m.cit_unpaid:
        return 0
    periods = {m.period_of(i) for i in range(lo, hi + 1)}
    return sum(v for p, v in (*m.vat_unpaid.items(), *m.cit_unpaid.items()) if p in periods)


def _sum3(values: list[int | None], end: int) -> tuple[float, int]:
    """Sum and number of filed months among the three positions ending at ``end``."""
    window = [v for v in values[max(0, end - 2) : end + 1] if v is not None] if end >= 0 else []
    return float(sum(window)), len(window)


def revenue_features(m: MonthlySeries) -> dict[str, float]:
    """Annualised revenue, growth (YoY on 3-month sums, 3-month, MoM) and tax ratios."""
    out: dict[str, float] = {}
    revenue = m.revenue
    end = last_filed(revenue)
    if end is None:
        return out
    lo = max(0, end - 11)
    window = [v for v in revenue[lo : end + 1] if v is not None]
    filed = len(window)
    revenue_12 = float(sum(window))
    out["revenue_annual"] = revenue_12 * 12.0 / filed
    last3, _ = _sum3(revenue, end)
    year_ago, n_year = _sum3(revenue, end - 12)
    if n_year == 3 and (g := _growth(last3, year_ago)) is not None:
        out["revenue_yoy"] = g
    before, n_before = _sum3(revenue, end - 3)
    if n_before == 3 and (g := _growth(last3, before)) is not None:
        out["revenue_3m_growth"] = g
    previous = revenue[end - 1] if end >= 1 else None
    if previous is not None and (g := _growth(float(revenue[end] or 0), float(previous))) is not None:
        out["revenue_mom"] = g
    cit = float(sum(m.cit_payable[lo : end + 1]))
    rd = float(sum(m.rd_expense[lo : end + 1]))
    if revenue_12 > 0:
        paid = sum(m.vat_payable[lo : end + 1]) + cit - _unpaid(m, lo, end)
        out["tax_burden"] = paid / revenue_12
        out["cit_burden"] = cit / revenue_12
        out["rd_intensity"] = rd / revenue_12
    out["rd_expense_annual"] = rd * 12.0 / filed
    return out


def workforce_features(m: MonthlySeries) -> dict[str, float]:
    """Headcount, its 12-month change, contribution per employee, arrears ratio."""
    out: dict[str, float] = {}
    end = last_filed(m.headcount)
    if end is None:
        return out
    heads = float(m.headcount[end] or 0)
    out["headcount"] = heads
    back = max(0, end - 12)
    base_heads = next((m.headcount[i] for i in range(back, end - 2) if m.headcount[i] is not None), None)
    if base_heads:
        out["headcount_change_12m"] = _clip(heads / base_heads - 1.0)
    if heads > 0:
        out["contribution_per_employee"] = m.contribution_base[end] / heads
    arrears = m.arrears.get(m.period_of(end), 0) if m.arrears else 0
    due = m.ss_paid[end] + arrears
    out["arrears_ratio"] = arrears / due if due > 0 else 0.0
    return out


def filing_gap_features(m: MonthlySeries) -> dict[str, float]:
    """Months without a VAT / social-security filing in the last 12, since the first filing."""
    if not len(m):
        return {}
    end = len(m) - 1
    out: dict[str, float] = {}
    for name, values, last in (("vat", m.revenue, end - 1), ("ss", m.headcount, end)):
        first = next((i for i, v in enumerate(values) if v is not None), None)
        if first is None or last < first:
            out[f"{name}_filing_gaps"] = 0.0
            continue
        start = max(first, last - 11)
        out[f"{name}_filing_gaps"] = float(sum(v is None for v in values[start : last + 1]))
    return out


def invoice_features(state: EnterpriseState) -> dict[str, float]:
    """90-day e-invoice amount and count; trend of the last 30 days against the 60 before."""
    inv = state.invoices
    if inv.start is None or state.business_at is None:
        return {}
    # days after the last summary count as zero-invoice days up to the business date
    idle = max(0, (state.business_at - inv.start).days + 1 - len(inv.amount))
    amounts = ([*inv.amount, *[0] * min(idle, 90)])[-90:]
    counts = ([*inv.count, *[0] * min(idle, 90)])[-90:]
    out = {"invoice_amount_90d": float(sum(amounts)), "invoice_count_90d": float(sum(counts))}
    if len(amounts) >= 60:
        recent, before = sum(amounts[-30:]), sum(amounts[:-30]) * 30.0 / (len(amounts) - 30)
        if (g := _growth(float(recent), before)) is not None:
            out["invoice_trend"] = g
    return out


def register_features(state: EnterpriseState, ref: int | None) -> dict[str, float]:
    """Capital, injections in 24 months, legal-representative changes in 12, grade, overdue, age."""
    out: dict[str, float] = {
        "registered_capital": float(state.registered_capital or 0.0),
        "high_tech": 1.0 if state.high_tech else 0.0,
        "abnormal_operation": 1.0 if state.status == "abnormal_operation" else 0.0,
    }
    if state.credit_grade is not None:
        out["credit_score"] = GRADE_SCORE.get(state.credit_grade, 2.0)
    if ref is None and state.business_at is not None:
        ref = state.business_at.year * 12 + state.business_at.month - 1
    if ref is None:
        return out
    recent = [a for p, a in state.injections if ref - month_index(p) < 24]
    out["capital_injections_24m"] = float(sum(recent))
    out["capital_injection_count_24m"] = float(len(recent))
    out["legal_rep_changes_12m"] = float(
        sum(ref - (d.year * 12 + d.month - 1) < 12 for d in state.rep_changes)
    )
    out["overdue_days_12m"] = float(max((d for p, d in state.overdue if ref - month_index(p) < 12), default=0))
    if state.established:
        born = date.fromisoformat(state.established)
        out["age_months"] = float(max(0, ref - (born.year * 12 + born.month - 1)))
    return out


def enterprise_features(state: EnterpriseState) -> dict[str, float]:
    """All features of one enterprise as a flat ``{name: value}`` dict.

    Examples
    --------
    >>> from schemas import EnterpriseState
    >>> enterprise_features(EnterpriseState(uscc="x"))["registered_capital"]
    0.0
    """
    m = state.monthly
    ref = None if m.first is None else m.first + len(m) - 1
    out = register_features(state, ref)
    out.update(revenue_features(m))
    out.update(workforce_features(m))
    out.update(filing_gap_features(m))
    out.update(invoice_features(state))
    if "revenue_annual" in out and out.get("headcount", 0.0) > 0:
        out["revenue_per_capita"] = out["revenue_annual"] / out["headcount"]
    return out
