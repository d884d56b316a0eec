"""Field-level provenance of the enterprise profile: which source and event last set each
field, when (business date), and what every other source says of it.

The business register sets the register's fields (name, address, district, legal
representative, industry, capital, status); tax filings set the credit grade, high-tech
status (the monthly series say themselves which filing each value comes from). A filing's own view of a
register field (the name or district it was filed under) is kept as a *claim* of its source,
which is what the cross-source checks (:mod:`detectors.quality`) compare.

:func:`updated_provenance` returns a new mapping; entries it does not touch are shared.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import orjson

from schemas import Event, InvoiceSummary, RegistrationEvent, SocialSecurityFiling, TaxFiling
from schemas.state import Claim, FieldProvenance
from streams.masking import PERSONAL_KEYS, mask_value

REGISTER_FIELDS = ("name", "address", "district_code", "in_park", "legal_representative", "industry_code",
                   "registered_capital", "status")  # fmt: skip
TAX_FIELDS = ("credit_grade", "high_tech")
CLAIM_FIELDS = ("name", "district_code", "legal_representative")  # what a filing says of the register's fields


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if hasattr(value, "value"):
        return str(value.value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def field_values(event: Event) -> tuple[dict[str, str], dict[str, str]]:
    """(fields the event sets in the profile, fields it only claims), as text."""
    sets: dict[str, str] = {}
    claims: dict[str, str] = {}
    if isinstance(event, RegistrationEvent):
        sets = {f: _text(getattr(event, f)) for f in REGISTER_FIELDS if getattr(event, f) is not None}
    elif isinstance(event, TaxFiling):
        sets = {f: _text(getattr(event, f)) for f in TAX_FIELDS if getattr(event, f) is not None}
        if event.withheld_employees is not None:
            claims["payroll_headcount"] = f"{event.period}: {event.withheld_employees}"
    if isinstance(event, TaxFiling | SocialSecurityFiling):
        claims.update({f: _text(getattr(event, f)) for f in CLAIM_FIELDS if getattr(event, f, None) is not None})
    return sets, claims


def updated_provenance(
    provenance: dict[str, FieldProvenance], event: Event, business_date: date
) -> dict[str, FieldProvenance]:
    """``provenance`` after ``event``; a claim older (in business time) than its source's
    stored claim does not replace it, and an older filing does not take over ``set_by``."""
    if isinstance(event, InvoiceSummary):
        return provenance
    sets, claims = field_values(event)
    out = dict(provenance)
    for name, value in (*sets.items(), *claims.items()):
        current = out.get(name) or FieldProvenance()
        held = current.claims.get(event.source)
        if held is not None and held[2] > business_date:
            continue
        claim: Claim = (value, event.event_id, business_date)
        newest = all(c[2] <= business_date for c in current.claims.values())
        set_by = event.source if name in sets and (isinstance(event, RegistrationEvent) or newest) else current.set_by
        out[name] = FieldProvenance(set_by=set_by, claims={**current.claims, event.source: claim})
    return out


def provenance_rows(stored: str | dict[str, Any] | None, masked: bool = False) -> list[dict[str, Any]]:
    """The provenance as display rows (one per field): the value the profile holds, the
    source and event that set it and when, and what the other sources say.

    ``stored`` is the snapshot's JSON (or the state's ``provenance`` mapping); ``masked``
    hides personal values (the legal representative) as :mod:`streams.masking` does.
    """
    if not stored:
        return []
    trails: dict[str, Any] = orjson.loads(stored) if isinstance(stored, str) else stored
    rows = []
    for field in sorted(trails):
        trail = trails[field]
        claims = {source: list(claim) for source, claim in trail.get("claims", {}).items()}
        personal = masked and field in PERSONAL_KEYS
        setter = claims.get(trail.get("set_by") or "")
        rows.append({
            "field": field,
            "value": _shown(setter[0], personal) if setter else None,
            "set_by": trail.get("set_by"),
            "event_id": setter[1] if setter else None,
            "business_date": setter[2] if setter else None,
            "others": {s: _shown(c[0], personal) for s, c in sorted(claims.items()) if s != trail.get("set_by")},
        })  # fmt: skip
    return rows


def _shown(value: Any, personal: bool) -> Any:
    return mask_value(value) if personal else value
