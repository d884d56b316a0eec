"""Business calendar of a Chinese industrial park: seasonality, Spring Festival, weekends.

Revenue dips around the Spring Festival (the holiday week plus a slow restart while migrant
workers return), peaks in December (year-end invoicing and settlement) and rises slightly at
quarter ends. Invoices are issued mostly on working days.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

from schemas.events import SHANGHAI
from simulator.profile import Festival

# 农历正月初一 (Spring Festival day) per year; outside the table we assume early February.
SPRING_FESTIVAL: dict[int, date] = {
    2018: date(2018, 2, 16),
    2019: date(2019, 2, 5),
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
    2031: date(2031, 1, 23),
    2032: date(2032, 2, 11),
}

# Calendar-month factors before the Spring Festival effect (Jan = index 0): quarter-end bumps,
# the National Day golden week in October, the December peak.
_MONTH_FACTOR = (1.00, 1.00, 1.03, 0.98, 0.99, 1.06, 0.97, 0.97, 1.05, 0.93, 1.02, 1.22)
_FESTIVAL = Festival(
    eve=0.8, eve_days=(-7, -3), holiday=0.08, holiday_days=(-2, 6), restart=0.55, restart_days=(7, 15)
)
_WEEKDAY_ACTIVITY = (1.0, 1.0, 1.0, 1.0, 1.0, 0.35, 0.15)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_UTC_OFFSET_S = 8 * 3600  # Asia/Shanghai has no DST since 1991


def spring_festival(year: int) -> date:
    return SPRING_FESTIVAL.get(year, date(year, 2, 5))


def festival_activity(day: date, festival: Festival = _FESTIVAL) -> float:
    """Share of normal activity on a day near the Spring Festival (1.0 elsewhere)."""
    offset = (day - spring_festival(day.year)).days
    if offset < -30:  # a late-January day may belong to next year's festival window
        offset = (day - spring_festival(day.year + 1)).days
    if festival.holiday_days[0] <= offset <= festival.holiday_days[1]:
        return festival.holiday
    if festival.restart_days[0] <= offset <= festival.restart_days[1]:
        return festival.restart
    if festival.eve_days[0] <= offset <= festival.eve_days[1]:
        return festival.eve
    return 1.0


def festival_month(year: int) -> int:
    """The month index (``year * 12 + month - 1``) holding the Spring Festival day."""
    day = spring_festival(year)
    return day.year * 12 + day.month - 1


def day_activity(day: date, festival: Festival = _FESTIVAL) -> float:
    """Relative business activity of one day: weekday, golden week and Spring Festival."""
    activity = _WEEKDAY_ACTIVITY[day.weekday()] * festival_activity(day, festival)
    if day.month == 10 and day.day <= 7:
        activity *= 0.2
    return activity


@lru_cache(maxsize=512)
def month_days(month: int) -> tuple[date, ...]:
    year, mon = divmod(month, 12)
    first = date(year, mon + 1, 1)
    nxt = date(year + (mon + 1) // 12, (mon + 1) % 12 + 1, 1)
    return tuple(first + timedelta(days=i) for i in range((nxt - first).days))


@lru_cache(maxsize=2048)
def seasonal_factor(
    month: int, factors: tuple[float, ...] = _MONTH_FACTOR, festival: Festival = _FESTIVAL
) -> float:
    """Revenue multiplier of a month relative to an average month of the year."""
    days = month_days(month)
    share = sum(festival_activity(d, festival) for d in days) / len(days)
    return factors[month % 12] * share


def day_start_ts(day: date) -> int:
    """Unix seconds of local midnight (Asia/Shanghai) starting ``day``."""
    return (day.toordinal() - _EPOCH_ORDINAL) * 86400 - _UTC_OFFSET_S


def ts_day(ts: int) -> int:
    """The local day ordinal a timestamp falls on."""
    return (ts + _UTC_OFFSET_S) // 86400 + _EPOCH_ORDINAL


def local_datetime(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, SHANGHAI)
