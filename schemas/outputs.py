"""What the worker emits: score updates, alert lifecycle events, dead letters."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AlertState(StrEnum):
    FIRING = "firing"
    UPDATED = "updated"
    RESOLVED = "resolved"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class DimensionScores(BaseModel):
    model_config = ConfigDict(frozen=True)

    scale: float = Field(ge=0, le=100)
    development: float = Field(ge=0, le=100)
    profitability: float = Field(ge=0, le=100)
    financing: float = Field(ge=0, le=100)
    innovation: float = Field(ge=0, le=100)


class ScoreUpdate(BaseModel):
    model_config = ConfigDict(frozen=True)

    uscc: str
    scored_at: datetime
    dimensions: DimensionScores
    composite: float
    tier: str
    model_version: str
    config_version: str
    contributions: dict[str, float] = Field(default_factory=dict)
    percentiles: dict[str, float] = Field(default_factory=dict)
    peer_group: str = ""
    lists: list[str] = Field(default_factory=list)
    exit_risk: float | None = None
    forecast_revenue: float | None = None
    forecast_revenue_period: str | None = None
    forecast_headcount: float | None = None
    forecast_headcount_period: str | None = None


class ListChange(BaseModel):
    """An enterprise entered or left an identification list (e.g. ``kunpeng``)."""

    model_config = ConfigDict(frozen=True)

    uscc: str
    list_name: str
    change: str  # "enter" | "leave"
    changed_at: datetime
    composite: float
    event_id: str = ""
    evidence: dict[str, float] = Field(default_factory=dict)
    config_version: str = ""


class Alert(BaseModel):
    """One version of an alert; ``alert_id`` is stable per (enterprise, type, episode)."""

    model_config = ConfigDict(frozen=True)

    alert_id: str
    uscc: str
    alert_type: str
    state: AlertState
    severity: Severity
    title_zh: str
    title_en: str
    explanation_zh: str
    explanation_en: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    event_ids: list[str] = Field(default_factory=list)
    rule: str
    config_version: str
    occurred_at: datetime
    emitted_at: datetime
    version: int = 1


class DeadLetter(BaseModel):
    """An input message that could not be applied, with where it came from and why."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int
    key: str | None
    original: str  # base64 of the original bytes
    reasons: list[dict[str, str]]
    received_at: datetime
