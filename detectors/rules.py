"""Explainable early-warning rules: pure functions of an enterprise's state before and after
one event, each explained in one sentence.

Every rule returns a :class:`Finding`: ``active`` when its condition holds now, inactive
otherwise (the alert lifecycle resolves an open alert on an inactive finding and ignores
the rest). Labels and usual severities come from the alert catalogue
(:mod:`schemas.alert_catalogue`); thresholds come from ``config/rules.yaml`` (:class:`config.rules.RuleConfig`).
VAT for a month is filed in the following month, so revenue rules look at the latest month
that has a VAT filing.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from config.rules import RuleConfig, default_rules
from detectors.features import last_filed
from detectors.findings import Finding
from detectors.invoice_rules import invoice_drop, invoice_spike
from detectors.rule_findings import filed_months, inactive, make_finding, name_of, resolution, usual_severity
from detectors.seasonality import (
    calendar_factor,
    confidence,
    deseasonalised,
    history_months,
    log_variability,
    seasonal_expectation,
)
from schemas import EnterpriseState, Severity
from schemas.events import (
    EVENT_MODELS,
    Event,
    InvoiceSummary,
    RegistrationEvent,
    SocialSecurityFiling,
    TaxFiling,
)

if TYPE_CHECKING:
    from detectors.industry_context import IndustryLevel
    from detectors.verdicts import VerdictCalibration

Rule = Callable[[EnterpriseState | None, EnterpriseState, RuleConfig], Finding]

_STATUS_ZH = {"deregistered": "注销", "moved_out": "迁出", "revoked": "吊销", "abnormal_operation": "经营异常"}


def relocation(before: EnterpriseState | None, after: EnterpriseState, cfg: RuleConfig) -> Finding:
    """The enterprise left the park: register says moved out, not in the park, or a district outside it."""
    def outside(state: EnterpriseState | None) -> bool:
        return state is not None and state.district_code is not None and state.district_code not in cfg.park_districts

    if after.status != "moved_out" and after.in_park is not False and not outside(after):
        return inactive("relocation", after)  # none of the three signals below can hold
    # An enterprise registered outside the park from the start has not relocated: in_park
    # false counts when it was true before, or while a relocation episode is open.
    left = after.in_park is False and (
        (before is not None and before.in_park is True) or "relocation" in after.open_alerts
    )
    moved_address = (
        outside(after) and before is not None and before.district_code is not None and not outside(before)
        and before.in_park is not False
    )
    signals = [
        s for s, on in (("status_moved_out", after.status == "moved_out"), ("in_park_false", left),
                        ("address_left_park", moved_address)) if on
    ]  # fmt: skip
    if not signals:
        return inactive("relocation", after)
    heads = filed_months(after.monthly.headcount)
    drop = None
    if len(heads) >= 2 and heads[-2][1] > 0:
        drop = round(1 - heads[-1][1] / max(v for _, v in heads[-4:-1]), 3)
    corroborated = len(signals) >= 2 or (drop is not None and drop >= 0.3)
    name = name_of(after)
    return make_finding(
        "relocation", True, Severity.CRITICAL if corroborated else usual_severity("relocation"),
        (f"企业迁出园区：{name}", f"{name} 的登记信息显示已迁出园区（{'、'.join(signals)}），区划代码 {after.district_code}。"),
        (f"Relocation out of the park: {name}",
         f"{name} has left the park according to the business register ({', '.join(signals)}); district {after.district_code}."),
        {"signals": signals, "district_code": after.district_code, "in_park": after.in_park, "status": after.status,
         "headcount_drop": drop, "corroborated": corroborated},
        decisive=("signals", "district_code", "status"),
    )  # fmt: skip


def enterprise_exit(before: EnterpriseState | None, after: EnterpriseState, cfg: RuleConfig) -> Finding:
    """The enterprise was deregistered or its licence revoked."""
    if after.status not in ("deregistered", "revoked"):
        return inactive("enterprise_exit", after)
    name, zh = name_of(after), _STATUS_ZH[after.status]
    return make_finding(
        "enterprise_exit", True, usual_severity("enterprise_exit"),
        (f"企业{zh}：{name}", f"{name} 的登记状态为「{zh}」。"),
        (f"Enterprise {after.status}: {name}", f"{name} is {after.status} according to the business register."),
        {"status": after.status},
    )  # fmt: skip


def abnormal_operation(before: EnterpriseState | None, after: EnterpriseState, cfg: RuleConfig) -> Finding:
    """The enterprise is on the abnormal-operation list (经营异常名录)."""
    if after.status != "abnormal_operation":
        return inactive("abnormal_operation", after)
    name = name_of(after)
    return make_finding(
        "abnormal_operation", True, usual_severity("abnormal_operation"),
        (f"列入经营异常名录：{name}", f"{name} 被列入经营异常名录。"),
        (f"Abnormal-operation listing: {name}", f"{name} was put on the abnormal-operation list."),
        {"status": after.status},
    )  # fmt: skip


def legal_rep_churn(before: EnterpriseState | None, after: EnterpriseState, cfg: RuleConfig) -> Finding:
    """The legal representative changed N times within M months."""
    rule = cfg.legal_rep_churn
    if not after.rep_changes:
        return inactive("legal_rep_churn", after)
    latest = max(after.rep_changes)
    window = [d for d in after.rep_changes if d > latest - timedelta(days=30.5 * rule.months)]
    if len(window) < rule.changes:
        return inactive("legal_rep_churn", after)
    name = name_of(after)
    return make_finding(
        "legal_rep_churn", True, usual_severity("legal_rep_churn"),
        (f"法定代表人频繁变更：{name}", f"{name} 在 {rule.months} 个月内变更法定代表人 {len(window)} 次。"),
        (f"Legal-representative churn: {name}",
         f"{name} changed its legal representative {len(window)} times within {rule.months} months."),
        {"changes": len(window), "dates": [d.isoformat() for d in window], "current": after.legal_representative},
    )  # fmt: skip


def layoff(before: EnterpriseState | None, after: EnterpriseState, cfg: RuleConfig) -> Finding:
    """Insured headcount fell sharply against the previous months."""
    rule = cfg.layoff
    heads = filed_months(after.monthly.headcount)
    if len(heads) < 2:
        return inactive("layoff", after)
    position, now = heads[-1]
    reference = max(v for _, v in heads[-1 - rule.lookback_months : -1])
    if reference <= 0 or now > reference * (1 - rule.drop) or reference - now < rule.min_people:
        return inactive("layoff", after)
    share = 1 - now / reference
    name, period = name_of(after), after.monthly.period_of(position)
    return make_finding(
        "layoff", True, Severity.CRITICAL if share >= 0.5 else usual_severity("layoff"),
        (f"参保人数骤降：{name}", f"{name} {period} 参保人数 {now} 人，较前期最高 {reference} 人下降 {share:.0%}。"),
        (f"Layoffs: {name}", f"{name} insured {now} employees in {period}, {share:.0%} fewer than the recent high of {reference}."),
        {"period": period, "headcount": now, "reference_headcount": reference, "drop": round(share, 3)},
    )  # fmt: skip


def _expected_revenue(after: EnterpriseState, position: int, months: int) -> tuple[float, str] | None:
    forecast = after.scores.fc_revenue if after.scores is not None else None
    if forecast is not None and forecast[0] == after.monthly.period_of(position) and forecast[1] > 0:
        return forecast[1], "forecast"
    return _median_level(after, position, months)


def _median_level(after: EnterpriseState, position: int, months: int) -> tuple[float, str] | None:
    history = [v for _, v in filed_months(after.monthly.revenue, position - 1)][-months:]
    if len(history) < 3:
        return None
    return float(statistics.median(history)), f"median of {len(history)} months"


def _backing(
    values: list[int | None], position: int, ratio: float, season_known: bool, cfg: RuleConfig
) -> tuple[float, int, float]:
    """(confidence, filed months of history, own log variability) behind a level change of ``ratio``.

    The confidence is 0 when the change is within ``confidence.min_z`` of the enterprise's
    own month-to-month deviations: a noisy enterprise needs a bigger fall.
    """
    rule = cfg.confidence
    history = history_months(values, position)
    sigma = max(rule.sigma_floor, log_variability(values, position) or rule.sigma_floor)
    z = math.log(max(ratio, 1e-6)) / sigma
    if abs(z) < rule.min_z:
        return 0.0, history, sigma
    return confidence(history, z, season_known, rule.full_history_months, rule.full_z), history, sigma


def _own_season(
    after: EnterpriseState, values: Sequence[int | float | None], position: int, cfg: RuleConfig
) -> float | None:
    """The month's own seasonal expectation, the park's holidays (Spring Festival) taken out first."""
    first = after.monthly.first
    if first is None or position < 12:
        return None
    holidays, depth = tuple(cfg.invoice.holidays), cfg.confidence.holiday_depth
    own = seasonal_expectation(deseasonalised(values, first, holidays, depth), position)
    return None if own is None else own * calendar_factor(first + position, holidays, depth)


def tax_collapse(
    before: EnterpriseState | None, after: EnterpriseState, cfg: RuleConfig, industry: IndustryLevel | None = None
) -> Finding:
    """Declared sales revenue collapsed against the enterprise's own expected level.

    The level is the median of the previous months times the industry's level for the month
    (:mod:`detectors.industry_context`: what the industry as a whole did, festival and
    downturn included) when that is known; else the scorer's forecast or the median with the
    park's calendar factors. With a year of history the month must also have collapsed against the
    enterprise's own same month last year × its recent year-on-year growth, so a business
    whose low season this is does not alarm. With less history the finding is held (not
    sent) until the history and the enterprise's own variability back it
    (``confidence.min_confidence``).
    """
    rule = cfg.tax_collapse
    values = after.monthly.revenue
    position = last_filed(values)
    if position is None:
        return inactive("tax_collapse", after)
    revenue = values[position] or 0
    factor = industry.factor if industry is not None else None
    if industry is not None and factor is not None and industry.period == after.monthly.period_of(position):
        own_level = _median_level(after, position, rule.baseline_months)
        expected = None if own_level is None else (
            own_level[0] * factor,
            f"{own_level[1]} × industry {industry.section} level {factor:.2f} ({industry.peers} peers)",
        )  # fmt: skip
    else:
        expected = _expected_revenue(after, position, rule.baseline_months)
        if expected is not None and expected[1] != "forecast":
            month = int(after.monthly.period_of(position)[5:7])
            expected = (expected[0] * rule.seasonal_factors.get(month, 1.0), expected[1] + ", seasonally adjusted")
    if expected is None or expected[0] < rule.min_baseline or revenue >= rule.ratio * expected[0]:
        return inactive("tax_collapse", after)
    ratio = revenue / expected[0]
    own = _own_season(after, values, position, cfg)
    if own is not None and revenue >= rule.seasonal_ratio * own:
        return inactive("tax_collapse", after)  # its own season: the same month last year was as low
    weakest = ratio if own is None else max(ratio, revenue / own)
    backed, history, sigma = _backing(values, position, weakest, own is not None, cfg)
    if backed < cfg.confidence.min_confidence:
        return inactive("tax_collapse", after)  # held: too little history behind it
    name, period = name_of(after), after.monthly.period_of(position)
    return make_finding(
        "tax_collapse", True, Severity.CRITICAL if ratio < 0.15 else usual_severity("tax_collapse"),
        (f"税收骤降：{name}", f"{name} {period} 申报销售额 {revenue:,} 元，仅为预期 {expected[0]:,.0f} 元的 {ratio:.0%}。"),
        (f"Tax collapse: {name}",
         f"{name} declared sales of {revenue:,} CNY for {period}, {ratio:.0%} of the expected {expected[0]:,.0f} CNY ({expected[1]})."),
        {"period": period, "revenue": revenue, "expected": round(expected[0]), "basis": expected[1], "ratio": round(ratio, 3),
         "same_month_last_year_expected": None if own is None else round(own), "confidence": backed,
         "history_months": history, "own_variability": round(sigma, 3)},
        decisive=("period", "revenue", "expected", "basis", "ratio"),
    )  # fmt: skip


def _near_zero(after: EnterpriseState, cfg: RuleConfig) -> tuple[int, float] | None:
    """(months, own level before) when the last filed months are near zero against the level before."""
    rule = cfg.zombie
    filed = filed_months(after.monthly.revenue)
    recent, earlier = filed[-rule.near_zero_months :], filed[: -rule.near_zero_months][-rule.baseline_months :]
    if len(recent) < rule.near_zero_months or len(earlier) < 3:
        return None
    level = float(statistics.median(v for _, v in earlier))
    if level < cfg.tax_collapse.min_baseline or any(v > rule.near_zero_share * level for _, v in recent):
        return None
    return len(recent), level


def zombie(before: EnterpriseState | None, after: EnterpriseState, cfg: RuleConfig) -> Finding:
    """A shell that only files: zero (or near-zero) revenue, a skeleton staff, (almost) no invoices.

    Zero-revenue filings (零申报) with at most ``max_headcount`` insured and no invoice; or,
    scale-free, revenue and invoicing below ``near_zero_share`` of the enterprise's own level
    before, with at most ``near_zero_headcount`` insured.
    """
    rule = cfg.zombie
    staff = after.monthly.headcount[last] if (last := last_filed(after.monthly.headcount)) is not None else None
    if staff is None or staff > max(rule.max_headcount, rule.near_zero_headcount):
        return inactive("zombie", after)  # most enterprises: no need to look further
    filed = filed_months(after.monthly.revenue)
    heads = filed_months(after.monthly.headcount)
    if len(filed) < 3:
        return inactive("zombie", after)
    revenue = filed[-rule.months :]
    zero = len(revenue) >= rule.months and all(v <= rule.max_revenue for _, v in revenue)
    near = None if zero else _near_zero(after, cfg)
    if zero and heads[-1][1] <= rule.max_headcount:
        allowed = 0.0
    elif near is not None and heads[-1][1] <= rule.near_zero_headcount:
        allowed = rule.near_zero_share * near[1]
    else:
        return inactive("zombie", after)
    inv = after.invoices
    if inv.start is not None and after.business_at is not None:
        quiet_since = after.business_at - timedelta(days=rule.quiet_invoice_days)  # (almost) no invoices since then
        recent = [a for i, a in enumerate(inv.amount) if inv.start + timedelta(days=i) > quiet_since]
        if sum(recent) > allowed:
            return inactive("zombie", after)
    name = name_of(after)
    months = len(revenue) if near is None else near[0]
    what_zh, what_en = ("零申报", "files zero revenue") if near is None else ("申报销售额接近零", "files near-zero revenue")
    return make_finding(
        "zombie", True, usual_severity("zombie"),
        (f"疑似僵尸企业：{name}", f"{name} 连续{what_zh}，参保 {heads[-1][1]} 人，近 {rule.quiet_invoice_days} 天几乎无开票。"),
        (f"Zombie enterprise: {name}",
         f"{name} {what_en} with {heads[-1][1]} insured employees and (almost) no invoices in {rule.quiet_invoice_days} days."),
        {"zero_revenue_months": months, "headcount": heads[-1][1],
         **({} if near is None else {"near_zero": True, "level_before": round(near[1])})},
        decisive=("zero_revenue_months", "headcount"),
    )  # fmt: skip


def social_security_arrears(before: EnterpriseState | None, after: EnterpriseState, cfg: RuleConfig) -> Finding:
    """Social-security contributions are in arrears by a large share of what is due."""
    m = after.monthly
    position = last_filed(m.headcount)
    if position is None:
        return inactive("social_security_arrears", after)
    arrears = m.arrears.get(m.period_of(position), 0)
    previous = m.arrears.get(m.period_of(position - 1), 0) if position > 0 else 0
    if arrears <= 0:
        return inactive("social_security_arrears", after)
    paid = m.ss_paid[position]
    due_this_month = paid + arrears - previous if previous > 0 else paid + arrears
    ratio = arrears / max(due_this_month, 1)
    growing = 0 < previous < arrears
    if ratio < cfg.social_security_arrears.min_ratio and not growing:
        return inactive("social_security_arrears", after)
    name, period = name_of(after), m.period_of(position)
    return make_finding(
        "social_security_arrears", True, usual_severity("social_security_arrears"),
        (f"社保欠缴：{name}", f"{name} 截至 {period} 欠缴社保 {arrears:,} 元。"),
        (f"Social-security arrears: {name}", f"{name} owes {arrears:,} CNY of social-security contributions as of {period}."),
        {"period": period, "arrears": arrears, "paid": paid, "ratio": round(ratio, 3), "growing": growing},
    )  # fmt: skip


def _per_capita(after: EnterpriseState) -> list[float | None]:
    """VAT revenue per insured employee, month by month (``None`` where either is missing)."""
    m = after.monthly
    return [
        None if r is None or h is None or h <= 0 else r / h for r, h in zip(m.revenue, m.headcount, strict=True)
    ]


def payroll_tax_mismatch(before: EnterpriseState | None, after: EnterpriseState, cfg: RuleConfig) -> Finding:
    """Payroll grows while revenue per insured employee collapses: payroll and tax tell different stories.

    Scale-free: per-capita output against the enterprise's own level of the months before,
    judged in its own month-to-month variability; with a year of history also against its
    own same month last year.
    """
    rule = cfg.payroll_tax_mismatch
    per_capita = _per_capita(after)
    position = last_filed(per_capita)  # type: ignore[arg-type]
    if position is None:
        return inactive("payroll_tax_mismatch", after)
    earlier = [v for v in per_capita[max(0, position - rule.baseline_months) : position] if v is not None]
    heads_before = [h for h in after.monthly.headcount[max(0, position - 4) : position] if h is not None]
    if len(earlier) < 3 or not heads_before:
        return inactive("payroll_tax_mismatch", after)
    heads = after.monthly.headcount[position] or 0
    reference_heads = statistics.median(heads_before)
    head_growth = heads / max(reference_heads, 1) - 1
    if head_growth < rule.headcount_growth or heads - reference_heads < rule.min_people:
        return inactive("payroll_tax_mismatch", after)
    # per-capita output with the park's holidays (Spring Festival) taken out of each month
    first = after.monthly.first or 0
    calendar = deseasonalised(per_capita, first, tuple(cfg.invoice.holidays), cfg.confidence.holiday_depth)
    now = calendar[position] or 0.0
    level = float(statistics.median(v for v in calendar[max(0, position - rule.baseline_months) : position] if v is not None))
    if level <= 0:
        return inactive("payroll_tax_mismatch", after)
    ratio = now / level
    if ratio > rule.per_capita_ratio:
        return inactive("payroll_tax_mismatch", after)
    own = seasonal_expectation(calendar, position)
    if own is not None and now > rule.per_capita_ratio * own:
        return inactive("payroll_tax_mismatch", after)  # its own season
    sigma = max(cfg.confidence.sigma_floor, log_variability(calendar, position) or cfg.confidence.sigma_floor)
    z = math.log(max(ratio, 1e-6)) / sigma
    if z > -rule.min_z:
        return inactive("payroll_tax_mismatch", after)  # within what this enterprise's months do anyway
    name = name_of(after)
    revenue_ratio = (after.monthly.revenue[position] or 0) / max(1.0, level * reference_heads)
    return make_finding(
        "payroll_tax_mismatch", True, usual_severity("payroll_tax_mismatch"),
        (f"用工与纳税背离：{name}", f"{name} 参保人数增长 {head_growth:.0%}，人均申报销售额降至前期的 {ratio:.0%}。"),
        (f"Payroll-tax mismatch: {name}",
         f"{name} grew its insured headcount by {head_growth:.0%} while declared sales per insured employee fell to "
         f"{ratio:.0%} of before ({-z:.1f} of its own deviations)."),
        {"period": after.monthly.period_of(position), "headcount_growth": round(head_growth, 3),
         "per_capita_ratio": round(ratio, 3), "revenue_ratio": round(revenue_ratio, 3), "z": round(z, 2)},
        decisive=("period", "headcount_growth", "per_capita_ratio"),
    )  # fmt: skip


def missing_filings(before: EnterpriseState | None, after: EnterpriseState, cfg: RuleConfig) -> Finding:
    """VAT returns stopped while the enterprise keeps issuing e-invoices.

    Both arrive on the tax topic, in order for one enterprise, so the gap is measured within
    one ordered stream (comparing with social-security filings would depend on how far the
    consumer of the other topic has got).
    """
    m, inv = after.monthly, after.invoices
    vat_last = last_filed(m.revenue)
    if vat_last is None or inv.start is None or not inv.amount or m.first is None:
        return inactive("missing_filings", after)
    last_day = inv.start + timedelta(days=len(inv.amount) - 1)
    if not any(inv.amount[-28:]):
        return inactive("missing_filings", after)
    # VAT for month M is due by mid M+1: the month before the last invoice day must be filed
    gap = (last_day.year * 12 + last_day.month - 1) - 1 - (m.first + vat_last)
    if last_day.day <= 15:
        gap -= 1
    if gap < cfg.missing_filings.months:
        return inactive("missing_filings", after)
    name = name_of(after)
    return make_finding(
        "missing_filings", True, usual_severity("missing_filings"),
        (f"纳税申报中断：{name}", f"{name} 已连续 {gap} 个月未进行增值税申报，但仍在开具发票。"),
        (f"Missing tax filings: {name}", f"{name} has filed no VAT return for {gap} months while still issuing e-invoices."),
        {"months_missing": gap, "last_vat_period": m.period_of(vat_last), "last_invoice_day": last_day.isoformat()},
    )  # fmt: skip


def tax_credit_downgrade(before: EnterpriseState | None, after: EnterpriseState, cfg: RuleConfig) -> Finding:
    """The tax credit grade dropped into a low grade (C or D)."""
    grades = cfg.tax_credit_downgrade.to_grades
    if after.credit_grade not in grades:
        return inactive("tax_credit_downgrade", after)
    name = name_of(after)
    previous = before.credit_grade if before is not None else None
    return make_finding(
        "tax_credit_downgrade", True, usual_severity("tax_credit_downgrade"),
        (f"纳税信用降级：{name}", f"{name} 纳税信用等级为 {after.credit_grade}（此前 {previous or '未知'}）。"),
        (f"Tax credit downgrade: {name}", f"{name} has tax credit grade {after.credit_grade} (before: {previous or 'unknown'})."),
        {"grade": after.credit_grade, "previous": previous},
    )  # fmt: skip


RULES: tuple[Rule, ...] = (
    relocation, enterprise_exit, abnormal_operation, legal_rep_churn, layoff, tax_collapse, zombie,
    social_security_arrears, payroll_tax_mismatch, missing_filings, tax_credit_downgrade, invoice_spike, invoice_drop,
)  # fmt: skip

_FILINGS = (TaxFiling, SocialSecurityFiling)  # either one can slide the monthly window
# The events that can change what each rule reads; a rule not listed here reads something
# every event changes (``before``, ``business_at``) or the scorer's forecast, so it always runs.
_CHANGED_BY: dict[Rule, tuple[type[Event], ...]] = {
    enterprise_exit: (RegistrationEvent,),
    abnormal_operation: (RegistrationEvent,),
    legal_rep_churn: (RegistrationEvent,),
    layoff: _FILINGS,
    social_security_arrears: _FILINGS,
    payroll_tax_mismatch: _FILINGS,
    missing_filings: (*_FILINGS, InvoiceSummary),
    invoice_spike: (InvoiceSummary,),
    invoice_drop: (InvoiceSummary,),
}
RULES_FOR: dict[type, tuple[Rule, ...]] = {
    kind: tuple(r for r in RULES if r not in _CHANGED_BY or issubclass(kind, _CHANGED_BY[r])) for kind in EVENT_MODELS
}


def evaluate(
    before: EnterpriseState | None,
    after: EnterpriseState,
    cfg: RuleConfig | None = None,
    event: Event | None = None,
    verdicts: VerdictCalibration | None = None,
    industry: IndustryLevel | None = None,
) -> list[Finding]:
    """The rules' findings for the state after one event.

    Without ``event`` every rule runs. With it, only the rules whose inputs that kind of
    event can change (:data:`RULES_FOR`): the others would find what they found after the
    enterprise's previous event — the alert lifecycle already holds that finding, so it would
    emit nothing — and they are skipped (94% of the events are invoice summaries, which
    most rules never read). ``verdicts``, once operators have given some, makes each rule
    as strict as its verdicts (and this enterprise's) say. ``industry`` is the industry's
    level for the enterprise's last filed month; while it is pending, the tax-collapse rule
    is not run at all (held: an open alert stays as it is).
    """
    config = cfg or default_rules()
    out = []
    calibrated = verdicts is not None and verdicts.learned
    for rule in RULES if event is None else RULES_FOR[type(event)]:
        own = verdicts.apply(config, rule.__name__, after.uscc) if calibrated and verdicts is not None else config
        if rule is tax_collapse:
            if industry is not None and industry.pending:
                continue
            finding = tax_collapse(before, after, own, industry)
        else:
            finding = rule(before, after, own)
        if finding.active:
            out.append(finding)
        elif finding.alert_type in after.open_alerts:
            out.append(resolution(finding.alert_type, after))
    return out
