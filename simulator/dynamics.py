"""Month-by-month economics of one enterprise, with its injected anomaly applied.

Each month the trend grows at the enterprise's stage rate, the calendar adds seasonality,
and small firms get noisier months than large ones. Anomalies change the trend (persistent
shocks) or the reported figures, starting from their onset month.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from simulator.anomalies import InjectedAnomaly
from simulator.config import month_index
from simulator.confounders import Confounder, headcount_factor, revenue_factor
from simulator.population import Enterprise
from simulator.profile import SimulationProfile, load_profile
from simulator.seasons import seasonal_factor

SOCIAL_SECURITY_RATE = 0.365  # employer + employee share of the base (pension, medical, unemployment, injury)
MIN_BASE = 4_500.0  # about the Zhejiang lower contribution limit
_VAT_EXEMPT_MONTHLY = 100_000  # small-scale taxpayers: monthly sales up to 100k CNY are exempt
_SMALL_SCALE_RATE = 0.01  # reduced small-scale VAT rate (3% statutory, 1% 2023–2027)


@dataclass(slots=True)
class MonthFigures:
    """What one enterprise reports for one month (money in CNY, floats; rounding happens on output)."""

    month: int
    revenue: float
    vat_payable: float
    headcount: int
    contribution_base: float
    due: float
    paid: float
    arrears: float


def _onset_month(anomaly: InjectedAnomaly | None) -> int | None:
    return None if anomaly is None else month_index(anomaly.onset_period)


def _apply_shock(ent: Enterprise, anomaly: InjectedAnomaly, month: int) -> None:
    """Persistent changes to the trend, applied once in the relevant month."""
    onset = month_index(anomaly.onset_period)
    kind, params = anomaly.anomaly_type, anomaly.params
    if kind == "relocation" and month == onset - 1:
        ent.headcount *= params["pre_headcount_factor"]
    if month != onset:
        return
    if kind == "zombie":
        ent.revenue, ent.growth, ent.headcount = (
            ent.revenue * params["revenue_factor"],
            0.0,
            float(params["headcount"]),
        )
        ent.wage_base = MIN_BASE
    elif kind in ("layoff", "payroll_tax_mismatch", "relocation"):
        ent.headcount *= params["headcount_factor"]
        ent.revenue *= params.get("revenue_factor", 1.0)
        if kind == "payroll_tax_mismatch":
            ent.growth = min(ent.growth, 0.0)
    elif kind in ("tax_collapse", "abnormal_operation"):
        ent.revenue *= params["revenue_factor"]
        ent.growth = min(ent.growth, 0.0)


def vat_payable(ent: Enterprise, revenue: float) -> float:
    if not ent.general_taxpayer:
        return 0.0 if revenue <= _VAT_EXEMPT_MONTHLY else revenue * _SMALL_SCALE_RATE
    return revenue * ent.industry.vat_rate * ent.industry.value_added


def cit_payable(ent: Enterprise, quarter_revenue: float) -> float:
    profit = quarter_revenue * ent.margin
    if profit <= 0:
        return 0.0
    if ent.high_tech:
        rate = 0.15
    elif profit * 4 <= 3_000_000 and quarter_revenue * 4 < 50_000_000:
        rate = 0.05  # small low-profit enterprise: 25% of income taxed at 20%
    else:
        rate = 0.25
    return profit * rate


def _capital_increase(ent: Enterprise, found: Sequence[Confounder], month: int) -> None:
    """Hiring over the three months after a capital increase, revenue growth after that."""
    for c in found:
        if c.situation == "capital_increase":
            start = c.start.year * 12 + c.start.month - 1
            if 1 <= month - start <= 3:
                ent.headcount *= c.params["hiring"] ** (1 / 3)
            if 3 <= month - start <= 5:
                ent.revenue *= c.params["revenue_growth"] ** (1 / 3)


def advance(
    ent: Enterprise,
    month: int,
    anomaly: InjectedAnomaly | None,
    rng: random.Random,
    profile: SimulationProfile | None = None,
    found: Sequence[Confounder] = (),
) -> MonthFigures:
    """Move ``ent`` one month forward and return what it reports for ``month``.

    ``profile`` gives the noise and the calendar (default: the default profile); ``found``
    the enterprise's confounders.
    """
    profile = profile or load_profile("default")
    monthly_growth = (1.0 + max(ent.growth, -0.9)) ** (1 / 12)
    if month > ent.founded:
        ent.revenue *= monthly_growth * math.exp(rng.gauss(0, 0.02))
        ent.headcount *= (1.0 + max(ent.growth, -0.9) * 0.6) ** (1 / 12) * math.exp(rng.gauss(0, 0.01))
    if month % 12 == 6:  # the contribution base is adjusted every July
        ent.wage_base = min(24_000.0, ent.wage_base * 1.04)
    if anomaly is not None:
        _apply_shock(ent, anomaly, month)
    if found:
        _capital_increase(ent, found, month)
    zombie = (
        anomaly is not None
        and anomaly.anomaly_type == "zombie"
        and month >= month_index(anomaly.onset_period)
    )
    noise, seasons = profile.dynamics, profile.seasons
    if zombie and ent.revenue <= 0.0:
        revenue = 0.0
    else:
        sigma = noise.noise_floor + noise.noise_small / (1.0 + ent.revenue / noise.noise_scale)
        season = seasonal_factor(month, seasons.month_factors, seasons.festival)
        if ent.season is not None:
            season *= ent.season[month % 12]
        revenue = ent.revenue * season * math.exp(rng.gauss(-sigma * sigma / 2, sigma))
        if found:
            revenue *= revenue_factor(list(found), month)
    headcount = max(1, round(ent.headcount * (headcount_factor(list(found), month) if found else 1.0)))
    base = headcount * ent.wage_base
    due = base * SOCIAL_SECURITY_RATE
    paid = due
    onset = _onset_month(anomaly)
    if (
        anomaly is not None
        and anomaly.anomaly_type == "social_security_arrears"
        and onset is not None
        and month >= onset
    ):
        paid = due * anomaly.params["paid_share"]
        ent.arrears += due - paid
    elif ent.arrears > 0:  # a one-off shortfall is settled the next month
        paid, ent.arrears = due + ent.arrears, 0.0
    elif anomaly is None and rng.random() < 0.003:
        paid = due * 0.8
        ent.arrears = due - paid
    return MonthFigures(
        month=month,
        revenue=revenue,
        vat_payable=vat_payable(ent, revenue),
        headcount=headcount,
        contribution_base=base,
        due=due,
        paid=paid,
        arrears=ent.arrears,
    )
