"""Operator verdicts recalibrate how strict a rule is, within a bound.

Operators record ``confirmed`` or ``false_alarm`` on alerts (``alert_actions``). Each verdict
moves a strictness factor for the rule, and one for the (rule, enterprise) pair: a false
alarm raises it by ``step`` (in log terms), a confirmation lowers it by ``relax``; it never
leaves ``[1 / max_factor, max_factor]``, so a run of verdicts can neither silence a rule nor
make it fire on everything. :meth:`VerdictCalibration.apply` scales the level rules'
``confidence.min_z`` (and the payroll-mismatch rule's own ``min_z``) by the factor — the
number of the enterprise's own deviations a change must reach; so tax collapse, payroll
mismatch and the zombie and peer checks that use it respond, the register rules do not.
The enterprise's factor counts on top of the rule's, both bounded. Step, relaxation and
bound are the ``verdicts`` section of ``config/rules.yaml`` (:meth:`from_rules`).

The worker learns the verdicts from the single-partition topic ``enterprise.verdicts``
(:mod:`streams.verdict_feed`), read from its beginning, so every worker — and a restarted
one — applies the same verdicts in the same order.

Examples
--------
>>> from schemas.delivery import Verdict
>>> cal = VerdictCalibration(step=0.2, relax=0.1, max_factor=1.5)
>>> cal.factor("tax_collapse", "U1")
1.0
>>> for _ in range(10):
...     cal.record("tax_collapse", "U1", Verdict.FALSE_ALARM)
>>> round(cal.factor("tax_collapse", "U1"), 3), round(cal.factor("tax_collapse", "U2"), 3)
(2.25, 1.5)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from config.rules import RuleConfig
from schemas.delivery import Verdict


@dataclass
class VerdictCalibration:
    """Bounded strictness factors per rule and per (rule, enterprise), learned from verdicts.

    Parameters
    ----------
    step
        Log-factor added by a false alarm.
    relax
        Log-factor removed by a confirmation.
    max_factor
        Bound of each factor (the rule's, and the enterprise's on top of it).
    """

    step: float = 0.1
    relax: float = 0.05
    max_factor: float = 1.5
    _rule: dict[str, float] = field(default_factory=dict)
    _enterprise: dict[tuple[str, str], float] = field(default_factory=dict)
    _applied: dict[tuple[str, float], RuleConfig] = field(default_factory=dict)

    @classmethod
    def from_rules(cls, cfg: RuleConfig) -> VerdictCalibration:
        """Step, relaxation and bound from the rules' ``verdicts`` section."""
        return cls(step=cfg.verdicts.step, relax=cfg.verdicts.relax, max_factor=cfg.verdicts.max_factor)

    @property
    def learned(self) -> bool:
        """Whether any verdict has been recorded (else every factor is 1.0)."""
        return bool(self._rule)

    def _moved(self, value: float, verdict: Verdict) -> float:
        bound = math.log(self.max_factor)
        delta = self.step if verdict is Verdict.FALSE_ALARM else -self.relax
        return min(bound, max(-bound, value + delta))

    def record(self, rule: str, uscc: str, verdict: Verdict) -> None:
        """Learn one verdict on an alert of ``rule`` about enterprise ``uscc``."""
        self._rule[rule] = self._moved(self._rule.get(rule, 0.0), verdict)
        key = (rule, uscc)
        self._enterprise[key] = self._moved(self._enterprise.get(key, 0.0), verdict)

    def factor(self, rule: str, uscc: str | None = None) -> float:
        """How much stricter than configured the rule should be (1.0: as configured)."""
        log = self._rule.get(rule, 0.0)
        if uscc is not None:
            log += self._enterprise.get((rule, uscc), 0.0)
        return math.exp(log)

    def apply(self, cfg: RuleConfig, rule: str, uscc: str | None = None) -> RuleConfig:
        """``cfg`` with ``confidence.min_z`` scaled by the factor (``cfg`` itself when 1.0)."""
        factor = self.factor(rule, uscc)
        if factor == 1.0:
            return cfg
        key = (cfg.version, round(factor, 9))
        if key not in self._applied:  # a handful of distinct factors: validate each once
            data = cfg.model_dump()
            data["confidence"]["min_z"] = cfg.confidence.min_z * factor
            data["payroll_tax_mismatch"]["min_z"] = cfg.payroll_tax_mismatch.min_z * factor
            self._applied[key] = RuleConfig.model_validate(data)
        return self._applied[key]
