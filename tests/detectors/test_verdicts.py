"""Operator verdicts move a rule's strictness, within its bound, per rule and per enterprise."""

from __future__ import annotations

import math

from config.rules import load_rules
from detectors.verdicts import VerdictCalibration
from schemas.delivery import Verdict

F, C = Verdict.FALSE_ALARM, Verdict.CONFIRMED


def test_false_alarms_tighten_confirmations_loosen_within_the_bound() -> None:
    cal = VerdictCalibration(step=0.1, relax=0.05, max_factor=1.5)
    factors = []
    for verdict in [F, F, F, C, F] + [F] * 20 + [C] * 40:
        cal.record("invoice_drop", "U1", verdict)
        factors.append(cal.factor("invoice_drop"))
    assert factors[0] > 1.0 and factors[2] > factors[1] > factors[0]
    assert factors[3] < factors[2]  # a confirmation loosens
    assert max(factors) == 1.5 and min(factors) == 1 / 1.5  # bounded both ways, and reached
    assert all(1 / 1.5 - 1e-12 <= f <= 1.5 + 1e-12 for f in factors)


def test_an_enterprise_with_false_alarms_is_judged_stricter_than_its_peers() -> None:
    cal = VerdictCalibration(step=0.2, relax=0.1, max_factor=2.0)
    for _ in range(3):
        cal.record("tax_collapse", "NOISY", F)
    cal.record("tax_collapse", "REAL", C)
    assert (
        cal.factor("tax_collapse", "NOISY") > cal.factor("tax_collapse") > cal.factor("tax_collapse", "REAL")
    )
    assert cal.factor("layoff", "NOISY") == 1.0  # other rules untouched


def test_apply_scales_min_z_and_leaves_the_rest() -> None:
    rules = load_rules()
    cal = VerdictCalibration(step=math.log(1.2), relax=0.05, max_factor=1.5)
    assert cal.apply(rules, "tax_collapse") is rules
    cal.record("tax_collapse", "U", F)
    stricter = cal.apply(rules, "tax_collapse", "U")
    assert math.isclose(stricter.confidence.min_z, rules.confidence.min_z * 1.44)
    assert stricter.tax_collapse == rules.tax_collapse and stricter.version != rules.version
