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


def cit(uscc: str, event_id: str, period: str, revenue: str = "300000.00", **fields: Any) -> dict[str, Any]:
    """A quarterly CIT filing (the period is the quarter's last month)."""
    base = {"tax_type": "cit", "tax_payable": "3000.00", "tax_paid": "3000.00", "rd_expense": "15000.00"}
    return vat(uscc, event_id, period, revenue, **{**base, **fields})


def synthetic_park(enterprises: int, months: int, seed: int = 0, first: str = "2024-01") -> list[dict[str, Any]]:
    """A small deterministic park in business-time order: establishment, monthly VAT and
    social-security filings, quarterly CIT, a few e-invoice days, capital injections and
    some exits (deregistrations), with sizes, growth and R&D varying by enterprise."""
    import math
    import random

    rng = random.Random(seed)
    year, month0 = int(first[:4]), int(first[5:7]) - 1
    industries = ("C3562", "I6510", "F5191", "M7320")
    timed: list[tuple[str, int, dict[str, Any]]] = []
    for i in range(enterprises):
        uscc = make_uscc(10_000 + i)
        base = math.exp(rng.uniform(11.0, 16.0))
        growth = rng.gauss(0.01, 0.02)
        heads = max(1, int(base / rng.uniform(20_000, 60_000)))
        rd = rng.choice((0.0, 0.0, 0.05))
        grade = rng.choice("ABBM")
        exit_at = rng.randrange(3, months) if rng.random() < 0.1 else None
        timed.append(("0000-00-00", i, registration(
            uscc, f"e{i}-reg", industry_code=rng.choice(industries), occurred_at=f"{first}-01T09:00:00")))
        for m in range(months if exit_at is None else exit_at):
            idx = year * 12 + month0 + m
            period = f"{idx // 12:04d}-{idx % 12 + 1:02d}"
            revenue = base * (1 + growth) ** m * rng.lognormvariate(0, 0.1)
            heads = max(1, round(heads * (1 + growth / 2) * rng.lognormvariate(0, 0.01)))
            timed.append((f"{period}-20", i, social_security(uscc, f"e{i}-ss-{period}", period, heads)))
            timed.append((f"{period}-28", i, vat(uscc, f"e{i}-vat-{period}", period, f"{revenue:.2f}",
                                                 tax_payable=f"{revenue * 0.06:.2f}", tax_paid=f"{revenue * 0.06:.2f}",
                                                 high_tech=rd > 0, credit_grade=grade)))  # fmt: skip
            if idx % 3 == 2:
                timed.append((f"{period}-28", i, cit(uscc, f"e{i}-cit-{period}", period, f"{3 * revenue:.2f}",
                                                     rd_expense=f"{3 * revenue * rd:.2f}", high_tech=rd > 0,
                                                     credit_grade=grade)))  # fmt: skip
            day = f"{period}-{rng.randrange(1, 28):02d}"
            timed.append((day, i, invoice(uscc, f"e{i}-inv-{day}", day, f"{revenue / 10:.2f}")))
            if rng.random() < 0.03:
                timed.append((f"{period}-10", i, registration(
                    uscc, f"e{i}-cap-{period}", change="shareholder", occurred_at=f"{period}-10T10:00:00",
                    shareholder={"name": "投资人", "capital_injection": "500000.00"})))
        if exit_at is not None:
            idx = year * 12 + month0 + exit_at
            period = f"{idx // 12:04d}-{idx % 12 + 1:02d}"
            timed.append((f"{period}-05", i, registration(
                uscc, f"e{i}-exit", change="status", status="deregistered", occurred_at=f"{period}-05T10:00:00")))
    timed.sort(key=lambda t: (t[0], t[1]))
    return [event for _, _, event in timed]


def monthly_value(state: dict[str, Any], series: str, period: str) -> Any:
    """One month of a series in an enterprise state as served by ``/api/enterprises/{uscc}``."""
    monthly = state["monthly"]
    start = monthly["start"]
    position = (int(period[:4]) * 12 + int(period[5:7])) - (int(start[:4]) * 12 + int(start[5:7]))
    values = monthly[series]
    return values[position] if 0 <= position < len(values) else None


def legacy_uscc(i: int, district: str = "330110") -> str:
    """A USCC of an enterprise older than the USCC: its characters 9–17 are a valid GB 11714
    organisation code, so the code can be read off it."""
    from schemas.identifiers import org_code_check

    body = f"{i:08d}"
    first17 = f"91{district}{body}{org_code_check(body)}"
    return first17 + uscc_check_digit(first17)


def registration_number(i: int) -> str:
    """A valid 15-digit pre-2015 registration number (ISO 7064 MOD 11,10 check digit)."""
    from stdnum.iso7064 import mod_11_10

    body = f"3301{i:010d}"
    return body + mod_11_10.calc_check_digit(body)


def sole_proprietor_taxpayer_id(i: int) -> str:
    """A valid 20-character taxpayer id: an identity card number and 2 digits."""
    from stdnum.cn import ric

    body = f"33010619900101{i % 1000:03d}"
    return body + ric.calc_check_digit(body + "0") + "01"


def legacy_keyed(event: dict[str, Any], **identifier: str) -> dict[str, Any]:
    """``event`` without its uscc, naming its enterprise by ``identifier`` instead."""
    return {**{k: v for k, v in event.items() if k != "uscc"}, **identifier}
