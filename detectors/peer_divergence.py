"""An enterprise moving against its peer group: revenue falling while its industry grows.

Per peer group (industry section) a River exponentially weighted mean and variance of each
change feature follow what the group is doing now; an enterprise whose revenue growth is
several deviations below its group's, while the group itself grows, diverges. Score first,
then learn (the enterprise is judged against the group before its own value joins it).

It is a River anomaly detector: ``x`` holds one feature whose name is the peer group and
whose value is the enterprise's growth (``{"C": -0.6}``), so River's own estimator checks
and the project's detector contract run over it unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from river import base, stats

from detectors.findings import Finding
from schemas import EnterpriseState
from schemas.alert_catalogue import CATALOGUE, AlertType

FEATURE = "revenue_3m_growth"


@dataclass
class _Group:
    mean: stats.EWMean = field(default_factory=lambda: stats.EWMean(fading_factor=0.02))
    var: stats.EWVar = field(default_factory=lambda: stats.EWVar(fading_factor=0.02))
    seen: int = 0


class PeerDivergence(base.AnomalyDetector):
    """How far an enterprise's growth lies below its peer group's (higher = more anomalous).

    Parameters
    ----------
    z
        Deviations below the group for a finding.
    max_growth
        A finding needs the enterprise's own growth at most this.
    min_group_growth
        ... and the group's mean growth at least this.
    min_seen
        Values a group needs before it scores (0.0 until then).

    Examples
    --------
    >>> import random
    >>> rng = random.Random(3)
    >>> model = PeerDivergence(min_seen=50)
    >>> for _ in range(200):
    ...     model.learn_one({"C": rng.gauss(0.1, 0.05)})
    >>> round(model.score_one({"C": -0.6}), 1) > 4.0, model.score_one({"C": 0.3})
    (True, 0.0)
    >>> model.score_one({"I": -0.6})  # a group never seen
    0.0
    """

    def __init__(
        self, z: float = 4.0, max_growth: float = -0.5, min_group_growth: float = 0.0, min_seen: int = 200
    ) -> None:
        self.z = z
        self.max_growth = max_growth
        self.min_group_growth = min_group_growth
        self.min_seen = min_seen
        self._groups: dict[str, _Group] = {}

    @classmethod
    def _unit_test_params(cls) -> Any:
        yield {"min_seen": 20}

    def score_one(self, x: dict[base.typing.FeatureName, Any]) -> float:
        """Deviations of the growth in ``x = {group: growth}`` below the group (0 if not below)."""
        if not x:
            return 0.0
        group_key, growth = next(iter(x.items()))
        group = self._groups.get(str(group_key))
        if group is None or group.seen < self.min_seen:
            return 0.0
        spread = math.sqrt(max(group.var.get(), 1e-9))
        return max(0.0, (group.mean.get() - float(growth)) / spread)

    def learn_one(self, x: dict[base.typing.FeatureName, Any]) -> None:
        """Add the growth in ``x = {group: growth}`` to its group (an empty ``x`` is skipped)."""
        if not x:
            return
        group_key, growth = next(iter(x.items()))
        group = self._groups.setdefault(str(group_key), _Group())
        group.mean.update(float(growth))
        group.var.update(float(growth))
        group.seen += 1

    def observe(self, state: EnterpriseState, features: dict[str, float]) -> Finding | None:
        """Judge ``state`` against its group, then learn its growth; a finding if it diverges."""
        growth = features.get(FEATURE)
        if growth is None:
            return None
        key = (state.industry_code or "?")[:1]
        z = self.score_one({key: growth})
        group = self._groups.get(key)
        mean = group.mean.get() if group is not None else 0.0
        finding = None
        if z >= self.z and growth <= self.max_growth and mean >= self.min_group_growth:
            finding = self._finding(state, key, growth, mean, -z)
        self.learn_one({key: growth})
        return finding

    def _finding(self, state: EnterpriseState, key: str, growth: float, mean: float, z: float) -> Finding:
        name = state.name or state.uscc
        return Finding(
            alert_type=AlertType.PEER_DIVERGENCE.value, active=True, rule="peer_divergence",
            severity=CATALOGUE[AlertType.PEER_DIVERGENCE].severity,
            title_zh=f"逆行业走势：{name}", title_en=f"Against its peers: {name}",
            explanation_zh=f"{name} 近三个月销售额变化 {growth:+.0%}，而同行业（{key} 门类）平均 {mean:+.0%}（{z:.1f} 个标准差）。",
            explanation_en=f"{name}'s 3-month revenue changed {growth:+.0%} while its industry (section {key}) "
                           f"averaged {mean:+.0%} ({z:.1f} standard deviations).",
            evidence={"feature": FEATURE, "growth": round(growth, 3), "peer_mean": round(mean, 3), "z": round(z, 2),
                      "peer_group": key},
            decisive=("peer_group",),
        )  # fmt: skip
