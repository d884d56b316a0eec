"""Injected anomalies: which enterprise gets which trouble, when, and how strongly.

The plan is drawn from its own random stream after the population is built, so the ground
truth for a config is known without producing a single event. The engine reads the same
:class:`InjectedAnomaly` objects to shape the events, which keeps truth and stream consistent.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from simulator.config import SimulationConfig, month_text
from simulator.names import RELOCATION_TARGETS
from simulator.population import Enterprise, build_population
from simulator.profile import AnomalyProfile
from simulator.seasons import month_days

ANOMALY_TYPES: tuple[str, ...] = (
    "abnormal_operation",
    "invoice_drop",
    "invoice_spike",
    "layoff",
    "legal_rep_churn",
    "payroll_tax_mismatch",
    "relocation",
    "social_security_arrears",
    "tax_collapse",
    "zombie",
)
# The relative frequency of each type and the effect sizes come from the profile.
MONTHLY_TYPES = frozenset(
    {"zombie", "layoff", "tax_collapse", "social_security_arrears", "payroll_tax_mismatch"}
)


@dataclass(frozen=True)
class InjectedAnomaly:
    """One line of the ground-truth file.

    ``onset`` is the first business day on which the anomaly is in effect; ``onset_period`` its
    ``YYYY-MM``. ``params`` holds the type's magnitudes and dates (all JSON-serialisable).
    """

    uscc: str
    anomaly_type: str
    onset: date
    onset_period: str
    description: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "uscc": self.uscc,
            "anomaly_type": self.anomaly_type,
            "onset": self.onset.isoformat(),
            "onset_period": self.onset_period,
            "description": self.description,
            "params": self.params,
        }


def _eligible_types(ent: Enterprise, config: SimulationConfig) -> list[str]:
    types = ["zombie", "legal_rep_churn", "abnormal_operation"]
    if ent.headcount >= 10:
        types.append("layoff")
    if ent.headcount >= 3:
        types.append("social_security_arrears")
    if ent.in_park and ent.headcount >= 5:
        types.append("relocation")
    if ent.revenue >= 300_000:  # smaller firms' months are too noisy for a clear signal
        types.append("tax_collapse")
        if ent.headcount >= 5:
            types.append("payroll_tax_mismatch")
    if config.daily_invoices and ent.expected_daily_invoices >= 1.5:
        types.append("invoice_spike")
        if ent.expected_daily_invoices >= 3:
            types.append("invoice_drop")
    return types


def _r(value: float) -> float:
    return round(value, 4)


def _plan_one(
    rng: random.Random, ent: Enterprise, kind: str, month: int, window_end: date, effects: AnomalyProfile
) -> InjectedAnomaly:
    days = month_days(month)
    period = month_text(month)
    onset = days[0]
    params: dict[str, Any] = {}
    if kind == "zombie":
        params = {"headcount": rng.choice(effects.zombie_headcount), "revenue_factor": 0.0}
        text = "Zombie enterprise (僵尸企业): zero revenue, zero tax, 1–2 insured staff, filings keep coming"
        if effects.zombie_revenue[1] > 0:  # near-zero rather than zero filings
            params["revenue_factor"] = _r(rng.uniform(*effects.zombie_revenue))
            text = (
                f"Zombie enterprise (僵尸企业): near-zero revenue ({params['revenue_factor']:.1%} of before), "
                f"{params['headcount']} insured staff, filings keep coming"
            )
    elif kind == "layoff":
        factor = _r(rng.uniform(*effects.layoff_headcount))
        params = {"headcount_factor": factor, "revenue_factor": _r(rng.uniform(*effects.layoff_revenue))}
        text = f"Layoff (裁员): insured headcount falls to {factor:.0%} of its level at onset"
    elif kind == "tax_collapse":
        factor = _r(rng.uniform(*effects.tax_collapse_revenue))
        params = {"revenue_factor": factor}
        text = f"Tax collapse (税收断崖): sales revenue and tax fall to {factor:.0%} of trend"
    elif kind == "social_security_arrears":
        share = _r(rng.uniform(*effects.arrears_paid_share))
        params = {"paid_share": share}
        text = (
            f"Social-security arrears (社保欠缴): only {share:.0%} of contributions paid, arrears accumulate"
        )
    elif kind == "payroll_tax_mismatch":
        params = {
            "headcount_factor": _r(rng.uniform(*effects.mismatch_headcount)),
            "revenue_factor": _r(rng.uniform(*effects.mismatch_revenue)),
        }
        text = "Payroll vs tax mismatch (用工与纳税背离): insured headcount grows while revenue and tax fall sharply"
    elif kind == "relocation":
        onset = days[rng.randrange(0, min(20, len(days)))]
        district = rng.choice(sorted(RELOCATION_TARGETS))
        moved = onset + timedelta(days=rng.randint(3, 20))
        params = {
            "district_code": district,
            "moved_out_date": moved.isoformat(),
            "headcount_factor": _r(rng.uniform(*effects.relocation_headcount)),
            "pre_headcount_factor": _r(rng.uniform(*effects.relocation_pre_headcount)),
        }
        text = f"Relocation out of the park (迁出园区) to district {district}; status moved_out on {moved.isoformat()}"
    elif kind == "legal_rep_churn":
        count = rng.choice((3, 3, 4))
        onset = days[rng.randrange(0, min(15, len(days)))]
        room = (window_end - onset).days
        gap_max = max(3, min(60, room // count))
        changes = [onset]
        for _ in range(count - 1):
            changes.append(changes[-1] + timedelta(days=rng.randint(max(2, gap_max // 3), gap_max)))
        params = {"changes": count, "change_dates": [d.isoformat() for d in changes]}
        text = f"Legal-representative churn (法定代表人频繁变更): {count} changes within {(changes[-1] - onset).days + 1} days"
    elif kind in ("invoice_spike", "invoice_drop"):
        onset = days[rng.randrange(0, min(14, len(days)))]
        duration = rng.randint(10, 16)
        if kind == "invoice_spike":
            factor = _r(rng.uniform(*effects.invoice_spike_amount))
            text = f"Invoice spike (发票异常激增): daily invoice amounts ×{factor:.1f} for {duration} days"
        else:
            factor = _r(rng.uniform(*effects.invoice_drop_amount))
            text = f"Invoice drop (开票骤降): daily invoice amounts fall to {factor:.0%} for {duration} days"
        params = {"amount_factor": factor, "duration_days": duration}
    else:  # abnormal_operation
        onset = days[rng.randrange(0, min(25, len(days)))]
        params = {"missed_filing_share": 0.5, "revenue_factor": 0.5}
        text = "Listed for abnormal operation (列入经营异常名录): status abnormal_operation, filings become irregular"
    return InjectedAnomaly(
        ent.uscc, kind, onset, onset.strftime("%Y-%m") if kind not in MONTHLY_TYPES else period, text, params
    )


def plan_anomalies(population: list[Enterprise], config: SimulationConfig) -> dict[str, InjectedAnomaly]:
    """Pick ``round(anomaly_rate × enterprises)`` enterprises and one anomaly for each, by USCC.

    Onsets fall in the second half of the window (and before its last month) so every
    anomalous enterprise has a baseline and at least one filing showing the anomaly.
    """
    rng = random.Random(f"{config.seed}:anomalies")
    first, last = config.first_month, config.last_month
    low, high = first + max(1, config.months // 2), last - 1
    if low > high:
        return {}
    eligible = [e for e in population if e.founded < first and e.deregister_month is None]
    count = min(len(eligible), round(config.anomaly_rate * config.enterprises))
    window_end = month_days(last)[-1]
    effects = config.profile_settings.anomalies
    plan: dict[str, InjectedAnomaly] = {}
    for ent in sorted(rng.sample(eligible, count), key=lambda e: e.index):
        types = [t for t in _eligible_types(ent, config) if effects.weights.get(t, 0) > 0]
        kind = rng.choices(types, weights=[effects.weights[t] for t in types])[0]
        plan[ent.uscc] = _plan_one(rng, ent, kind, rng.randint(low, high), window_end, effects)
    return plan


def ground_truth(config: SimulationConfig) -> list[InjectedAnomaly]:
    """The anomalies :func:`simulator.simulate` injects for ``config``, ordered by onset then USCC."""
    plan = plan_anomalies(build_population(config), config)
    return sorted(plan.values(), key=lambda a: (a.onset, a.uscc))


def write_truth(path: str | Path, anomalies: Iterable[InjectedAnomaly]) -> int:
    """Write anomalies as JSON Lines (one object per line, UTF-8); returns the number written."""
    written = 0
    with Path(path).open("wb") as out:
        for anomaly in anomalies:
            out.write(orjson.dumps(anomaly.as_dict()) + b"\n")
            written += 1
    return written


def read_truth(path: str | Path) -> list[InjectedAnomaly]:
    """Read a file written by :func:`write_truth`."""
    result = []
    with Path(path).open("rb") as src:
        for line in src:
            if line.strip():
                row = orjson.loads(line)
                result.append(
                    InjectedAnomaly(
                        row["uscc"],
                        row["anomaly_type"],
                        date.fromisoformat(row["onset"]),
                        row["onset_period"],
                        row["description"],
                        row["params"],
                    )
                )
    return result
