"""Deliberately broken messages: what a dead-letter path must cope with.

Each defect is derived from a valid message, keeps the enterprise's key, and is guaranteed to
be rejected by :func:`schemas.decode.decode_event`.
"""

from __future__ import annotations

import random
from typing import Any

import orjson

from simulator.population import USCC_ALPHABET

DEFECTS: tuple[str, ...] = (
    "bad_check_digit",
    "missing_field",
    "nan",
    "negative_money",
    "truncated",
    "unknown_field",
    "unknown_kind",
    "wrong_type",
)
_MONEY = (
    "sales_revenue",
    "tax_payable",
    "tax_paid",
    "amount",
    "contribution_base",
    "paid",
    "registered_capital",
)
_WRONG_TYPES: dict[str, Any] = {
    "event_id": ["not", "a", "string"],
    "occurred_at": "last Tuesday",
    "insured_headcount": "many",
    "invoices_issued": {"count": 3},
    "in_park": "maybe",
    "period": 202401,
    "high_tech": "perhaps",
    "sales_revenue": {"amount": "1.00"},
}


def corrupt(value: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Return a broken variant of a valid message value and the defect's name."""
    defect = rng.choice(DEFECTS)
    payload: dict[str, Any] = orjson.loads(value)
    money_fields = [f for f in _MONEY if f in payload]
    if defect in ("negative_money", "nan") and not money_fields:
        defect = "missing_field"
    if defect == "truncated":
        text = value.decode()  # cut on a character boundary so the bytes stay UTF-8
        return text[: rng.randrange(1, len(text) - 1)].encode(), defect
    if defect == "bad_check_digit":
        if "uscc" in payload:
            uscc = payload["uscc"]
            payload["uscc"] = uscc[:-1] + rng.choice(USCC_ALPHABET.replace(uscc[-1], ""))
        else:  # named by a legacy identifier (simulator/library.py): break its check character
            scheme = next(f for f in ("org_code", "registration_number", "taxpayer_id") if f in payload)
            named = payload[scheme]
            payload[scheme] = named[:-1] + rng.choice("0123456789".replace(named[-1], ""))
    elif defect == "negative_money":
        payload[rng.choice(money_fields)] = "-" + str(rng.randint(1, 99_999)) + ".00"
    elif defect == "nan":
        field = rng.choice(money_fields)
        if rng.random() < 0.5:
            payload[field] = rng.choice(("NaN", "Infinity", "-Infinity"))
        else:  # a bare NaN token, which some JSON writers emit and strict parsers refuse
            payload[field] = "__NAN__"
            return orjson.dumps(payload).replace(b'"__NAN__"', b"NaN"), defect
    elif defect == "unknown_kind":
        payload["kind"] = rng.choice(("customs", "patent", "Tax", ""))
    elif defect == "missing_field":
        required = [
            f
            for f in ("event_id", "uscc", "occurred_at", "source", "period", "change", "date")
            if f in payload
        ]
        del payload[rng.choice(required)]
    elif defect == "wrong_type":
        candidates = [f for f in _WRONG_TYPES if f in payload]
        field = rng.choice(candidates)
        payload[field] = _WRONG_TYPES[field]
    else:  # unknown_field: extra fields are refused rather than dropped
        payload["remark"] = "手工补录"
    return orjson.dumps(payload), defect
