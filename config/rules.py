"""Thresholds of the early-warning rules, loaded from ``config/rules.yaml``.

The YAML is the one source of every threshold: the models below check shapes and ranges
but hold no default values, so code and file cannot disagree. The rules version stamped on
every alert is derived from the content (:mod:`config.versioning`), never written by hand.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from config.versioning import content_version

RULES_YAML = Path(__file__).with_name("rules.yaml")


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LayoffRule(_Rule):
    drop: float = Field(gt=0, lt=1)
    min_people: int = Field(ge=1)
    lookback_months: int = Field(ge=1)


class ConfidenceRule(_Rule):
    full_history_months: int = Field(ge=1)
    full_z: float = Field(gt=0)
    sigma_floor: float = Field(gt=0)
    min_confidence: float = Field(ge=0, le=1)
    min_z: float = Field(ge=0)
    holiday_depth: float = Field(ge=0, lt=1)


class TaxCollapseRule(_Rule):
    ratio: float = Field(gt=0, lt=1)
    baseline_months: int = Field(ge=2)
    min_baseline: float = Field(ge=0)
    seasonal_factors: dict[int, float]
    seasonal_ratio: float = Field(gt=0, lt=1)


class ZombieRule(_Rule):
    max_revenue: float = Field(ge=0)
    months: int = Field(ge=1)
    max_headcount: int = Field(ge=0)
    quiet_invoice_days: int = Field(ge=1)
    near_zero_share: float = Field(ge=0, lt=1)
    near_zero_months: int = Field(ge=1)
    near_zero_headcount: int = Field(ge=0)
    baseline_months: int = Field(ge=3)


class ArrearsRule(_Rule):
    min_ratio: float = Field(gt=0, le=1)


class ChurnRule(_Rule):
    changes: int = Field(ge=2)
    months: int = Field(ge=1)


class MismatchRule(_Rule):
    headcount_growth: float = Field(gt=0)
    min_people: int = Field(ge=1)
    per_capita_ratio: float = Field(gt=0, lt=1)
    baseline_months: int = Field(ge=3)
    min_z: float = Field(gt=0)


class MissingFilingsRule(_Rule):
    months: int = Field(ge=1)


class DowngradeRule(_Rule):
    to_grades: list[str]


class InvoiceRule(_Rule):
    window_days: int = Field(ge=3)
    min_history_days: int = Field(ge=14)
    spike_factor: float = Field(gt=1)
    drop_ratio: float = Field(gt=0, lt=1)
    max_probability: float = Field(gt=0, lt=1)
    holidays: list[tuple[str, str]]


class VerdictRule(_Rule):
    step: float = Field(gt=0)
    relax: float = Field(ge=0)
    max_factor: float = Field(gt=1)


class RuleConfig(_Rule):
    """Every rule's thresholds; :attr:`version` is derived from them (``rules-<hash>``)."""

    park_districts: list[str]
    confidence: ConfidenceRule
    layoff: LayoffRule
    tax_collapse: TaxCollapseRule
    zombie: ZombieRule
    social_security_arrears: ArrearsRule
    legal_rep_churn: ChurnRule
    payroll_tax_mismatch: MismatchRule
    missing_filings: MissingFilingsRule
    tax_credit_downgrade: DowngradeRule
    invoice: InvoiceRule
    verdicts: VerdictRule
    _version: str = PrivateAttr(default="")

    def model_post_init(self, context: Any, /) -> None:
        self._version = content_version("rules", self.model_dump(mode="json"))

    @property
    def version(self) -> str:
        """``rules-<sha256[:10]>`` of the canonical dump (build variants with ``model_validate``)."""
        return self._version


def load_rules(path: Path = RULES_YAML) -> RuleConfig:
    """Read and validate a rules YAML; a missing or wrong key raises with its location."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return RuleConfig.model_validate(data)


@lru_cache(maxsize=1)
def default_rules() -> RuleConfig:
    """The packaged ``config/rules.yaml``, read once."""
    return load_rules()
