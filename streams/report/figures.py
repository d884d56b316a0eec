"""What a report shows, as plain dataclasses, and the pure steps that derive them from rows.

Every figure carries the value for the report's month and for the month before, so the
page shows the change without a second query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

DIMENSIONS: tuple[str, ...] = ("composite", "scale", "development", "profitability", "financing", "innovation")


@dataclass(frozen=True)
class Change:
    """A figure this month and the month before."""

    current: Decimal
    previous: Decimal

    @property
    def delta(self) -> Decimal:
        return self.current - self.previous

    @property
    def ratio(self) -> float | None:
        """Relative change (0.1 = +10 %); ``None`` when the month before was zero."""
        return None if self.previous == 0 else float(self.delta / self.previous)


@dataclass(frozen=True)
class KeyFigures:
    """Enterprises filing for the month, declared revenue (VAT), tax payable (VAT + CIT),
    insured headcount, and alerts (new in the month; open at its end)."""

    enterprises: Change
    revenue: Change
    tax: Change
    headcount: Change
    new_alerts: Change
    open_alerts: Change


@dataclass(frozen=True)
class AlertCount:
    """New and resolved alerts of one type in one district, this month and the month before."""

    alert_type: str
    district_code: str
    new: int
    new_previous: int
    resolved: int
    resolved_previous: int


@dataclass(frozen=True)
class TierMove:
    """Enterprises whose tier at the end of the month before was ``before`` and is ``after``
    at the end of this month (``""``: not scored yet)."""

    before: str
    after: str
    enterprises: int


@dataclass(frozen=True)
class ListChangeRow:
    list_name: str
    change: str  # "enter" | "leave"
    uscc: str
    name: str
    changed_at: str


@dataclass(frozen=True)
class Mover:
    dimension: str
    uscc: str
    name: str
    before: float
    after: float

    @property
    def delta(self) -> float:
        return round(self.after - self.before, 2)


@dataclass(frozen=True)
class IndustryRow:
    """Composite scores of one GB/T 4754 section at the end of the month (and the month before)."""

    industry_section: str
    enterprises: int
    p25: float
    median: float
    p75: float
    mean: float
    median_previous: float | None


@dataclass(frozen=True)
class SourceFreshness:
    kind: str
    source: str
    last_business_time: str
    last_ingested_at: str
    events: int
    events_in_period: int


@dataclass(frozen=True)
class Report:
    period: str
    previous: str
    district: str
    generated_at: str
    key: KeyFigures
    tiers: list[TierMove]
    alerts: list[AlertCount]
    list_changes: list[ListChangeRow]
    movers: dict[str, list[Mover]]
    industries: list[IndustryRow]
    sources: list[SourceFreshness]
    notes: list[str] = field(default_factory=list)

    def tier_counts(self, at_end_of: str) -> dict[str, int]:
        """Enterprises per tier at the end of ``period`` or ``previous`` (unscored left out)."""
        side = "after" if at_end_of == self.period else "before"
        counts: dict[str, int] = {}
        for move in self.tiers:
            tier = getattr(move, side)
            if tier:
                counts[tier] = counts.get(tier, 0) + move.enterprises
        return counts


def decimal(value: Any) -> Decimal:
    """A sum as ClickHouse printed it (a string, to stay exact) or a number; NULL is 0."""
    if value is None or value == "":
        return Decimal(0)
    return Decimal(str(value))


def top_movers(rows: list[dict[str, Any]], n: int = 5) -> dict[str, list[Mover]]:
    """Per dimension the ``n`` largest rises and the ``n`` largest falls, largest first.

    ``rows`` hold ``uscc``, ``name`` and ``b_<dim>`` / ``a_<dim>`` (before / after) for every
    enterprise scored at both ends. Ties go to the smaller USCC, so the choice is stable.

    >>> rows = [{"uscc": u, "name": u, "b_composite": 50.0, "a_composite": a}
    ...         for u, a in (("A", 60.0), ("B", 40.0), ("C", 50.0))]
    >>> [(m.uscc, m.delta) for m in top_movers(rows, 1)["composite"]]
    [('A', 10.0), ('B', -10.0)]
    """
    out: dict[str, list[Mover]] = {}
    for dim in DIMENSIONS:
        movers = [Mover(dim, r["uscc"], r["name"] or "", float(r[f"b_{dim}"]), float(r[f"a_{dim}"])) for r in rows]
        rises = sorted((m for m in movers if m.delta > 0), key=lambda m: (-m.delta, m.uscc))[:n]
        falls = sorted((m for m in movers if m.delta < 0), key=lambda m: (m.delta, m.uscc))[:n]
        out[dim] = rises + falls
    return out
