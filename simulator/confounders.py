"""Confounders: situations that look unusual in the data but are not anomalies.

A profile may add them (``confounders:`` in its YAML; the default profile has none):

* ``q4_seasonal`` — businesses that make most of their year's sales in October–December
  (gifts, apparel, e-commerce); their January collapses every year, by design;
* ``industry_downturn`` — every enterprise of some industry sections loses revenue together
  over a few months (its peers fall with it);
* ``festival_headcount`` — manufacturers whose migrant workers leave over the Spring
  Festival: insured headcount dips in the festival month and is back the month after;
* ``capital_increase`` — a healthy capital increase, then hiring, then revenue growth.

The plan is drawn from its own random stream (only when the profile asks for confounders),
so a profile without them leaves every other draw, and the output, unchanged. The bench
reads :func:`confounders` to report false alerts by situation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from simulator.anomalies import InjectedAnomaly
from simulator.config import SimulationConfig, month_text
from simulator.population import Enterprise
from simulator.seasons import festival_month, month_days

SITUATIONS: tuple[str, ...] = ("q4_seasonal", "industry_downturn", "festival_headcount", "capital_increase")


@dataclass(frozen=True)
class Confounder:
    """One confounded enterprise: never an anomaly, whatever it looks like."""

    uscc: str
    situation: str  # one of SITUATIONS
    start: date  # first day the situation shows
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"uscc": self.uscc, "situation": self.situation, "start": self.start.isoformat(),
                "anomaly": False, "params": self.params}  # fmt: skip


def _first_day(month: int) -> date:
    return month_days(month)[0]


def plan_confounders(
    population: list[Enterprise], plan: dict[str, InjectedAnomaly], config: SimulationConfig
) -> dict[str, list[Confounder]]:
    """The confounders of a run by USCC (several may hit one enterprise)."""
    spec = config.profile_settings.confounders
    if not spec.any:
        return {}
    rng = random.Random(f"{config.seed}:confounders")
    first, last = config.first_month, config.last_month
    out: dict[str, list[Confounder]] = {}

    def add(ent: Enterprise, situation: str, start: int, params: dict[str, Any]) -> None:
        out.setdefault(ent.uscc, []).append(Confounder(ent.uscc, situation, _first_day(start), params))

    clean = [e for e in population if e.uscc not in plan and e.founded < first and e.deregister_month is None]
    taken: set[str] = set()
    q4 = spec.q4_seasonal
    for ent in sorted(rng.sample(clean, round(q4.share * len(clean))), key=lambda e: e.index):
        ent.season = q4.month_factors
        taken.add(ent.uscc)
        add(ent, "q4_seasonal", first, {})
    down = spec.industry_downturn
    if down.sections:
        start = first + down.start
        for ent in population:
            if ent.industry.code[0] in down.sections and start <= last:
                add(ent, "industry_downturn", start, {"factor": down.factor, "ramp_months": down.ramp_months,
                                                      "start_period": month_text(start)})  # fmt: skip
    fest = spec.festival_headcount
    makers = [e for e in clean if e.industry.code[0] == "C" and e.uscc not in taken]
    years = sorted({m // 12 for m in range(first, last + 1)} | {last // 12 + 1})
    months = [m for m in (festival_month(y) for y in years) if first <= m <= last]
    for ent in sorted(rng.sample(makers, round(fest.share * len(makers))), key=lambda e: e.index):
        if months:
            taken.add(ent.uscc)
            factor = round(rng.uniform(*fest.factor), 4)
            add(
                ent,
                "festival_headcount",
                months[0],
                {"factor": factor, "periods": [month_text(m) for m in months]},
            )
    cap = spec.capital_increase
    rest = [e for e in clean if e.uscc not in taken]
    if last - first >= 4:
        for ent in sorted(rng.sample(rest, round(cap.share * len(rest))), key=lambda e: e.index):
            month = rng.randint(first + 2, last - 2)
            add(ent, "capital_increase", month, {
                "capital_factor": round(rng.uniform(*cap.capital_factor), 4),
                "hiring": round(rng.uniform(*cap.hiring), 4),
                "revenue_growth": round(rng.uniform(*cap.revenue_growth), 4),
                "day": rng.randrange(0, 25),
            })  # fmt: skip
    return out


def revenue_factor(found: list[Confounder], month: int) -> float:
    """What the confounders do to a month's reported revenue (1.0: nothing)."""
    factor = 1.0
    for c in found:
        if c.situation == "industry_downturn":
            start = c.start.year * 12 + c.start.month - 1
            done = min(1.0, max(0.0, (month - start + 1) / c.params["ramp_months"]))
            factor *= 1.0 - (1.0 - c.params["factor"]) * done
    return factor


def headcount_factor(found: list[Confounder], month: int) -> float:
    """Temporary change to a month's insured headcount (the trend is not touched)."""
    for c in found:
        if c.situation == "festival_headcount" and month_text(month) in c.params["periods"]:
            return float(c.params["factor"])
    return 1.0


def confounders(config: SimulationConfig) -> list[Confounder]:
    """The confounders :func:`simulator.simulate` puts in ``config``'s stream, by start then USCC."""
    from simulator.anomalies import plan_anomalies
    from simulator.population import build_population

    population = build_population(config)
    planned = plan_confounders(population, plan_anomalies(population, config), config)
    return sorted(
        (c for found in planned.values() for c in found), key=lambda c: (c.start, c.uscc, c.situation)
    )
