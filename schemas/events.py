"""Input events: registration changes, tax filings, e-invoice summaries, social-security filings.

Policy for unknown fields: rejected (``extra="forbid"``), so a producer's typo is caught
at the boundary instead of being dropped silently. Money is CNY with at most two decimals,
non-negative and finite. Business times without a zone are read as Asia/Shanghai.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from schemas.codes import check_district, check_industry, check_uscc
from schemas.identifiers import check_org_code, check_registration_number, check_taxpayer_id

SHANGHAI = ZoneInfo("Asia/Shanghai")
SCHEMA_VERSION = 1

Uscc = Annotated[str, AfterValidator(check_uscc)]
DistrictCode = Annotated[str, AfterValidator(check_district)]
IndustryCode = Annotated[str, AfterValidator(check_industry)]
OrgCode = Annotated[str, AfterValidator(check_org_code)]
RegistrationNumber = Annotated[str, AfterValidator(check_registration_number)]
TaxpayerId = Annotated[str, AfterValidator(check_taxpayer_id)]
CENT = Decimal("0.01")


def in_cents(value: Decimal) -> Decimal:
    """An amount written with trailing zeros past the cents (``"68508.600"``, which the
    ``decimal_places`` check accepts) as cents; every accepted amount has at most two places.

    >>> in_cents(Decimal("68508.600")), in_cents(Decimal("12.5")), in_cents(Decimal("7E+2"))
    (Decimal('68508.60'), Decimal('12.5'), Decimal('7E+2'))
    """
    exponent = value.as_tuple().exponent
    return value.quantize(CENT) if isinstance(exponent, int) and exponent < -2 else value


Money = Annotated[
    Decimal, Field(ge=0, max_digits=18, decimal_places=2, allow_inf_nan=False), AfterValidator(in_cents)
]
Period = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class EnterpriseStatus(StrEnum):
    ACTIVE = "active"
    ABNORMAL_OPERATION = "abnormal_operation"
    REVOKED = "revoked"
    DEREGISTERED = "deregistered"
    MOVED_OUT = "moved_out"


class RegistrationChange(StrEnum):
    ESTABLISHMENT = "establishment"
    NAME = "name"
    ADDRESS = "address"
    LEGAL_REPRESENTATIVE = "legal_representative"
    REGISTERED_CAPITAL = "registered_capital"
    BUSINESS_SCOPE = "business_scope"
    SHAREHOLDER = "shareholder"
    INDUSTRY = "industry"
    STATUS = "status"


class TaxType(StrEnum):
    VAT = "vat"
    CIT = "cit"


class CreditGrade(StrEnum):
    A = "A"
    B = "B"
    M = "M"
    C = "C"
    D = "D"


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    uscc: Uscc
    occurred_at: datetime
    source: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    schema_version: Literal[1] = 1
    # Legacy identifiers (schemas/identifiers.py). An event without ``uscc`` names its
    # enterprise by one of them and is resolved before the state; a registration event with
    # both teaches the identity table the enterprise's former identifiers.
    org_code: OrgCode | None = None
    registration_number: RegistrationNumber | None = None
    taxpayer_id: TaxpayerId | None = None
    resolved_from: Annotated[str, StringConstraints(max_length=64)] | None = None  # set by the resolver

    @field_validator("occurred_at")
    @classmethod
    def _zoned(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)


class Shareholder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    capital_injection: Money = Decimal(0)


class RegistrationEvent(_Event):
    """A change in the business register (市场监管 / 工商登记)."""

    kind: Literal["registration"] = "registration"
    change: RegistrationChange
    name: Name | None = None
    district_code: DistrictCode | None = None
    in_park: bool | None = None
    address: Annotated[str, StringConstraints(max_length=300)] | None = None
    legal_representative: Name | None = None
    registered_capital: Money | None = None
    business_scope: Annotated[str, StringConstraints(max_length=2000)] | None = None
    shareholder: Shareholder | None = None
    industry_code: IndustryCode | None = None
    status: EnterpriseStatus | None = None


class TaxFiling(_Event):
    """A period tax return: monthly VAT or quarterly CIT (the period is the filing's last month)."""

    kind: Literal["tax"] = "tax"
    record: Literal["filing"] = "filing"
    period: Period
    tax_type: TaxType
    sales_revenue: Money
    tax_payable: Money
    tax_paid: Money
    rd_expense: Money = Decimal(0)
    high_tech: bool = False
    credit_grade: CreditGrade | None = None
    overdue_days: Annotated[int, Field(ge=0, le=3650)] = 0
    # What the tax bureau knows of the filer (checked against the register, 去伪存真)
    name: Name | None = None
    legal_representative: Name | None = None
    district_code: DistrictCode | None = None  # the district whose bureau took the filing
    withheld_employees: Annotated[int, Field(ge=0, le=1_000_000)] | None = None  # payroll tax (个税扣缴人数)


class InvoiceSummary(_Event):
    """A daily e-invoice summary: invoices issued that day and their total amount."""

    kind: Literal["tax"] = "tax"
    record: Literal["invoice"] = "invoice"
    date: date
    invoices_issued: Annotated[int, Field(ge=0, le=10_000_000)]
    amount: Money


class SocialSecurityFiling(_Event):
    """A monthly social-security filing (社保缴纳)."""

    kind: Literal["social_security"] = "social_security"
    period: Period
    insured_headcount: Annotated[int, Field(ge=0, le=1_000_000)]
    contribution_base: Money
    paid: Money
    arrears: Money = Decimal(0)
    name: Name | None = None  # the insured employer's name as the social-security office knows it
    district_code: DistrictCode | None = None  # the district of the social-security office


Event = RegistrationEvent | TaxFiling | InvoiceSummary | SocialSecurityFiling
EVENT_MODELS: tuple[type[_Event], ...] = (
    RegistrationEvent,
    TaxFiling,
    InvoiceSummary,
    SocialSecurityFiling,
)
EventKind = Literal["registration", "tax", "social_security"]
EVENT_KINDS: tuple[str, ...] = ("registration", "tax", "social_security")


def business_month(event: Event) -> str:
    """The ``YYYY-MM`` month an event belongs to in business time."""
    if isinstance(event, TaxFiling | SocialSecurityFiling):
        return event.period
    if isinstance(event, InvoiceSummary):
        return event.date.strftime("%Y-%m")
    return event.occurred_at.astimezone(SHANGHAI).strftime("%Y-%m")
