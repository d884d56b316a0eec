"""From feature percentiles to dimension scores, composite, tier and lists: pure functions.

A dimension is the weighted mean of its features' percentiles (``100 − p`` for a negative
weight, "lower is better"), over the features the enterprise has; a dimension with none of
its features yet is neutral (50). ``contributions["<dimension>.<feature>"]`` is how many of
the dimension's points came from that feature, so they add up to the dimension score.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from config import DIMENSIONS, Condition, Criterion, ScoringConfig, SizeBand

NEUTRAL = 50.0


def round2(value: float) -> float:
    """``round(value, 2)`` for non-negative values, several times cheaper than ``round``."""
    return int(value * 100.0 + 0.5) / 100.0

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le,
    "<": operator.lt, "==": operator.eq, "!=": operator.ne,
}  # fmt: skip


def size_band(features: Mapping[str, float], bands: tuple[SizeBand, ...]) -> tuple[int, str]:
    """Rank and name of the first band whose revenue and headcount limits both hold."""
    revenue = features.get("revenue_annual", 0.0)
    heads = features.get("headcount", 0.0)
    for rank, band in enumerate(bands):
        if (band.max_revenue is None or revenue < band.max_revenue) and (
            band.max_headcount is None or heads < band.max_headcount
        ):
            return rank, band.name
    return len(bands) - 1, bands[-1].name


def peer_keys(industry_code: str | None, band: str) -> tuple[str, ...]:
    """Peer keys from the most to the least specific: section × band, band, everyone."""
    section = (industry_code or "?")[:1]
    return (f"{section}|{band}", f"*|{band}", "*")


WeightTable = tuple[tuple[str, tuple[tuple[str, str, float], ...]], ...]


def weight_table(weights: Mapping[str, Mapping[str, float]]) -> WeightTable:
    """``{dimension: {feature: weight}}`` as tuples with the contribution keys precomputed."""
    return tuple(
        (dim, tuple((f, f"{dim}.{f}", float(w)) for f, w in fw.items() if w != 0)) for dim, fw in weights.items()
    )


def dimension_scores(percentiles: Mapping[str, float], table: WeightTable) -> tuple[dict[str, float], dict[str, float]]:
    """Dimension scores (0–100) and each feature's contribution in points.

    Examples
    --------
    >>> table = weight_table({"scale": {"a": 0.5, "b": -0.5}})
    >>> dims, parts = dimension_scores({"a": 80.0, "b": 40.0}, table)
    >>> dims["scale"], parts["scale.b"]
    (70.0, 30.0)
    """
    dims: dict[str, float] = {}
    parts: dict[str, float] = {}
    for dim, entries in table:
        total = 0.0
        raw = 0.0
        present = []
        for feature, key, weight in entries:
            pct = percentiles.get(feature)
            if pct is None:
                continue
            w = weight if weight > 0 else -weight
            part = w * (pct if weight > 0 else 100.0 - pct)
            present.append((key, part))
            total += w
            raw += part
        if not total:
            dims[dim] = NEUTRAL
            continue
        for key, part in present:
            parts[key] = round2(part / total)
        dims[dim] = round2(min(100.0, max(0.0, raw / total)))
    return dims, parts


def composite_score(dims: Mapping[str, float], weights: Mapping[str, float]) -> float:
    total = sum(weights.values())
    return round2(sum(dims[d] * w for d, w in weights.items()) / total)


Check = tuple[str, Callable[[float, float], bool], float]  # (field, operator, value) of one condition


def _checks(conditions: tuple[Condition, ...]) -> tuple[Check, ...]:
    return tuple((c.field, _OPS[c.op], c.value) for c in conditions)


def _all_hold(checks: tuple[Check, ...], values: Mapping[str, float]) -> bool:
    for name, op, limit in checks:
        value = values.get(name)
        if value is None or not op(value, limit):
            return False
    return True


def _any_holds(checks: tuple[Check, ...], values: Mapping[str, float]) -> bool:
    for name, op, limit in checks:
        value = values.get(name)
        if value is not None and op(value, limit):
            return True
    return False


@dataclass(frozen=True)
class CriteriaTable:
    """A scoring config's tiers and lists as plain tuples of checks, built once: what every
    score reads. A criterion holds when all of its ``all`` and, if given, any of its ``any``
    hold; a condition on a missing value is false.

    >>> from config.scoring import load_scoring_config
    >>> table = CriteriaTable.of(load_scoring_config())
    >>> table.tier({"composite": 80.0, "scale": 90.0}), table.tier({"composite": 25.0}), table.tier({})
    ('leader', 'at_risk', 'base')
    >>> table.lists_of({"high_tech": 1.0, "rd_intensity": 0.05, "credit_score": 3.0})
    ['high_tech_subsidy']
    """

    tiers: tuple[tuple[str, tuple[Check, ...], tuple[Check, ...]], ...]
    lists: tuple[tuple[str, tuple[Check, ...], tuple[Check, ...]], ...]

    @classmethod
    def of(cls, config: ScoringConfig) -> CriteriaTable:
        def table(criteria: tuple[Criterion, ...]) -> tuple[tuple[str, tuple[Check, ...], tuple[Check, ...]], ...]:
            return tuple((c.name, _checks(c.all), _checks(c.any)) for c in criteria)

        return cls(table(tuple(config.tiers)), table(tuple(config.lists)))

    def tier(self, values: Mapping[str, float]) -> str:
        """The first tier whose conditions hold."""
        return next(name for name, every, some in self.tiers
                    if _all_hold(every, values) and (not some or _any_holds(some, values)))  # fmt: skip

    def lists_of(self, values: Mapping[str, float]) -> list[str]:
        """Every list whose conditions hold, in the config's order."""
        return [name for name, every, some in self.lists
                if _all_hold(every, values) and (not some or _any_holds(some, values))]  # fmt: skip


def criteria_values(
    features: Mapping[str, float],
    percentiles: Mapping[str, float],
    dims: Mapping[str, float],
    composite: float,
    exit_risk: float | None,
    size_rank: int,
    pct_names: tuple[str, ...] | None = None,
) -> dict[str, float]:
    """The names tier and list conditions may use: features, ``pct.<feature>`` (only those in
    ``pct_names`` when given), dimensions, ``composite``, ``exit_risk`` and ``size_rank``."""
    values = dict(features)
    names = percentiles if pct_names is None else [n for n in pct_names if n in percentiles]
    values.update({f"pct.{k}": percentiles[k] for k in names})
    values.update(dims)
    values["composite"] = composite
    values["size_rank"] = float(size_rank)
    if exit_risk is not None:
        values["exit_risk"] = exit_risk
    return values


def known_fields(feature_names: set[str]) -> set[str]:
    """Every name a condition may refer to, given the feature names."""
    return (
        set(feature_names)
        | {f"pct.{f}" for f in feature_names}
        | set(DIMENSIONS)
        | {"composite", "exit_risk", "size_rank"}
    )
