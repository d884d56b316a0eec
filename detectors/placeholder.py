"""A provisional scorer: fixed log-scale mappings of the latest figures, no peers yet.

It keeps the score path (state → scores → topic → ClickHouse) running end to end until the
peer-relative River scoring replaces it; ``model_version`` says ``placeholder``.
"""

from __future__ import annotations

import math
from datetime import datetime

from schemas import DimensionScores, EnterpriseState, ScoreUpdate

MODEL_VERSION = "placeholder-1"
TIERS = ((80.0, "leader"), (60.0, "high_growth"), (40.0, "growth"), (20.0, "base"), (0.0, "at_risk"))


def _log_score(value: float | None, full_at: float) -> float:
    if not value or value <= 0:
        return 0.0
    return round(min(100.0, 100.0 * math.log10(1 + value) / math.log10(1 + full_at)), 2)


def score(state: EnterpriseState, at: datetime, config_version: str) -> ScoreUpdate:
    scale = _log_score(state.latest_revenue(), 1e8)
    staff = _log_score(state.latest_headcount(), 5000)
    capital = _log_score(state.registered_capital, 1e9)
    dims = DimensionScores(
        scale=scale, development=staff, profitability=scale, financing=capital, innovation=0.0
    )
    composite = round((scale + staff + scale + capital) / 5, 2)
    tier = next(name for bound, name in TIERS if composite >= bound)
    return ScoreUpdate(
        uscc=state.uscc,
        scored_at=at,
        dimensions=dims,
        composite=composite,
        tier=tier,
        model_version=MODEL_VERSION,
        config_version=config_version,
        contributions={"scale": scale, "development": staff, "financing": capital},
    )
