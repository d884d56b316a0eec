"""A month the whole industry fell is not one enterprise's tax collapse; a real collapse still is."""

from __future__ import annotations

from config.rules import load_rules
from detectors.industry_context import IndustryLevel, IndustryPeriods, own_ratio, ratio_at
from detectors.rules import evaluate, tax_collapse
from schemas import EnterpriseState
from schemas.state import MonthlySeries, OpenAlert

RULES = load_rules()


def enterprise(last: int) -> EnterpriseState:
    """Thirteen steady months of 100,000 CNY (a little noise) from March 2025, then ``last`` (April 2026)."""
    history = [100_000 + (3_000 if i % 2 else -3_000) for i in range(13)]
    zeros = [0] * 14
    monthly = MonthlySeries(start="2025-03", revenue=[*history, last], headcount=[20] * 14, vat_payable=zeros,
                            cit_payable=zeros, rd_expense=zeros, contribution_base=zeros, ss_paid=zeros)  # fmt: skip
    return EnterpriseState(uscc="91330110MA2B000011", name="Acme", industry_code="F5176", monthly=monthly)


def level(factor: float | None, pending: bool = False) -> IndustryLevel:
    return IndustryLevel("F", "2026-04", factor, 40, pending)


def test_the_industry_level_replaces_the_calendar() -> None:
    state = enterprise(30_000)
    assert tax_collapse(None, state, RULES).active  # against its own level alone: a collapse
    assert not tax_collapse(None, state, RULES, level(0.6)).active  # the industry fell to 60%: 0.5 of expected
    deep = tax_collapse(None, enterprise(12_000), RULES, level(0.6))
    assert deep.active and "industry F level 0.60 (40 peers)" in deep.evidence["basis"]  # 0.2 of expected


def test_a_pending_industry_holds_the_rule_and_keeps_an_open_alert() -> None:
    state = enterprise(30_000)
    state.open_alerts["tax_collapse"] = OpenAlert(id="a1")
    assert [f.alert_type for f in evaluate(None, state, RULES)] == ["tax_collapse"]
    held = evaluate(None, state, RULES, industry=level(None, pending=True))
    assert "tax_collapse" not in [f.alert_type for f in held]  # neither fired again nor resolved


def test_levels_come_from_the_enterprises_that_filed() -> None:
    ctx = IndustryPeriods(min_peers=20)
    for i in range(25):
        found = own_ratio(enterprise(int(60_000 * (0.95 + 0.004 * i))))
        assert found is not None
        ctx.learn("F", *found)
    known = ctx.level("F", "2026-04")
    assert known is not None and not known.pending and known.peers == 25
    assert known.factor is not None and 0.55 < known.factor < 0.65
    nxt = ctx.level("F", "2026-05")
    assert nxt is not None and nxt.pending  # May: nobody has filed yet
    for _ in range(12):  # half of February's filers: judged with what is known
        ctx.learn("F", "2026-05", 1.0)
    assert not ctx.level("F", "2026-05").pending  # type: ignore[union-attr]
    small = IndustryPeriods(min_peers=20)
    for _ in range(5):
        small.learn("Q", "2026-02", 0.5)
    assert small.level("Q", "2026-02") is None and small.level("Q", "2026-03") is None  # too small: the calendar


def test_a_rebuild_from_the_states_gives_the_levels_learned_live() -> None:
    import random

    rng = random.Random(5)
    months = 10
    series = {f"U{i}": [int(rng.uniform(50_000, 150_000)) if rng.random() > 0.1 else None for _ in range(months)]
              for i in range(60)}  # fmt: skip
    live = IndustryPeriods(min_peers=20)
    for position in range(months):  # month by month, enterprises in another order each month
        for uscc in rng.sample(sorted(series), len(series)):
            revenue = series[uscc][: position + 1]
            ratio = ratio_at(revenue, position)
            if ratio is not None:
                live.learn("F", f"2026-{position + 1:02d}" if position < 9 else "2026-10", ratio)
    rebuilt = IndustryPeriods(min_peers=20)
    rebuilt.rebuild(("F5176", "2026-01", revenue) for revenue in series.values())
    for month in ("2026-06", "2026-07", "2026-08", "2026-09", "2026-10"):
        assert rebuilt.level("F", month) == live.level("F", month)
    assert live.level("F", "2026-10") is not None
