"""Simulation profiles: the distributions, effect sizes and confounders of a population.

A profile is a YAML file in ``simulator/profiles/`` (or any path). ``default.yaml`` holds
the values the simulator was calibrated with (see ``simulator/README.md``); the default
profile gives byte-identical output to the simulator before profiles existed. Another
profile changes how the park looks — other size and growth distributions, noisier months,
milder or stronger anomalies — and may add *confounders*: situations that look unusual but
are not anomalies (Q4-seasonal businesses, an industry-wide downturn, a migrant-worker
Spring Festival dip in insured headcount, healthy capital increases followed by hiring).
Their ground truth (:func:`simulator.confounders.confounders`) marks them as not anomalous.

Examples
--------
>>> profile = load_profile("default")
>>> profile.population.revenue_sigma, profile.confounders.q4_seasonal.share
(1.2, 0.0)
>>> load_profile("contrast").confounders.q4_seasonal.share > 0
True
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

PROFILES_DIR = Path(__file__).with_name("profiles")

Range = tuple[float, float]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StageEconomics(_Part):
    median_revenue: float = Field(gt=0)  # annual, CNY
    growth: float
    growth_spread: float = Field(ge=0)


class PopulationProfile(_Part):
    revenue_sigma: float = Field(gt=0)  # lognormal σ of annual revenue around the stage median
    per_head_sigma: float = Field(ge=0)  # lognormal σ of revenue per employee around the industry's
    stages: dict[str, StageEconomics]

    @field_validator("stages")
    @classmethod
    def _all_stages(cls, value: dict[str, StageEconomics]) -> dict[str, StageEconomics]:
        if set(value) != {"startup", "gazelle", "mature", "declining"}:
            raise ValueError("stages must be exactly startup, gazelle, mature, declining")
        return value


class DynamicsProfile(_Part):
    # monthly revenue noise σ = noise_floor + noise_small / (1 + trend revenue / noise_scale)
    noise_floor: float = Field(ge=0)
    noise_small: float = Field(ge=0)
    noise_scale: float = Field(gt=0)


class Festival(_Part):
    """Share of normal activity around the Spring Festival, by days from the festival day."""

    eve: float = Field(gt=0, le=1)
    eve_days: tuple[int, int]
    holiday: float = Field(gt=0, le=1)
    holiday_days: tuple[int, int]
    restart: float = Field(gt=0, le=1)
    restart_days: tuple[int, int]


class SeasonsProfile(_Part):
    month_factors: tuple[float, ...] = Field(min_length=12, max_length=12)
    festival: Festival


class AnomalyProfile(_Part):
    weights: dict[str, float]
    layoff_headcount: Range
    layoff_revenue: Range
    tax_collapse_revenue: Range
    arrears_paid_share: Range
    mismatch_headcount: Range
    mismatch_revenue: Range
    zombie_headcount: tuple[int, ...] = Field(min_length=1)
    zombie_revenue: Range  # share of the former trend; (0, 0): exactly zero filings
    relocation_headcount: Range
    relocation_pre_headcount: Range
    invoice_spike_amount: Range
    invoice_drop_amount: Range


class Q4Seasonal(_Part):
    share: float = Field(ge=0, le=1)  # of the enterprises without an anomaly
    month_factors: tuple[float, ...] = Field(min_length=12, max_length=12)  # on top of the calendar


class IndustryDownturn(_Part):
    sections: tuple[str, ...]  # GB/T 4754 sections (first letter of the class code)
    factor: float = Field(gt=0, le=1)  # revenue level reached at the end of the ramp
    start: int = Field(ge=0)  # months after the window's first month
    ramp_months: int = Field(ge=1)


class FestivalHeadcount(_Part):
    share: float = Field(ge=0, le=1)  # of manufacturing enterprises without an anomaly
    factor: Range  # insured headcount in the festival month, back the month after


class CapitalIncrease(_Part):
    share: float = Field(ge=0, le=1)  # of the enterprises without an anomaly
    capital_factor: Range  # registered capital multiplied by this
    hiring: Range  # insured headcount multiplied by this over the next months
    revenue_growth: Range  # trend revenue multiplied by this, a few months later


class ConfounderProfile(_Part):
    q4_seasonal: Q4Seasonal
    industry_downturn: IndustryDownturn
    festival_headcount: FestivalHeadcount
    capital_increase: CapitalIncrease

    @property
    def any(self) -> bool:
        return bool(
            self.q4_seasonal.share
            or self.industry_downturn.sections
            or self.festival_headcount.share
            or self.capital_increase.share
        )


class SimulationProfile(_Part):
    """Everything a profile file sets."""

    name: str
    description: str
    population: PopulationProfile
    dynamics: DynamicsProfile
    seasons: SeasonsProfile
    anomalies: AnomalyProfile
    confounders: ConfounderProfile


def profile_path(name_or_path: str) -> Path:
    """A profile's file: a name in ``simulator/profiles/`` or a path to a YAML file."""
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path:
        return Path(name_or_path)
    return PROFILES_DIR / f"{name_or_path}.yaml"


@lru_cache(maxsize=16)
def load_profile(name_or_path: str = "default") -> SimulationProfile:
    """Read and validate a profile (a wrong or missing key raises with its location)."""
    path = profile_path(name_or_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return SimulationProfile.model_validate(data)


def profile_names() -> list[str]:
    """The profiles shipped in ``simulator/profiles/``."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))
