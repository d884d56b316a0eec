"""Legacy enterprise identifiers and how each leads to the USCC.

Before the USCC (GB 32100-2015) an enterprise was named by:

* its **organisation code** (组织机构代码, GB 11714): 8 characters and a check character;
  characters 9–17 of a USCC are that code, so it can be read off any known USCC;
* its **registration number** (工商注册号): 15 digits, the last an ISO 7064 MOD 11,10 check
  digit (GB/T 17710);
* its **taxpayer id** (纳税人识别号): 15 characters — the 6-digit district code and the
  organisation code — or 20 for a sole proprietor (the 18-character resident identity card
  number and 2 digits).

:func:`routing_identifier` gives the one identifier the identity table is keyed by: a
15-character taxpayer id is routed by the organisation code inside it, so one fact
(organisation code → USCC) resolves both.

>>> org_code_check("12345678")
'8'
>>> routing_identifier("taxpayer_id", "330106123456788")
Identifier(scheme='org_code', value='123456788')
>>> Identifier.parse("registration_number:330100000000003").scheme
'registration_number'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from stdnum.cn import ric
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_11_10

Scheme = Literal["org_code", "registration_number", "taxpayer_id"]
SCHEMES: tuple[Scheme, ...] = ("org_code", "registration_number", "taxpayer_id")

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CODE = re.compile(r"^[0-9A-Z]{8}[0-9X]$")
_REGISTRATION = re.compile(r"^\d{15}$")
_DISTRICT = re.compile(r"^[1-8]\d{5}$")


def _char_value(char: str) -> int:
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def org_code_check(body: str) -> str:
    """The GB 11714 check character of an 8-character organisation-code body."""
    remainder = 11 - sum(_char_value(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    return "X" if remainder == 10 else "0" if remainder == 11 else str(remainder)


def check_org_code(value: str) -> str:
    """The organisation code, or ``ValueError`` naming what is wrong."""
    if not _ORG_CODE.match(value):
        raise ValueError(f"organisation code {value!r} is not 8 digits or capitals and a check character")
    if org_code_check(value[:8]) != value[8]:
        raise ValueError(f"organisation code {value!r} has a wrong check character (GB 11714)")
    return value


def check_registration_number(value: str) -> str:
    """The 15-digit registration number, or ``ValueError``."""
    if not _REGISTRATION.match(value):
        raise ValueError(f"registration number {value!r} is not 15 digits")
    if not mod_11_10.is_valid(value):
        raise ValueError(f"registration number {value!r} has a wrong check digit (ISO 7064 MOD 11,10)")
    return value


def check_taxpayer_id(value: str) -> str:
    """A 15-character (district + organisation code) or 20-character (identity card + 2 digits) id."""
    if len(value) == 15:
        if not _DISTRICT.match(value[:6]):
            raise ValueError(f"taxpayer id {value!r} does not start with a district code")
        check_org_code(value[6:])
        return value
    if len(value) == 20:
        if not value[18:].isdigit():
            raise ValueError(f"taxpayer id {value!r} does not end in 2 digits")
        try:
            ric.validate(value[:18])
        except ValidationError as exc:
            raise ValueError(f"taxpayer id {value!r} does not start with a valid identity card number: {exc}") from None
        return value
    raise ValueError(f"taxpayer id {value!r} is neither 15 nor 20 characters")


CHECKS = {"org_code": check_org_code, "registration_number": check_registration_number,
          "taxpayer_id": check_taxpayer_id}  # fmt: skip


@dataclass(frozen=True, order=True)
class Identifier:
    """One legacy identifier; its text form ``scheme:value`` is the identity table's key."""

    scheme: Scheme
    value: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.value}"

    @classmethod
    def parse(cls, text: str) -> Identifier:
        """``scheme:value``, or a bare value whose format says its scheme; ``ValueError`` otherwise."""
        scheme, sep, value = text.strip().partition(":")
        if sep:
            if scheme not in SCHEMES:
                raise ValueError(f"unknown identifier scheme {scheme!r}; known: {', '.join(SCHEMES)}")
            CHECKS[scheme](value)
            return cls(scheme, value)  # type: ignore[arg-type]
        return cls.guess(text.strip())

    @classmethod
    def guess(cls, value: str) -> Identifier:
        """The scheme from the format alone (9 → organisation code, 15 digits → registration
        number unless it is a valid taxpayer id, 15/20 → taxpayer id)."""
        if len(value) == 9:
            return cls("org_code", check_org_code(value))
        if len(value) == 15 and mod_11_10.is_valid(value) and value.isdigit():
            return cls("registration_number", value)
        if len(value) in (15, 20):
            return cls("taxpayer_id", check_taxpayer_id(value))
        raise ValueError(f"{value!r} is not an organisation code, registration number or taxpayer id")


def routing_identifier(scheme: Scheme, value: str) -> Identifier:
    """The identity-table key that resolves ``scheme``/``value`` (see the module docstring)."""
    if scheme == "taxpayer_id" and len(value) == 15:
        return Identifier("org_code", value[6:])
    return Identifier(scheme, value)


def org_code_of(uscc: str) -> str:
    """Characters 9–17 of a USCC: the enterprise's organisation code."""
    return uscc[8:17]


def derived_identifiers(uscc: str) -> list[Identifier]:
    """What a USCC alone says of the enterprise's legacy identifiers: its organisation code,
    when that code carries a valid GB 11714 check character (codes issued since 2015 may not)."""
    code = org_code_of(uscc)
    try:
        return [Identifier("org_code", check_org_code(code))]
    except ValueError:
        return []
