"""Thresholds of the early-warning rules, loaded from ``config/rules.yaml``."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

RULES_YAML = Path(__file__).with_name("rules.yaml")


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LayoffRule(_Rule):
    drop: float = Field(0.35, gt=0, lt=1)
    min_people: int = Field(3, ge=1)
    lookback_months: int = Field(3, ge=1)


class TaxCollapseRule(_Rule):
    ratio: float = Field(0.35, gt=0, lt=1)
    baseline_months: int = Field(6, ge=2)
    min_baseline: float = Field(20000, ge=0)
    seasonal_factors: dict[int, float] = {}


class ZombieRule(_Rule):
    max_revenue: float = Field(0, ge=0)
    months: int = Field(1, ge=1)
    max_headcount: int = Field(2, ge=0)
    quiet_invoice_days: int = Field(30, ge=1)


class ArrearsRule(_Rule):
    min_ratio: float = Field(0.35, gt=0, le=1)


class ChurnRule(_Rule):
    changes: int = Field(3, ge=2)
    months: int = Field(12, ge=1)


class MismatchRule(_Rule):
    headcount_growth: float = Field(0.28, gt=0)
    min_people: int = Field(3, ge=1)
    revenue_ratio: float = Field(0.45, gt=0, lt=1)


class MissingFilingsRule(_Rule):
    months: int = Field(2, ge=1)


class DowngradeRule(_Rule):
    to_grades: list[str] = ["C", "D"]


class InvoiceRule(_Rule):
    window_days: int = Field(10, ge=3)
    min_history_days: int = Field(40, ge=14)
    spike_factor: float = Field(2.5, gt=1)
    drop_ratio: float = Field(0.3, gt=0, lt=1)
    max_probability: float = Field(1e-5, gt=0, lt=1)
    holidays: list[tuple[str, str]] = []


class RuleConfig(_Rule):
    version: str = "rules-1"
    park_districts: list[str] = ["330110"]
    layoff: LayoffRule = LayoffRule()
    tax_collapse: TaxCollapseRule = TaxCollapseRule()
    zombie: ZombieRule = ZombieRule()
    social_security_arrears: ArrearsRule = ArrearsRule()
    legal_rep_churn: ChurnRule = ChurnRule()
    payroll_tax_mismatch: MismatchRule = MismatchRule()
    missing_filings: MissingFilingsRule = MissingFilingsRule()
    tax_credit_downgrade: DowngradeRule = DowngradeRule()
    invoice: InvoiceRule = InvoiceRule()


def load_rules(path: Path = RULES_YAML) -> RuleConfig:
    """Read and validate the rules YAML; a wrong key or value raises with its location."""
    return RuleConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
