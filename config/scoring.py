"""The scoring configuration: weights, size bands, tiers, identification lists (``scoring.yaml``).

Conditions are written as short strings, ``"<field> <op> <number>"`` (ops ``>= > <= < == !=``),
so the YAML reads like the policy it encodes. Field names are checked by the scorer, which
knows the features; this module only checks the shape.

The YAML is the one source of every value (the models hold no defaults); the version each
score carries is derived from the content, ``scoring-<sha256[:10]>`` (:mod:`config.versioning`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from config.versioning import content_version

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
    min_peers: int = Field(ge=1)
    capacity: int = Field(ge=16)
    max_enterprises: int = Field(ge=1)
    close_days: int = Field(ge=1)


class ForecastSettings(_Frozen):
    learning_rate: float = Field(gt=0)
    l2: float = Field(ge=0)


class ExitRiskSettings(_Frozen):
    horizon_months: int = Field(ge=1, le=36)
    learning_rate: float = Field(gt=0)
    max_pending: int = Field(ge=1)


class ScoringConfig(_Frozen):
    """Everything the scorer reads from YAML; :attr:`version` goes out as ``config_version``."""

    peers: PeerSettings
    size_bands: tuple[SizeBand, ...]
    dimensions: dict[str, dict[str, float]]
    composite: dict[str, float]
    tiers: tuple[Criterion, ...]
    lists: tuple[Criterion, ...]
    forecast: ForecastSettings
    exit_risk: ExitRiskSettings
    _version: str = PrivateAttr(default="")

    def model_post_init(self, context: Any, /) -> None:
        self._version = content_version("scoring", self.model_dump(mode="json"))

    @property
    def version(self) -> str:
        """``scoring-<sha256[:10]>`` of the canonical dump (build variants with ``model_validate``)."""
        return self._version

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
    return ScoringConfig.model_validate(data)
