"""The month a report covers, and the one it is compared with."""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.codes import check_district
from schemas.state import month_index, month_text

FIRST, LAST = "1990-01", "2100-12"  # inside ClickHouse's Date range, with room for the month after
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class ReportPeriod:
    """A calendar month (``YYYY-MM``) in Asia/Shanghai business time, and the month before it.

    ``start``/``end`` bound the month as local times (``end`` exclusive): alerts, list
    changes and scores are placed in the month by their business time.
    """

    period: str
    previous: str

    @property
    def start(self) -> str:
        return f"{self.period}-01 00:00:00"

    @property
    def end(self) -> str:
        return f"{month_text(month_index(self.period) + 1)}-01 00:00:00"

    @property
    def previous_start(self) -> str:
        return f"{self.previous}-01 00:00:00"


def parse_period(text: str) -> ReportPeriod:
    """``"2026-04"`` → the April 2026 report period; :class:`ValueError` naming the problem."""
    text = text.strip()
    if not _PERIOD.match(text) or not FIRST <= text <= LAST:
        raise ValueError(f"--period {text[:20]!r} is not a month as YYYY-MM from {FIRST} to {LAST} (e.g. 2026-04)")
    return ReportPeriod(text, month_text(month_index(text) - 1))


def parse_district(text: str | None) -> str:
    """A GB/T 2260 district code, or ``""`` for the whole park."""
    if not text:
        return ""
    return check_district(text.strip())
