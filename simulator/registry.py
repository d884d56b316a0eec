"""Business-register events: establishment, ordinary changes, and the anomalies that show there.

Ordinary changes per enterprise and month: capital injections (most often for gazelles),
address moves within the district, a new legal representative, a new name, a wider
business scope. Relocations, legal-representative churn, abnormal-operation listings and
deregistrations come from the plan and are scheduled once, up front.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from simulator.anomalies import InjectedAnomaly
from simulator.config import month_index
from simulator.names import address, company_name, investor_name, person_name, relocation_address
from simulator.payloads import establishment, money
from simulator.population import Enterprise
from simulator.seasons import day_start_ts, month_days

if TYPE_CHECKING:
    from simulator.engine import _Run

# monthly probability of a capital injection by life stage
_INJECTION = {"startup": 0.02, "gazelle": 0.03, "mature": 0.004, "declining": 0.001}
_ADDRESS, _LEGAL_REP, _NAME, _SCOPE = 0.0025, 0.0015, 0.001, 0.001
_QUIET_TYPES = frozenset({"relocation", "legal_rep_churn"})  # keep their register history clean
_EXTRA_SCOPE = (
    "人工智能应用软件开发",
    "物联网技术服务",
    "大数据服务",
    "货物进出口",
    "技术进出口",
    "数字文化创意软件开发",
)


class RegistryChanges:
    """Schedules registration events for a run."""

    def __init__(self, run: _Run) -> None:
        self.run = run

    def _office_ts(self, day: date) -> int:
        return day_start_ts(day) + self.run.rng.randint(9 * 3600, 17 * 3600)

    def _emit(self, ent: Enterprise, ts: int, fields: dict[str, Any]) -> None:
        self.run.schedule(ts, ent, "registration", fields)

    def establish(self, ent: Enterprise, ts: int) -> None:
        self.run.start_ts[ent.index] = ts - (ts + 8 * 3600) % 86400  # invoices from that day on
        self._emit(ent, ts, establishment(ent))

    def plan_endings(self, plan: dict[str, InjectedAnomaly]) -> None:
        """Deregistrations and the register side of anomalies, scheduled once at the start."""
        run = self.run
        for ent in run.population:
            if ent.deregister_month is not None:
                ts = self._office_ts(month_days(ent.deregister_month)[run.rng.randrange(4, 25)])
                run.end_ts[ent.index] = ts
                self._emit(ent, ts, {"change": "status", "status": "deregistered"})
            anomaly = plan.get(ent.uscc)
            if anomaly is not None:
                self._anomaly(ent, anomaly)

    def _anomaly(self, ent: Enterprise, anomaly: InjectedAnomaly) -> None:
        run, params = self.run, anomaly.params
        if anomaly.anomaly_type == "relocation":
            district = params["district_code"]
            self._emit(
                ent,
                self._office_ts(anomaly.onset),
                {
                    "change": "address",
                    "district_code": district,
                    "in_park": False,
                    "address": relocation_address(run.rng, district),
                },
            )
            moved = self._office_ts(date.fromisoformat(params["moved_out_date"]))
            run.end_ts[ent.index] = moved
            self._emit(ent, moved, {"change": "status", "status": "moved_out"})
        elif anomaly.anomaly_type == "legal_rep_churn":
            for text in params["change_dates"]:
                ent.legal_rep = person_name(run.rng)
                self._emit(
                    ent,
                    self._office_ts(date.fromisoformat(text)),
                    {"change": "legal_representative", "legal_representative": ent.legal_rep},
                )
        elif anomaly.anomaly_type == "abnormal_operation":
            self._emit(
                ent, self._office_ts(anomaly.onset), {"change": "status", "status": "abnormal_operation"}
            )

    def social_security_day(
        self, ent: Enterprise, anomaly: InjectedAnomaly | None, month: int, day: date
    ) -> date:
        """A relocating enterprise files its onset month (showing the headcount drop) before it leaves."""
        if (
            anomaly is None
            or anomaly.anomaly_type != "relocation"
            or month != month_index(anomaly.onset_period)
        ):
            return day
        room = (date.fromisoformat(anomaly.params["moved_out_date"]) - anomaly.onset).days
        return anomaly.onset + timedelta(days=self.run.rng.randrange(0, max(1, room)))

    def random_changes(
        self, ent: Enterprise, anomaly: InjectedAnomaly | None, days: tuple[date, ...]
    ) -> None:
        rng = self.run.rng
        if anomaly is not None and anomaly.anomaly_type in _QUIET_TYPES:
            return
        roll = rng.random()
        fields: dict[str, Any]
        if roll < _INJECTION[ent.stage]:
            amount = max(100_000, int(round(ent.capital * rng.uniform(0.1, 1.0), -4)))
            ent.capital += amount
            fields = {
                "change": "shareholder",
                "registered_capital": money(ent.capital),
                "shareholder": {"name": investor_name(rng), "capital_injection": money(amount)},
            }
        elif (roll := roll - _INJECTION[ent.stage]) < _ADDRESS:
            ent.address = address(rng, ent.district)
            fields = {
                "change": "address",
                "district_code": ent.district,
                "in_park": ent.in_park,
                "address": ent.address,
            }
        elif (roll := roll - _ADDRESS) < _LEGAL_REP:
            ent.legal_rep = person_name(rng)
            fields = {"change": "legal_representative", "legal_representative": ent.legal_rep}
        elif (roll := roll - _LEGAL_REP) < _NAME:
            ent.name = company_name(rng, ent.industry, large=ent.capital > 1e8)
            fields = {"change": "name", "name": ent.name}
        elif roll - _NAME < _SCOPE:
            fields = {
                "change": "business_scope",
                "business_scope": f"{ent.industry.scope}；{rng.choice(_EXTRA_SCOPE)}",
            }
        else:
            return
        self._emit(ent, self._office_ts(days[rng.randrange(0, len(days))]), fields)
