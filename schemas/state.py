"""The per-enterprise state kept in the worker's table (key = USCC).

Kept compact: it is serialized whole to the changelog on every update. Series are bounded
dicts keyed by period (``YYYY-MM``) so an amended filing simply replaces the earlier value.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

MAX_MONTHS = 36


class OpenAlert(BaseModel):
    """An alert episode that is firing: its id, last version and a fingerprint of its evidence."""

    id: str
    version: int = 1
    fingerprint: str = ""


class EnterpriseState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    uscc: str
    name: str | None = None
    district_code: str | None = None
    in_park: bool | None = None
    industry_code: str | None = None
    status: str = "active"
    legal_representative: str | None = None
    registered_capital: float | None = None
    established: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    revenue: dict[str, float] = Field(default_factory=dict)
    headcount: dict[str, int] = Field(default_factory=dict)
    recent_event_ids: list[str] = Field(default_factory=list)
    open_alerts: dict[str, OpenAlert] = Field(default_factory=dict)
    alert_episodes: dict[str, int] = Field(default_factory=dict)
    applied: int = 0
    duplicates: int = 0
    updated_at: datetime | None = None

    def latest_revenue(self) -> float | None:
        return self.revenue[max(self.revenue)] if self.revenue else None

    def latest_headcount(self) -> int | None:
        return self.headcount[max(self.headcount)] if self.headcount else None
