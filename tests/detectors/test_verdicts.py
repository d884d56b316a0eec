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


def _fired(verdicts: VerdictCalibration | None, amplitude: float) -> list[str]:
    """Alert types fired for a noisy enterprise whose revenue then falls to a quarter."""
    from factories import encode

    from schemas import AlertState
    from streams.pipeline import RawMessage, process_message
    from tests.detectors.test_scale_free_rules import NOW, RULES, U, park

    revenue = [400_000 * (amplitude if i % 2 else 1 / amplitude) for i in range(14)] + [100_000] * 2
    state, out = None, []
    for i, event in enumerate(park(revenue, [20] * 16)):
        result = process_message(RawMessage("t", 0, i, U.encode(), encode(event)), state, NOW, rules=RULES,
                                 verdicts=verdicts)  # fmt: skip
        state = result.state
        out += [a.alert_type for a in result.alerts if a.state == AlertState.FIRING]
    return out


def test_the_pipeline_judges_as_strictly_as_the_verdicts_say() -> None:
    from tests.detectors.test_scale_free_rules import RULES, U

    assert "tax_collapse" in _fired(None, 1.1)
    strict = VerdictCalibration.from_rules(RULES)
    for _ in range(10):
        strict.record("tax_collapse", U, F)
    assert "tax_collapse" not in _fired(strict, 1.1)  # false alarms on it: the same fall is not enough
    other = VerdictCalibration.from_rules(RULES)
    for _ in range(10):
        other.record("tax_collapse", "SOMEONE-ELSE", F)
    # the rule is stricter for everyone (1.5), but this enterprise's own record is clean: it still fires
    assert other.factor("tax_collapse", U) == 1.5 and "tax_collapse" in _fired(other, 1.1)
    assert "tax_collapse" not in _fired(None, 1.3)
    loose = VerdictCalibration.from_rules(RULES)
    for _ in range(40):
        loose.record("tax_collapse", U, C)
    assert "tax_collapse" in _fired(loose, 1.3)  # confirmed: a noisier enterprise's fall counts
