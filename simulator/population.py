"""The enterprise population: identities and the economics each enterprise starts with.

Everything here is drawn from one ``random.Random`` in enterprise order, so the population
(and with it the ground truth) is known before a single event is produced.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from itertools import accumulate

from schemas.codes import uscc_check_digit
from simulator.config import SimulationConfig
from simulator.names import (
    INDUSTRIES,
    OUTSIDE_PARK_WEIGHTS,
    PARK_DISTRICT,
    Industry,
    address,
    company_name,
    person_name,
)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, Z, S, V
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation-code check weights
_CAPITAL_STEPS = (1e5, 5e5, 1e6, 2e6, 3e6, 5e6, 1e7, 2e7, 3e7, 5e7, 1e8, 2e8, 5e8, 1e9, 5e9)
_INDUSTRY_CUMULATIVE = tuple(accumulate(i.weight for i in INDUSTRIES))

STAGES = ("startup", "gazelle", "mature", "declining")
# stage economics (median annual revenue, growth) and the spreads come from the profile
SMALL_SCALE_LIMIT = 5_000_000  # annual sales above which VAT general-taxpayer status is required


@dataclass(slots=True)
class Enterprise:
    """One simulated enterprise: fixed identity plus the mutable state the engine advances."""

    index: int
    uscc: str
    name: str
    district: str
    in_park: bool
    address: str
    legal_rep: str
    capital: int  # registered capital, CNY
    industry: Industry
    founded: int  # month index
    stage: str
    growth: float  # annual trend growth
    revenue: float  # monthly trend revenue, CNY, at founding or window start
    headcount: float
    wage_base: float  # mean monthly contribution base per employee
    margin: float
    rd_share: float
    high_tech: bool
    general_taxpayer: bool
    credit_grade: str
    invoice_amount: float
    invoiced_share: float
    deregister_month: int | None = None
    season: tuple[float, ...] | None = None  # own month factors (Q4-seasonal businesses)
    # engine state
    status: str = "active"
    arrears: float = 0.0
    quarter_revenue: float = 0.0
    quarter_months: int = 0

    @property
    def expected_daily_invoices(self) -> float:
        return self.revenue * self.invoiced_share / self.invoice_amount / 21.0


def organisation_code(rng: random.Random, old_style: bool) -> str:
    """Nine characters: an old GB 11714 code (8 digits + check) or a post-2015 ``MA…`` code."""
    if old_style:
        body = "".join(rng.choice("0123456789") for _ in range(8))
        check = 11 - sum(int(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
        return body + ("X" if check == 10 else "0" if check == 11 else str(check))
    return "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(7))


def make_uscc(district: str, org_code: str) -> str:
    first17 = "91" + district + org_code
    return first17 + uscc_check_digit(first17)


def _nice_capital(value: float) -> int:
    steps = [s for s in _CAPITAL_STEPS if s <= value]
    return int(steps[-1] if steps else _CAPITAL_STEPS[0])


def _stage(rng: random.Random, age_years: float) -> str:
    if age_years < 3:
        return "startup" if rng.random() < 0.7 else "gazelle"
    if age_years < 10:
        return rng.choices(STAGES[1:], weights=(0.15, 0.65, 0.20))[0]
    return "mature" if rng.random() < 0.7 else "declining"


def _credit_grade(rng: random.Random, age_years: float) -> str:
    if age_years < 1:
        return "M"  # newly established taxpayers are graded M
    return rng.choices("ABMCD", weights=(25, 58, 12, 4, 1))[0]


def _enterprise(rng: random.Random, index: int, config: SimulationConfig, used: set[str]) -> Enterprise:
    first = config.first_month
    founded_in_window = config.months > 1 and rng.random() < min(0.3, 0.005 * config.months)
    if founded_in_window:
        founded = first + rng.randrange(1, config.months)
        age = 0.0
    else:
        age = min(30.0, rng.expovariate(1 / 5.5) + 0.1)
        founded = first - 1 - int(age * 12)
    industry = rng.choices(INDUSTRIES, cum_weights=_INDUSTRY_CUMULATIVE)[0]
    stage = "startup" if founded_in_window else _stage(rng, age)
    profile = config.profile_settings.population
    economics = profile.stages[stage]
    median, mean_growth, spread = economics.median_revenue, economics.growth, economics.growth_spread
    annual = min(2e10, rng.lognormvariate(math.log(median), profile.revenue_sigma))
    if founded_in_window:
        annual *= 0.3
    per_head = industry.revenue_per_employee * rng.lognormvariate(0, profile.per_head_sigma)
    heads = annual / per_head
    if stage == "startup":  # R&D start-ups staff up before they sell
        heads = max(heads, rng.lognormvariate(math.log(8), 0.6))
    heads = max(1.0, min(heads, 50_000.0))
    in_park = rng.random() < 0.9
    district = (
        PARK_DISTRICT
        if in_park
        else rng.choices(list(OUTSIDE_PARK_WEIGHTS), weights=list(OUTSIDE_PARK_WEIGHTS.values()))[0]
    )
    uscc = make_uscc(district, organisation_code(rng, old_style=age > 11))
    while uscc in used:
        uscc = make_uscc(district, organisation_code(rng, old_style=False))
    used.add(uscc)
    high_tech = rng.random() < industry.high_tech_share * (1.0 if annual > 2e6 and age >= 1 else 0.3)
    large = annual > 3e8
    return Enterprise(
        index=index,
        uscc=uscc,
        name=company_name(rng, industry, large),
        district=district,
        in_park=in_park,
        address=address(rng, district),
        legal_rep=person_name(rng),
        capital=_nice_capital(max(annual * 0.3, 1e5) * rng.lognormvariate(0, 0.8)),
        industry=industry,
        founded=founded,
        stage=stage,
        growth=rng.gauss(mean_growth, spread),
        revenue=annual / 12,
        headcount=heads,
        wage_base=min(24_000.0, max(4_500.0, industry.wage_base * rng.lognormvariate(0, 0.2))),
        margin=rng.gauss(-0.15 if stage == "startup" else industry.margin, 0.05),
        rd_share=rng.uniform(0.05, 0.15) if high_tech else rng.uniform(0.0, 0.03),
        high_tech=high_tech,
        general_taxpayer=annual > SMALL_SCALE_LIMIT or rng.random() < 0.3,
        credit_grade=_credit_grade(rng, age),
        invoice_amount=industry.invoice_amount * rng.lognormvariate(0, 0.5),
        invoiced_share=rng.uniform(0.85, 1.0),
    )


def build_population(config: SimulationConfig) -> list[Enterprise]:
    """All enterprises of a run, with planned deregistrations (anomalies are planned separately)."""
    rng = random.Random(config.seed)
    used: set[str] = set()
    population = [_enterprise(rng, i, config, used) for i in range(config.enterprises)]
    for ent in population:
        # ~0.25% of enterprises a month deregister, more often start-ups and decliners
        risk = 0.0025 * (3 if ent.stage in ("startup", "declining") else 1)
        if ent.founded < config.first_month and config.months > 2 and rng.random() < risk * config.months:
            ent.deregister_month = config.first_month + rng.randrange(2, config.months)
    return population
