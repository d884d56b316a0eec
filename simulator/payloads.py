"""Event payloads as a producer would send them: plain dicts serialised with orjson.

Money goes out as a JSON string with two decimals ("1234.50"), the usual practice for
amounts in Chinese government data exchange, so no float rounding reaches the consumer.
Times are ISO 8601 with the +08:00 offset.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from simulator.population import Enterprise

SOURCES = {"registration": "sim-amr", "tax": "sim-tax", "social_security": "sim-hrss"}
_UTC_OFFSET_S = 8 * 3600


def money(value: float) -> str:
    return f"{max(0.0, value):.2f}"


@lru_cache(maxsize=4096)
def _day_text(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def iso(ts: int) -> str:
    """ISO 8601 text of a Unix timestamp in Asia/Shanghai (fixed +08:00, no DST)."""
    days, secs = divmod(ts + _UTC_OFFSET_S, 86400)
    hours, rest = divmod(secs, 3600)
    return f"{_day_text(days + 719163)}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}+08:00"


def envelope(event_id: str, uscc: str, kind: str, ts: int) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "uscc": uscc,
        "kind": kind,
        "occurred_at": iso(ts),
        "source": SOURCES[kind],
        "schema_version": 1,
    }


def establishment(ent: Enterprise) -> dict[str, Any]:
    return {
        "change": "establishment",
        "name": ent.name,
        "district_code": ent.district,
        "in_park": ent.in_park,
        "address": ent.address,
        "legal_representative": ent.legal_rep,
        "registered_capital": money(ent.capital),
        "business_scope": ent.industry.scope,
        "industry_code": ent.industry.code,
        "status": "active",
    }


def vat_filing(
    ent: Enterprise, period: str, revenue: float, payable: float, paid: float, overdue: int
) -> dict[str, Any]:
    return {
        "record": "filing",
        "period": period,
        "tax_type": "vat",
        "sales_revenue": money(revenue),
        "tax_payable": money(payable),
        "tax_paid": money(paid),
        "high_tech": ent.high_tech,
        "credit_grade": ent.credit_grade,
        "overdue_days": overdue,
    }


def cit_filing(ent: Enterprise, period: str, revenue: float, payable: float, overdue: int) -> dict[str, Any]:
    return {
        "record": "filing",
        "period": period,
        "tax_type": "cit",
        "sales_revenue": money(revenue),
        "tax_payable": money(payable),
        "tax_paid": money(payable),
        "rd_expense": money(revenue * ent.rd_share),
        "high_tech": ent.high_tech,
        "credit_grade": ent.credit_grade,
        "overdue_days": overdue,
    }


def social_security(period: str, headcount: int, base: float, paid: float, arrears: float) -> dict[str, Any]:
    return {
        "period": period,
        "insured_headcount": headcount,
        "contribution_base": money(base),
        "paid": money(paid),
        "arrears": money(arrears),
    }


def invoice(day: date, issued: int, amount: float) -> dict[str, Any]:
    return {"record": "invoice", "date": day.isoformat(), "invoices_issued": issued, "amount": money(amount)}


def amended(fields: dict[str, Any], factor: float) -> dict[str, Any]:
    """A corrected return (更正申报): revenue and tax scaled by ``factor``, everything else kept."""
    out = dict(fields)
    for name in ("sales_revenue", "tax_payable", "tax_paid", "rd_expense", "contribution_base", "paid"):
        if name in out:
            out[name] = money(float(out[name]) * factor)
    return out
