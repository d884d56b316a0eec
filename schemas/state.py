"""The per-enterprise state kept in the worker's table (key = USCC).

It is serialized whole to the changelog on every update, so it is kept compact:

* monthly series are plain lists aligned to one start month (``monthly.start``), at most
  :data:`MAX_MONTHS` long, amounts rounded to whole CNY; a missing VAT or social-security
  filing is ``null`` (absent), every other series uses 0 for "nothing declared";
* the daily e-invoice series are two lists aligned to ``invoices.start`` (a date), at most
  :data:`MAX_DAYS` long;
* event lists (capital injections, legal-representative changes, overdue filings) are short
  bounded lists of ``[period_or_date, value]`` pairs.

Positions are computed from the period, so an amended filing overwrites its slot and a
late filing lands in its own month whatever order it arrives in.
"""

from __future__ import annotations

import functools
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

MAX_MONTHS = 36
MAX_DAYS = 90
MAX_INJECTIONS = 24
MAX_REP_CHANGES = 12
MAX_OVERDUE = 12

DIGEST_CHARS = 8

# aligned monthly series; those in NULLABLE_SERIES are null for a month without a filing
MONTHLY_SERIES: tuple[str, ...] = (
    "revenue",  # VAT sales revenue (null: no VAT filing for the month)
    "vat_payable",
    "cit_payable",  # quarterly CIT, in the quarter's last month
    "rd_expense",  # R&D expense declared for the super-deduction (on the CIT return)
    "headcount",  # insured headcount (null: no social-security filing)
    "contribution_base",
    "ss_paid",
)
SPARSE_SERIES: tuple[str, ...] = ("vat_unpaid", "cit_unpaid", "arrears")
NULLABLE_SERIES = frozenset({"revenue", "headcount"})


@functools.lru_cache(maxsize=8192)  # called for every month of every series: parse each text once
def month_index(period: str) -> int:
    """``"2026-03"`` → ``2026 * 12 + 2``, so that month arithmetic is integer arithmetic."""
    return int(period[:4]) * 12 + int(period[5:7]) - 1


@functools.lru_cache(maxsize=8192)
def month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


class OpenAlert(BaseModel):
    """An alert episode that is firing: its id, last version and a fingerprint of its evidence.

    ``severity`` and ``confidence`` (the finding's own, when it gives one) are what the
    enterprise's situation is made of (:mod:`detectors.situations`).
    """

    id: str
    version: int = 1
    fingerprint: str = ""
    severity: str = "warning"
    confidence: float | None = None


class MonthlySeries(BaseModel):
    """Monthly filings aligned to ``start`` (``YYYY-MM``); every list has the same length."""

    start: str | None = None
    revenue: list[int | None] = Field(default_factory=list)
    vat_payable: list[int] = Field(default_factory=list)
    cit_payable: list[int] = Field(default_factory=list)
    rd_expense: list[int] = Field(default_factory=list)
    headcount: list[int | None] = Field(default_factory=list)
    contribution_base: list[int] = Field(default_factory=list)
    ss_paid: list[int] = Field(default_factory=list)
    vat_unpaid: dict[str, int] = Field(default_factory=dict)  # payable − paid, where not 0
    cit_unpaid: dict[str, int] = Field(default_factory=dict)
    arrears: dict[str, int] = Field(default_factory=dict)  # social-security arrears, where not 0

    def __len__(self) -> int:
        return len(self.revenue)

    @property
    def first(self) -> int | None:
        """Month index of the first slot, ``None`` when empty."""
        return month_index(self.start) if self.start else None

    def period_of(self, position: int) -> str:
        assert self.start is not None
        return month_text(month_index(self.start) + position)

    def paid(self, position: int) -> int:
        """VAT plus CIT paid for the month at ``position``."""
        due = self.vat_payable[position] + self.cit_payable[position]
        if not self.vat_unpaid and not self.cit_unpaid:
            return due
        period = self.period_of(position)
        return due - self.vat_unpaid.get(period, 0) - self.cit_unpaid.get(period, 0)

    def by_period(self, name: str) -> dict[str, float]:
        """The non-null values of one series keyed by period (for display and tests)."""
        values: list[int | None] = getattr(self, name)
        return {self.period_of(i): float(v) for i, v in enumerate(values) if v is not None}


class DailyInvoices(BaseModel):
    """Daily e-invoice summaries aligned to ``start`` (a date): invoices issued and amount."""

    start: date | None = None
    count: list[int] = Field(default_factory=list)
    amount: list[int] = Field(default_factory=list)


class ScoreSummary(BaseModel):
    """The enterprise's current scores, and the scorer's per-enterprise bookkeeping.

    ``dims`` are (scale, development, profitability, financing, innovation).
    ``fc_revenue`` / ``fc_headcount`` hold the forecast for the next period as
    ``(period, value)``; ``learned`` holds the last revenue and headcount periods the
    forecaster has learned from, so a replayed or amended month is not learned twice.
    """

    dims: list[float] = Field(default_factory=list)
    composite: float = 0.0
    tier: str = ""
    lists: list[str] = Field(default_factory=list)
    exit_risk: float | None = None
    fc_revenue: tuple[str, float] | None = None
    fc_headcount: tuple[str, float] | None = None
    learned: tuple[str | None, str | None] = (None, None)


MAX_QUALITY_FINDINGS = 32
MAX_WITHHELD = 12

Claim = tuple[str, str, date]  # (value as text, event_id, business date)


class FieldProvenance(BaseModel):
    """Where one profile field comes from: the source whose value the profile holds, and
    the latest value each source reported (``claims``: source → claim)."""

    set_by: str | None = None
    claims: dict[str, Claim] = Field(default_factory=dict)


class EnterpriseState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    uscc: str
    name: str | None = None
    district_code: str | None = None
    in_park: bool | None = None
    industry_code: str | None = None
    status: str = "active"
    legal_representative: str | None = None
    registered_capital: float | None = None
    established: str | None = None
    high_tech: bool | None = None
    credit_grade: str | None = None
    overdue_days: int = 0  # of the latest tax filing
    business_at: date | None = None  # latest business date of any applied event
    monthly: MonthlySeries = Field(default_factory=MonthlySeries)
    invoices: DailyInvoices = Field(default_factory=DailyInvoices)
    injections: list[tuple[str, int]] = Field(default_factory=list)  # (YYYY-MM, CNY)
    rep_changes: list[date] = Field(default_factory=list)
    overdue: list[tuple[str, int]] = Field(default_factory=list)  # (YYYY-MM, days late)
    scores: ScoreSummary | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    recent_event_ids: str = ""  # digests of the last N event ids, DIGEST_CHARS each
    # The last input offset applied per "topic:partition": a record at or below it is a
    # redelivery (after a crash or a rewind) and changes nothing, not even ``duplicates``.
    positions: dict[str, int] = Field(default_factory=dict)
    open_alerts: dict[str, OpenAlert] = Field(default_factory=dict)
    alert_episodes: dict[str, int] = Field(default_factory=dict)
    applied: int = 0
    duplicates: int = 0
    updated_at: datetime | None = None
    # One library: field → where it comes from (streams/provenance.py); the payroll-tax
    # headcount per period (YYYY-MM, the last MAX_WITHHELD); ids of the data-quality findings
    # already raised (the last MAX_QUALITY_FINDINGS), so a contradiction is reported once.
    provenance: dict[str, FieldProvenance] = Field(default_factory=dict)
    withheld: dict[str, int] = Field(default_factory=dict)
    quality: list[str] = Field(default_factory=list)

    @property
    def revenue(self) -> dict[str, float]:
        """VAT sales revenue by period (read-only view of ``monthly.revenue``)."""
        return self.monthly.by_period("revenue")

    @property
    def headcount(self) -> dict[str, float]:
        """Insured headcount by period (read-only view of ``monthly.headcount``)."""
        return self.monthly.by_period("headcount")

    def latest_revenue(self) -> float | None:
        return _latest(self.monthly.revenue)

    def latest_headcount(self) -> int | None:
        value = _latest(self.monthly.headcount)
        return None if value is None else int(value)


def _latest(values: list[int | None]) -> float | None:
    for value in reversed(values):
        if value is not None:
            return float(value)
    return None
