"""The scoring configuration: weights, size bands, tiers, identification lists (``scoring.yaml``).

Conditions are written as short strings, ``"<field> <op> <number>"`` (ops ``>= > <= < == !=``),
so the YAML reads like the policy it encodes. Field names are checked by the scorer, which
knows the features; this module only checks the shape.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DIMENSIONS: tuple[str, ...] = ("scale", "development", "profitability", "financing", "innovation")
DEFAULT_SCORING_PATH = Path(__file__).resolve().parent / "scoring.yaml"
_CONDITION = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*$")

Op = Literal[">=", ">", "<=", "<", "==", "!="]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Condition(_Frozen):
    """``field op value``; parsed from a string such as ``"composite >= 80"``."""

    field: str
    op: Op
    value: float

    @classmethod
    def parse(cls, text: str) -> Condition:
        match = _CONDITION.match(text)
        if match is None:
            raise ValueError(f"condition {text!r} is not '<field> <op> <number>'")
        return cls(field=match.group(1), op=match.group(2), value=float(match.group(3)))  # type: ignore[arg-type]


class Criterion(_Frozen):
    """A tier or an identification list: all of ``all`` and, if given, any of ``any``."""

    name: str = Field(min_length=1, max_length=64)
    label_zh: str = ""
    all: tuple[Condition, ...] = ()
    any: tuple[Condition, ...] = ()

    @field_validator("all", "any", mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return tuple(Condition.parse(v) if isinstance(v, str) else v for v in value)
        return value


class SizeBand(_Frozen):
    name: str
    max_revenue: float | None = None
    max_headcount: float | None = None


class PeerSettings(_Frozen):
    min_peers: int = Field(default=30, ge=1)
    capacity: int = Field(default=4096, ge=16)
    max_enterprises: int = Field(default=200_000, ge=1)


class ForecastSettings(_Frozen):
    learning_rate: float = Field(default=0.001, gt=0)
    l2: float = Field(default=1e-4, ge=0)


class ExitRiskSettings(_Frozen):
    horizon_months: int = Field(default=6, ge=1, le=36)
    learning_rate: float = Field(default=0.001, gt=0)
    max_pending: int = Field(default=500_000, ge=1)


class ScoringConfig(_Frozen):
    """Everything the scorer reads from YAML; ``version`` goes out as ``config_version``."""

    version: str
    peers: PeerSettings = PeerSettings()
    size_bands: tuple[SizeBand, ...]
    dimensions: dict[str, dict[str, float]]
    composite: dict[str, float]
    tiers: tuple[Criterion, ...]
    lists: tuple[Criterion, ...] = ()
    forecast: ForecastSettings = ForecastSettings()
    exit_risk: ExitRiskSettings = ExitRiskSettings()
    digest: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> ScoringConfig:
        if tuple(self.dimensions) != DIMENSIONS:
            raise ValueError(f"dimensions must be exactly {list(DIMENSIONS)} in that order")
        for name, weights in self.dimensions.items():
            if not weights or sum(abs(w) for w in weights.values()) <= 0:
                raise ValueError(f"dimension {name!r} needs at least one non-zero weight")
        if set(self.composite) - set(DIMENSIONS) or sum(self.composite.values()) <= 0:
            raise ValueError("composite weights must name dimensions and sum to more than 0")
        if not self.size_bands or self.size_bands[-1].max_revenue is not None:
            raise ValueError("the last size band must have no limits (it takes everything above)")
        if not self.tiers or self.tiers[-1].all or self.tiers[-1].any:
            raise ValueError("the last tier must have no conditions (the default tier)")
        return self

    def fields(self) -> set[str]:
        """Every field a tier or list condition refers to."""
        return {c.field for crit in (*self.tiers, *self.lists) for c in (*crit.all, *crit.any)}


def load_scoring_config(path: Path | str | None = None) -> ScoringConfig:
    """Read and validate ``scoring.yaml`` (the packaged default when ``path`` is None).

    Raises ``ValueError`` (pydantic's ``ValidationError``) naming the offending key.
    """
    text = Path(path or DEFAULT_SCORING_PATH).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path or DEFAULT_SCORING_PATH}: expected a mapping at the top level")
    data["digest"] = hashlib.sha256(text.encode()).hexdigest()[:12]
    return ScoringConfig.model_validate(data)
