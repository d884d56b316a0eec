"""An enterprise's own seasonality and how much its history backs a judgement: pure functions.

Monthly values are the state's aligned series (``None`` for a month without a filing).
With a year of history the expected level of a month is the same month last year times the
enterprise's year-on-year growth of the months just before (:func:`seasonal_expectation`);
:func:`log_variability` measures how much the enterprise's months move on their own; and
:func:`confidence` says how well history backs a finding: the share of a year of history
(full once the same month last year is known) times how many own deviations the change is.

Examples
--------
>>> q4 = [100, 100, 100, 150, 200, 260, 50, 45, 55, 60, 65, 75, 70, 75, 95, 155, 210, 270]
>>> seasonal_expectation(q4, 18)  # no month 18 yet: what the next January should look like
>>> round(seasonal_expectation(q4 + [52], 18), 1)  # January: last January × recent growth
51.9
>>> history_months(q4 + [52], 18), confidence(3, -6.0, season_known=False), confidence(18, -6.0, True)
(18, 0.25, 1.0)
"""

from __future__ import annotations

import calendar
import math
import statistics
from collections.abc import Sequence
from datetime import date
from functools import lru_cache

YEAR = 12
MAD_TO_SIGMA = 1.4826


def history_months(values: Sequence[int | float | None], position: int) -> int:
    """Filed months before ``position``."""
    return sum(1 for v in values[:position] if v is not None)


def same_month_last_year(values: Sequence[int | float | None], position: int) -> float | None:
    """The value filed twelve months before ``position`` (``None`` if not filed or not positive)."""
    if position < YEAR:
        return None
    value = values[position - YEAR]
    return float(value) if value is not None and value > 0 else None


def yoy_growth(values: Sequence[int | float | None], position: int, months: int = 3) -> float | None:
    """Median year-on-year ratio of the ``months`` months before ``position`` (where both are filed)."""
    ratios = []
    for k in range(1, months + 1):
        now, then = position - k, position - k - YEAR
        if then < 0:
            break
        a, b = values[now], values[then]
        if a is not None and b is not None and a > 0 and b > 0:
            ratios.append(a / b)
    return float(statistics.median(ratios)) if ratios else None


def seasonal_expectation(
    values: Sequence[int | float | None],
    position: int,
    months: int = 3,
    bounds: tuple[float, float] = (0.25, 4.0),
) -> float | None:
    """Same month last year × recent year-on-year growth (clipped to ``bounds``), or ``None``."""
    if position >= len(values):
        return None
    last_year = same_month_last_year(values, position)
    growth = yoy_growth(values, position, months)
    if last_year is None or growth is None:
        return None
    return last_year * min(bounds[1], max(bounds[0], growth))


def log_variability(values: Sequence[int | float | None], position: int, months: int = 12) -> float | None:
    """Robust size (1.4826 × median absolute value) of the month-to-month log changes before ``position``."""
    changes = []
    start = max(1, position - months)
    for i in range(start, position):
        a, b = values[i - 1], values[i]
        if a is not None and b is not None and a > 0 and b > 0:
            changes.append(math.log(b / a))
    if len(changes) < 2:
        return None
    # around zero, not the median: an enterprise whose months alternate high and low is noisy
    return MAD_TO_SIGMA * float(statistics.median(abs(c) for c in changes))


def confidence(
    history: int, z: float, season_known: bool, full_history: int = YEAR, full_z: float = 3.0
) -> float:
    """How well the enterprise's own history backs a change of ``z`` own deviations, 0–1.

    A year of history (or the same month last year known) counts fully, less counts pro rata;
    a change of ``full_z`` deviations or more counts fully.
    """
    share = 1.0 if season_known else min(1.0, history / full_history)
    return round(share * min(1.0, abs(z) / full_z), 3)


def seasonal_ratio(
    values: Sequence[int | float | None], first_month: int, recent: Sequence[int], reference: Sequence[int]
) -> float | None:
    """How the months of ``recent`` days compare with those of ``reference`` days, last year.

    ``recent`` and ``reference`` are the month indexes (``year * 12 + month - 1``) of each
    day; the series starts at ``first_month``. ``None`` unless every month a year before is
    filed and positive.

    >>> seasonal_ratio([10, 10, 10, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0, [15] * 5, [12, 13, 14] * 5)
    3.0
    """

    def last_year(months: Sequence[int]) -> float | None:
        total = 0.0
        for month in months:
            position = month - YEAR - first_month
            value = values[position] if 0 <= position < len(values) else None
            if value is None or value <= 0:
                return None
            total += value
        return total / len(months) if months else None

    now, then = last_year(recent), last_year(reference)
    return None if now is None or then is None else now / then


@lru_cache(maxsize=4096)
def calendar_factor(month: int, holidays: tuple[tuple[str, str], ...], depth: float) -> float:
    """Activity of a month (``year * 12 + month - 1``) against a normal one, from the park's
    holiday calendar: ``1 - depth × share of the month's days that are holidays``.

    The Spring Festival moves between January and February, so "the same month last year"
    compares months with different holidays; dividing by this factor first takes that out.

    >>> festival = (("2026-02-10", "2026-03-05"),)
    >>> calendar_factor(2026 * 12 + 1, festival, 0.6), calendar_factor(2026 * 12 + 3, festival, 0.6)
    (0.5928571428571429, 1.0)
    """
    year, mon = divmod(month, 12)
    days = calendar.monthrange(year, mon + 1)[1]
    first, last = date(year, mon + 1, 1).toordinal(), date(year, mon + 1, days).toordinal()
    off = 0
    for start, end in holidays:
        lo, hi = (
            max(first, date.fromisoformat(start).toordinal()),
            min(last, date.fromisoformat(end).toordinal()),
        )
        off += max(0, hi - lo + 1)
    return 1.0 - depth * min(1.0, off / days)


def deseasonalised(
    values: Sequence[int | float | None],
    first_month: int,
    holidays: tuple[tuple[str, str], ...],
    depth: float,
) -> list[float | None]:
    """``values`` divided by each month's :func:`calendar_factor`."""
    return [
        None if v is None else v / calendar_factor(first_month + i, holidays, depth)
        for i, v in enumerate(values)
    ]
