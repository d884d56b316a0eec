"""E-invoice spikes and drops: the last working days against the enterprise's own invoicing.

Part of the rules (:data:`detectors.rules.RULES`); thresholds in the ``invoice`` section of
``config/rules.yaml``.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Sequence
from datetime import date

from config.rules import InvoiceRule, RuleConfig
from detectors.findings import Finding
from detectors.rule_findings import inactive, make_finding, name_of, usual_severity
from detectors.seasonality import confidence, history_months, log_variability, seasonal_ratio
from schemas import EnterpriseState


def _daily(after: EnterpriseState) -> tuple[list[int], list[int], date] | None:
    """Daily counts and amounts up to the latest summary (days between summaries are 0).

    The series ends at its own last summary, not at the latest event of any kind: the three
    input topics are consumed independently, so a register or social-security event may be
    applied before invoice summaries of earlier days.
    """
    inv = after.invoices
    if inv.start is None:
        return None
    return inv.count, inv.amount, inv.start


@functools.lru_cache(maxsize=8)
def _holiday_ordinals(ranges: tuple[tuple[str, str], ...]) -> tuple[int, ...]:
    """The holidays' day ordinals, sorted."""
    days: set[int] = set()
    for first, last in ranges:
        days.update(range(date.fromisoformat(first).toordinal(), date.fromisoformat(last).toordinal() + 1))
    return tuple(sorted(days))


def _poisson_tail(observed: int, mean: float, upper: bool) -> float:
    """P(N >= observed) (``upper``) or P(N <= observed) for N ~ Poisson(mean)."""
    if mean <= 0:
        return 1.0
    term = math.exp(-mean)
    below = 0.0  # P(N <= observed - 1) when upper, P(N <= observed) otherwise
    for k in range(observed if upper else observed + 1):
        below += term
        term *= mean / (k + 1)
    return max(0.0, 1.0 - below) if upper else min(1.0, below)


_Windows = tuple[int, int, list[int], int, int, int, int, int, int]
# The last series judged and its windows: the spike and the drop rule judge the same days
# of the same state one after the other. A series is never changed once judged (the next
# event changes a copy), so the very object is the key.
_last_judged: tuple[object, object, _Windows | None] = (None, None, None)


def _windows(after: EnterpriseState, rule: InvoiceRule) -> _Windows | None:
    """The series' first day (ordinal), where the judged days start, the holidays inside
    (positions), and the days, invoices and amounts of the history and of the judged days
    (holidays left out); ``None`` before the first summary."""
    global _last_judged
    series, judged_rule, found = _last_judged
    if series is after.invoices and judged_rule is rule:
        return found
    found = _count_windows(after, rule)
    _last_judged = (after.invoices, rule, found)
    return found


def _count_windows(after: EnterpriseState, rule: InvoiceRule) -> _Windows | None:
    series = _daily(after)
    if series is None:
        return None
    counts, amounts, start = series
    ordered = _holiday_ordinals(tuple(rule.holidays))
    first = start.toordinal()
    split = max(0, len(counts) - rule.window_days)
    # the holidays inside the series (a few days of its ~90): the sums are the plain slices'
    # less those days
    inside = ordered[bisect.bisect_left(ordered, first) : bisect.bisect_left(ordered, first + len(counts))]
    holidays = [o - first for o in inside]
    before_split = bisect.bisect_left(holidays, split)
    history_days, recent_days = split - before_split, len(counts) - split - (len(holidays) - before_split)
    history_counts = sum(counts[:split]) - sum(counts[i] for i in holidays[:before_split])
    history_amounts = sum(amounts[:split]) - sum(amounts[i] for i in holidays[:before_split])
    seen_count = sum(counts[split:]) - sum(counts[i] for i in holidays[before_split:])
    seen_amount = sum(amounts[split:]) - sum(amounts[i] for i in holidays[before_split:])
    return (first, split, holidays, history_days, recent_days, history_counts, history_amounts, seen_count,
            seen_amount)  # fmt: skip


def _invoice(kind: str, before: EnterpriseState | None, after: EnterpriseState, cfg: RuleConfig) -> Finding:
    """Invoices of the last days against the enterprise's own invoicing rate.

    The history (holidays left out) gives the daily invoice rate and the mean amount per
    invoice; the last ``window_days`` are then judged by the Poisson probability of so many
    (spike) or so few (drop) invoices, together with the amount ratio. Lumpy small invoicers
    are judged by their own rate, so a single large invoice does not fire.
    """
    rule = cfg.invoice
    windows = _windows(after, rule)
    if windows is None:
        return inactive(kind, after)
    first, split, holidays, history_days, recent_days, history_counts, history_amounts, seen_count, seen_amount = windows
    counts = after.invoices.count
    if history_days < rule.min_history_days or recent_days < rule.window_days:
        # too little history, or a holiday inside the judged days (the restart after the
        # Spring Festival is slow everywhere): judge a full window of ordinary days only
        return inactive(kind, after)
    rate = history_counts / history_days
    per_invoice = history_amounts / max(1, history_counts)
    expected_count = rate * recent_days
    expected_amount = expected_count * per_invoice
    if expected_count <= 0 or expected_amount <= 0:
        return inactive(kind, after)
    ratio = seen_amount / expected_amount
    spike = kind == "invoice_spike"
    if (spike and ratio < rule.spike_factor) or (not spike and ratio > rule.drop_ratio):
        return inactive(kind, after)
    p = _poisson_tail(seen_count, expected_count, upper=spike)
    if p > rule.max_probability:
        return inactive(kind, after)
    # Only a tentative finding pays for the enterprise's own season (invoices are 94% of the
    # events): last year's VAT of the recent days' months against the history days' months.
    # A spike in the month that was last year's peak, or a drop in last year's low month, is
    # judged against that season.
    off = set(holidays)
    recent = [i for i in range(split, len(counts)) if i not in off]
    history = [i for i in range(split) if i not in off]
    season = _invoice_season(after, first, recent, history)
    if season is not None:
        # the own season can explain a finding away, never strengthen it: one year of monthly
        # returns is too noisy a reference for that
        season = max(1.0, season) if spike else min(1.0, season)
        expected_count, expected_amount = expected_count * season, expected_amount * season
        ratio = seen_amount / expected_amount
        if (spike and ratio < rule.spike_factor) or (not spike and ratio > rule.drop_ratio):
            return inactive(kind, after)  # its own season explains it
        p = _poisson_tail(seen_count, expected_count, upper=spike)
        if p > rule.max_probability:
            return inactive(kind, after)
    revenue = after.monthly.revenue
    sigma = max(cfg.confidence.sigma_floor, log_variability(revenue, len(revenue)) or cfg.confidence.sigma_floor)
    z = math.log(max(ratio, 1e-6)) / sigma
    if abs(z) < cfg.confidence.min_z:
        return inactive(kind, after)  # within what this enterprise's months do anyway
    backed = confidence(
        history_months(revenue, len(revenue)), z, season is not None, cfg.confidence.full_history_months,
        cfg.confidence.full_z,
    )  # fmt: skip
    if backed < cfg.confidence.min_confidence:
        return inactive(kind, after)  # held: too little history to know the enterprise's seasons
    name = name_of(after)
    zh_word, en_word = ("激增", "spike") if kind == "invoice_spike" else ("骤减", "drop")
    n = len(recent)
    return make_finding(
        kind, True, usual_severity(kind),
        (f"开票{zh_word}：{name}", f"{name} 近 {n} 个工作日开票 {seen_count} 张、{seen_amount:,} 元，"
                                   f"常态约 {expected_count:.1f} 张、{expected_amount:,.0f} 元（{ratio:.1f} 倍）。"),
        (f"E-invoice {en_word}: {name}",
         f"{name} issued {seen_count} invoices for {seen_amount:,} CNY over the last {n} working days; its usual rate "
         f"gives {expected_count:.1f} invoices and {expected_amount:,.0f} CNY ({ratio:.1f}×, p = {p:.1e})."),
        {"days": n, "invoices": seen_count, "amount": seen_amount, "expected_invoices": round(expected_count, 2),
         "expected_amount": round(expected_amount), "ratio": round(ratio, 2), "p_value": float(f"{p:.2e}"),
         "own_season_factor": None if season is None else round(season, 3), "confidence": backed},
        decisive=("days", "invoices", "amount", "expected_invoices", "expected_amount", "ratio", "p_value"),
    )  # fmt: skip


def _invoice_season(after: EnterpriseState, first: int, recent: Sequence[int], history: Sequence[int]) -> float | None:
    """Last year's VAT revenue of the recent days' months over that of the history days' months."""
    m = after.monthly
    if m.first is None:
        return None

    def months(positions: Sequence[int]) -> list[int]:
        out = []
        for i in positions:
            day = date.fromordinal(first + i)
            out.append(day.year * 12 + day.month - 1)
        return out

    now, before = months(recent), months(history)
    found = seasonal_ratio(m.revenue, m.first, now, before)
    if found is not None:
        return found
    # Less than a year behind the history days: last year's recent month against this
    # year's history months (those filed), growth left out.
    last_year = [m.revenue[p] for p in {mo - 12 - m.first for mo in now} if 0 <= p < len(m.revenue)]
    this_year = [
        v for mo in before if 0 <= (p := mo - m.first) < len(m.revenue) and (v := m.revenue[p]) is not None
    ]
    if not last_year or None in last_year or len(this_year) < len(before) / 2 or sum(this_year) <= 0:
        return None
    return (sum(v or 0 for v in last_year) / len(last_year)) / (sum(this_year) / len(this_year))


def invoice_spike(before: EnterpriseState | None, after: EnterpriseState, cfg: RuleConfig) -> Finding:
    """Daily e-invoice amounts jumped far above the enterprise's usual level."""
    return _invoice("invoice_spike", before, after, cfg)


def invoice_drop(before: EnterpriseState | None, after: EnterpriseState, cfg: RuleConfig) -> Finding:
    """Daily e-invoice amounts fell far below the enterprise's usual level."""
    return _invoice("invoice_drop", before, after, cfg)
