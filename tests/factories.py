"""Factories for valid input events (JSON-ready dicts) and USCCs."""

from __future__ import annotations

from typing import Any

import orjson

from schemas import uscc_check_digit


def make_uscc(i: int, district: str = "330110") -> str:
    body = f"91{district}MA2B{i:05d}"[:17]
    return body + uscc_check_digit(body)


def registration(uscc: str, event_id: str, change: str = "establishment", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": event_id, "uscc": uscc, "kind": "registration", "occurred_at": "2026-01-01T09:00:00",
        "source": "amr", "change": change,
    }  # fmt: skip
    if change == "establishment":
        base.update(name=f"杭州测试{uscc[-4:]}科技有限公司", district_code="330110", in_park=True,
                    industry_code="I6510", registered_capital="1000000.00", status="active")  # fmt: skip
    base.update(fields)
    return base


def vat(uscc: str, event_id: str, period: str, revenue: str = "100000.00", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": event_id, "uscc": uscc, "kind": "tax", "record": "filing",
        "occurred_at": f"{period}-15T09:00:00", "source": "tax", "period": period, "tax_type": "vat",
        "sales_revenue": revenue, "tax_payable": "6000.00", "tax_paid": "6000.00",
    }  # fmt: skip
    base.update(fields)
    return base


def invoice(uscc: str, event_id: str, day: str, amount: str = "3000.00") -> dict[str, Any]:
    return {
        "event_id": event_id, "uscc": uscc, "kind": "tax", "record": "invoice",
        "occurred_at": f"{day}T20:00:00", "source": "einvoice", "date": day,
        "invoices_issued": 12, "amount": amount,
    }  # fmt: skip


def social_security(uscc: str, event_id: str, period: str, headcount: int = 20, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": event_id, "uscc": uscc, "kind": "social_security",
        "occurred_at": f"{period}-20T09:00:00", "source": "hrss", "period": period,
        "insured_headcount": headcount, "contribution_base": f"{headcount * 8000}.00",
        "paid": f"{headcount * 2400}.00",
    }  # fmt: skip
    base.update(fields)
    return base


def encode(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)
