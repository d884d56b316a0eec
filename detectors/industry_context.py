"""What the whole industry did in a month: the level a tax collapse is judged against.

A Spring Festival deeper than the park's calendar, or a downturn of a whole industry, moves
every enterprise of the industry at once; judged only against its own history, each of them
looks like a collapse. So each VAT return teaches, per industry section and period, how the
enterprise's revenue compares with its own level before (``revenue / median of its previous
filed months``), and the median of those ratios over the industry's enterprises is the
industry's level for that month (River's streaming quantile). The tax-collapse rule then
expects ``own level × industry level`` instead of fixed calendar factors
(:func:`detectors.rules.tax_collapse`).

While the industry is still filing for a period — fewer than ``min_peers`` returns and fewer
than half as many as the month before — its level is *pending* and a collapse is held, not
sent; the enterprise's next event judges it again. A small industry (fewer than
``min_peers`` returns a month) has no level: the calendar factors stay.

Like the peer statistics, the levels are learned in arrival order by the worker that owns
the enterprise's partition (event-time order, so a backlog learns what live traffic does).

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

import math
import statistics
from dataclasses import dataclass, field

from river import stats

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
    median: stats.Quantile = field(default_factory=lambda: stats.Quantile(0.5))
    count: int = 0


def own_ratio(state: EnterpriseState, baseline_months: int = 6) -> tuple[str, float] | None:
    """(period, revenue ÷ median of the previous filed months) of the last filed VAT month.

    >>> from schemas.state import MonthlySeries
    >>> s = EnterpriseState(uscc="U", monthly=MonthlySeries(start="2026-01", revenue=[100_000] * 4 + [50_000]))
    >>> own_ratio(s)
    ('2026-05', 0.5)
    """
    values = state.monthly.revenue
    filed = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(filed) < 4:
        return None
    position, revenue = filed[-1]
    baseline = statistics.median(v for _, v in filed[:-1][-baseline_months:])
    if baseline < MIN_BASELINE:
        return None
    return state.monthly.period_of(position), revenue / baseline


class IndustryPeriods:
    """Per (industry section, period): the median ratio of revenue to own level, and how many filed."""

    def __init__(self, min_peers: int = 20, keep_periods: int = 4) -> None:
        self.min_peers = min_peers
        self.keep_periods = keep_periods
        self._months: dict[str, dict[int, _Month]] = {}

    def learn(self, section: str, period: str, ratio: float) -> None:
        """Add one enterprise's ratio (log-median: robust to the collapses it must not hide)."""
        months = self._months.setdefault(section, {})
        index = month_index(period)
        month = months.setdefault(index, _Month())
        month.median.update(math.log(max(ratio, 1e-6)))
        month.count += 1
        for old in [i for i in months if i <= index - self.keep_periods]:
            del months[old]

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
            return IndustryLevel(section, period, math.exp(month.median.get() or 0.0), count, pending=False)
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
