"""What the whole industry did in a month: the level a tax collapse is judged against.

A Spring Festival deeper than the park's calendar, or a downturn of a whole industry, moves
every enterprise of the industry at once; judged only against its own history, each of them
looks like a collapse. So each VAT return teaches, per industry section and period, how the
enterprise's revenue compares with its own level before (``revenue / median of its previous
filed months``), and the median of those ratios over the industry's enterprises is the
industry's level for that month. The tax-collapse rule then expects ``own level × industry
level`` instead of fixed calendar factors (:func:`detectors.rules.tax_collapse`).

While the industry is still filing for a period — fewer than ``min_peers`` returns and fewer
than half as many as the month before — its level is *pending* and a collapse is held, not
sent; the enterprise's next event judges it again. A small industry (fewer than
``min_peers`` returns a month) has no level: the calendar factors stay.

The levels are a function of which returns have been applied, not of their order (an exact
median over a sorted list), so the worker rebuilds them from the states it owns whenever an
assignment's tables are recovered (:meth:`IndustryPeriods.rebuild`): after a crash or a
rebalance they are what an uninterrupted run would have at that point, whatever the models
checkpoint missed. Each worker learns from the enterprises of its own partitions, in
event-time order, so a backlog learns what live traffic does.

Examples
--------
>>> import random
>>> rng, ctx = random.Random(1), IndustryPeriods(min_peers=20)
>>> for _ in range(30):  # a month in which the whole of section F fell to about 60%
...     ctx.learn("F", "2026-02", 0.6 * rng.uniform(0.9, 1.1))
>>> level = ctx.level("F", "2026-02")
>>> level.pending, round(level.factor, 1), level.peers
(False, 0.6, 30)
>>> ctx.level("F", "2026-03").pending  # the next month: pending until half of them have filed
True
>>> ctx.level("C", "2026-02") is None  # an industry never seen: no level
True
"""

from __future__ import annotations

import bisect
import math
import statistics
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import orjson

from schemas import EnterpriseState
from schemas.events import Event, TaxFiling
from schemas.state import month_index, month_text

MIN_BASELINE = 20_000.0  # CNY a month: smaller enterprises are too noisy to teach a level


@dataclass(frozen=True)
class IndustryLevel:
    """An industry's level in one period (``factor``; ``None`` while ``pending``)."""

    section: str
    period: str
    factor: float | None
    peers: int
    pending: bool


@dataclass
class _Month:
    logs: array[float] = field(default_factory=lambda: array("d"))  # sorted log ratios, 8 bytes each

    @property
    def count(self) -> int:
        return len(self.logs)

    def median(self) -> float:
        n = len(self.logs)
        return self.logs[n // 2] if n % 2 else (self.logs[n // 2 - 1] + self.logs[n // 2]) / 2


def ratio_at(revenue: list[int | None], position: int, baseline_months: int = 6) -> float | None:
    """Revenue at ``position`` ÷ the median of up to ``baseline_months`` filed months before it.

    >>> ratio_at([100_000, None, 100_000, 100_000, 50_000], 4), ratio_at([100_000, 50_000], 1)
    (0.5, None)
    """
    value = revenue[position]
    before = [v for v in revenue[:position] if v is not None][-baseline_months:]
    if value is None or len(before) < 3:
        return None
    baseline = statistics.median(before)
    return None if baseline < MIN_BASELINE else value / baseline


def own_ratio(state: EnterpriseState) -> tuple[str, float] | None:
    """(period, :func:`ratio_at`) of the enterprise's last filed VAT month.

    >>> from schemas.state import MonthlySeries
    >>> s = EnterpriseState(uscc="U", monthly=MonthlySeries(start="2026-01", revenue=[100_000] * 4 + [50_000]))
    >>> own_ratio(s)
    ('2026-05', 0.5)
    """
    values = state.monthly.revenue
    last = next((i for i in range(len(values) - 1, -1, -1) if values[i] is not None), None)
    ratio = None if last is None else ratio_at(values, last)
    return None if last is None or ratio is None else (state.monthly.period_of(last), ratio)


class IndustryPeriods:
    """Per (industry section, period): the median ratio of revenue to own level, and how many filed."""

    def __init__(self, min_peers: int = 20, keep_periods: int = 4) -> None:
        self.min_peers = min_peers
        self.keep_periods = keep_periods
        self._months: dict[str, dict[int, _Month]] = {}

    def learn(self, section: str, period: str, ratio: float) -> None:
        """Add one enterprise's ratio (a median: robust to the collapses it must not hide)."""
        months = self._months.setdefault(section, {})
        index = month_index(period)
        if months and index <= max(months) - self.keep_periods:
            return  # older than the months kept
        bisect.insort(months.setdefault(index, _Month()).logs, math.log(max(ratio, 1e-6)))
        for old in [i for i in months if i <= index - self.keep_periods]:
            del months[old]

    def rebuild(self, states: Iterable[tuple[str | None, str | None, list[int | None]]]) -> None:
        """Forget everything and learn again from ``(industry code, monthly start, revenue)`` of
        each enterprise: its last ``keep_periods`` filed months, each against the months before it."""
        self._months = {}
        for industry_code, start, revenue in states:
            section = (industry_code or "")[:1]
            if not section or start is None:
                continue
            first = month_index(start)
            filed = [i for i, v in enumerate(revenue) if v is not None][-self.keep_periods :]
            for position in filed:
                ratio = ratio_at(revenue, position)
                if ratio is not None:
                    self.learn(section, month_text(first + position), ratio)

    def level(self, section: str, period: str) -> IndustryLevel | None:
        """The industry's level for ``period``: known, pending, or ``None`` (too small to say)."""
        months = self._months.get(section)
        if not months:
            return None
        index = month_index(period)
        month, before = months.get(index), months.get(index - 1)
        count = month.count if month is not None else 0
        usual = before.count if before is not None else 0
        if month is not None and (count >= self.min_peers or (usual >= self.min_peers and count >= usual // 2)):
            return IndustryLevel(section, period, math.exp(month.median()), count, pending=False)
        if usual >= self.min_peers:
            return IndustryLevel(section, month_text(index), None, count, pending=True)
        return None

    def observe(self, state: EnterpriseState, event: Event) -> IndustryLevel | None:
        """Learn from a VAT return; the level of the enterprise's last filed month either way."""
        section = (state.industry_code or "")[:1]
        if not section:
            return None
        if isinstance(event, TaxFiling) and event.tax_type == "vat":
            found = own_ratio(state)
            if found is not None and found[0] == event.period:
                self.learn(section, found[0], found[1])
        values = state.monthly.revenue
        last = next((i for i in range(len(values) - 1, -1, -1) if values[i] is not None), None)
        return None if last is None else self.level(section, state.monthly.period_of(last))


def stored_series(
    stored: Iterable[bytes], partitions: set[int]
) -> Iterator[tuple[str | None, str | None, list[int | None]]]:
    """``(industry code, monthly start, revenue)`` of each stored state (JSON) of an enterprise
    read from one of ``partitions`` (its ``positions``: ``"topic:partition" → offset``).

    >>> import orjson
    >>> mine = orjson.dumps({"industry_code": "F5176", "positions": {"tax:1": 7},
    ...                      "monthly": {"start": "2026-01", "revenue": [1, None]}})
    >>> other = orjson.dumps({"industry_code": "C", "positions": {"tax:2": 3}, "monthly": {}})
    >>> list(stored_series([mine, other], {1}))
    [('F5176', '2026-01', [1, None])]
    """
    for value in stored:
        data = orjson.loads(value)
        if not any(int(where.rsplit(":", 1)[1]) in partitions for where in data.get("positions") or {}):
            continue
        monthly = data.get("monthly") or {}
        yield data.get("industry_code"), monthly.get("start"), monthly.get("revenue") or []
