"""The batch oracle: exact peer percentiles, dimensions, tiers and lists from final states.

It applies the same definitions as the online scorer — peer keys, the ``min_peers``
fall-back, mid-rank percentiles, weights and YAML criteria — but over all enterprises at
once, with sorting instead of online structures. Tests and ``bench/scoring.py`` compare
the online scores against it. Exit risk is a learned quantity, so the batch evaluation
takes it as given (from the online state).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from config import ScoringConfig
from detectors.features import enterprise_features
from detectors.scoring.dimensions import (
    CriteriaTable,
    composite_score,
    criteria_values,
    dimension_scores,
    peer_keys,
    size_band,
    weight_table,
)
from detectors.scoring.exit_risk import EXIT_STATUSES
from detectors.scoring.peers import midrank_percentile
from schemas import EnterpriseState


@dataclass(frozen=True)
class BatchScore:
    percentiles: dict[str, float]
    dimensions: dict[str, float]
    composite: float
    tier: str
    lists: list[str]


def batch_percentiles(
    states: Iterable[EnterpriseState], config: ScoringConfig, features: tuple[str, ...]
) -> dict[str, dict[str, float]]:
    """Exact peer percentiles of every active enterprise's ``features``."""
    rows: dict[str, tuple[tuple[str, ...], dict[str, float]]] = {}
    for state in states:
        if state.status in EXIT_STATUSES:
            continue
        values = enterprise_features(state)
        _, band = size_band(values, config.size_bands)
        rows[state.uscc] = (peer_keys(state.industry_code, band), {f: values[f] for f in features if f in values})
    pools: dict[tuple[str, str], list[float]] = defaultdict(list)
    for keys, values in rows.values():
        for key in keys:
            for name, value in values.items():
                pools[key, name].append(value)
    for pool in pools.values():
        pool.sort()
    out: dict[str, dict[str, float]] = {}
    for uscc, (keys, values) in rows.items():
        pcts: dict[str, float] = {}
        for name, value in values.items():
            key = next((k for k in keys if len(pools[k, name]) >= config.peers.min_peers), keys[-1])
            pool = pools[key, name]
            below, upto = bisect_left(pool, value), bisect_right(pool, value)
            pcts[name] = midrank_percentile(below, upto - below - 1, len(pool) - 1)
        out[uscc] = pcts
    return out


def batch_scores(
    states: Iterable[EnterpriseState],
    config: ScoringConfig,
    features: tuple[str, ...],
    exit_risk: Mapping[str, float | None],
) -> dict[str, BatchScore]:
    """Dimensions, composite, tier and lists of every active enterprise, computed in batch."""
    states = list(states)
    pcts_by = batch_percentiles(states, config, features)
    out: dict[str, BatchScore] = {}
    table = weight_table(config.dimensions)
    criteria = CriteriaTable.of(config)
    for state in states:
        pcts = pcts_by.get(state.uscc)
        if pcts is None:
            continue
        values = enterprise_features(state)
        rank, _ = size_band(values, config.size_bands)
        dims, _ = dimension_scores(pcts, table)
        composite = composite_score(dims, config.composite)
        named = criteria_values(values, pcts, dims, composite, exit_risk.get(state.uscc), rank)
        out[state.uscc] = BatchScore(pcts, dims, composite, criteria.tier(named), criteria.lists_of(named))
    return out
