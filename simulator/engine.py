"""The streaming engine: plans each month, then emits day by day in business-time order.

Memory is O(enterprises): the population, one month of scheduled filings and registration
changes in per-day buckets, and one day of invoice summaries at a time.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from simulator.anomalies import InjectedAnomaly, plan_anomalies
from simulator.config import SimulationConfig, month_index, month_text
from simulator.confounders import plan_confounders
from simulator.dynamics import MonthFigures, advance, cit_payable
from simulator.library import LibraryPlan
from simulator.malformed import corrupt
from simulator.payloads import amended, cit_filing, envelope, invoice, money, social_security, vat_filing
from simulator.population import Enterprise, build_population
from simulator.registry import RegistryChanges
from simulator.seasons import day_activity, day_start_ts, local_datetime, month_days, ts_day


@dataclass(frozen=True, slots=True)
class SimulatedMessage:
    """One message as a producer would send it to the ``kind`` topic.

    ``business_time`` is when the simulated producer sends it: the event's ``occurred_at``,
    except for a duplicate, which re-sends an earlier value unchanged a little later.
    ``malformed`` names the defect of a deliberately broken message (``None`` for valid ones).
    """

    kind: str
    key: bytes
    value: bytes
    business_time: datetime
    malformed: str | None = None
    duplicate: bool = False


# (ts, seq, kind, key, value, malformed, duplicate); seq makes the order total and stable
_Entry = tuple[int, int, str, bytes, bytes, str | None, bool]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, count, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class _Run:
    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.population = build_population(config)
        self.plan = plan_anomalies(self.population, config)
        self.profile = config.profile_settings
        self.confounders = plan_confounders(self.population, self.plan, config)
        self.rng = random.Random(f"{config.seed}:events")
        self.noise = random.Random(f"{config.seed}:delivery")  # late / duplicate / malformed draws
        self.run_id = config.run_id
        self.seq = 0
        self.buckets: defaultdict[int, list[_Entry]] = defaultdict(list)
        last_day = month_days(config.last_month)[-1]
        self.window_end = day_start_ts(last_day) + 86_399
        self.last: list[MonthFigures | None] = [None] * len(self.population)
        self.invoice_revenue = [0.0] * len(self.population)
        self.start_ts = [0] * len(self.population)
        self.end_ts = [self.window_end + 1] * len(self.population)
        self.registry = RegistryChanges(self)
        self.library = LibraryPlan(config, self.population)

    # scheduling ------------------------------------------------------------------------
    def next_id(self) -> str:
        self.seq += 1
        return f"{self.run_id}-{self.seq:09x}"

    def schedule(self, ts: int, ent: Enterprise, kind: str, fields: dict[str, Any]) -> None:
        """Queue one valid event (and maybe its duplicate or a malformed sibling)."""
        if (
            ts > self.window_end
            or ts >= self.end_ts[ent.index]
            and fields.get("status") not in ("moved_out", "deregistered")
        ):
            return
        payload = envelope(self.next_id(), ent.uscc, kind, ts)
        payload.update(fields)
        key = ent.uscc.encode()
        if self.library.active:
            key = self._one_library(ent, kind, fields, payload) or key
        # orjson leaves a ~4 KB buffer behind each result; queued values are copied to exact size
        value = bytes(memoryview(orjson.dumps(payload)))
        self.buckets[ts_day(ts)].append((ts, self.seq, kind, key, value, None, False))
        config, noise = self.config, self.noise
        if config.duplicate_rate and noise.random() < config.duplicate_rate:
            self._put(ts + noise.randint(1, 7200), kind, key, value, None, True)
        if config.invalid_rate and noise.random() < config.invalid_rate:
            broken, defect = corrupt(value, noise)
            self._put(ts + noise.randint(0, 600), kind, key, broken, defect, False)

    def _one_library(
        self, ent: Enterprise, kind: str, fields: dict[str, Any], payload: dict[str, Any]
    ) -> bytes | None:
        """Add what the department knows; maybe name the enterprise by a legacy identifier (the new key)."""
        library = self.library
        if fields.get("change") == "establishment":
            payload.update(library.establishment_fields(ent))
        last = self.last[ent.index]
        heads = fields.get("insured_headcount", last.headcount if last is not None else None)
        payload.update(library.filing_fields(ent, kind, fields, heads))
        legacy = library.legacy(ent, kind)
        if legacy is None:
            return None
        scheme, identifier = legacy
        del payload["uscc"]
        payload[scheme] = identifier
        return identifier.encode()

    def _put(self, ts: int, kind: str, key: bytes, value: bytes, defect: str | None, duplicate: bool) -> None:
        if ts <= self.window_end:
            self.seq += 1
            self.buckets[ts_day(ts)].append((ts, self.seq, kind, key, value, defect, duplicate))

    def file(
        self,
        ent: Enterprise,
        kind: str,
        ts: int,
        deadline: date,
        fields: dict[str, Any],
        late_ok: bool = True,
    ) -> None:
        """Queue a period filing; it may arrive late (with overdue days) and may be amended later."""
        noise = self.noise
        if late_ok and noise.random() < self.config.late_rate:
            late_day = deadline + timedelta(days=noise.randint(3, 75))
            ts = day_start_ts(late_day) + noise.randint(9 * 3600, 18 * 3600)
            if "overdue_days" in fields:
                fields["overdue_days"] = (late_day - deadline).days
        self.schedule(ts, ent, kind, fields)
        if self.config.amendment_rate and noise.random() < self.config.amendment_rate:
            factor = 1.0 + noise.choice((-1, 1)) * noise.uniform(0.02, 0.15)
            self.schedule(ts + noise.randint(3, 90) * 86400, ent, kind, amended(fields, factor))

    # the month plan ----------------------------------------------------------------------
    def warm_up(self) -> None:
        first = self.config.first_month
        for ent in self.population:
            anomaly = self.plan.get(ent.uscc)
            if ent.founded < first:
                figures = advance(
                    ent, first - 1, anomaly, self.rng, self.profile, self.confounders.get(ent.uscc, ())
                )
                self._close_month(ent, figures)
                self.registry.establish(
                    ent, day_start_ts(month_days(first)[0]) + self.rng.randint(0, 8 * 3600)
                )
        self.registry.plan_endings(self.plan)

    def _close_month(self, ent: Enterprise, figures: MonthFigures) -> None:
        if figures.month % 3 == 0:
            ent.quarter_revenue, ent.quarter_months = 0.0, 0
        ent.quarter_revenue += figures.revenue
        ent.quarter_months += 1
        self.last[ent.index] = figures
        self.invoice_revenue[ent.index] = figures.revenue * ent.invoiced_share

    def plan_month(self, month: int) -> None:
        days = month_days(month)
        rng = self.rng
        for ent in self.population:
            if ent.founded > month or self.end_ts[ent.index] <= day_start_ts(days[0]):
                self.invoice_revenue[ent.index] = 0.0
                continue
            anomaly = self.plan.get(ent.uscc)
            first_day = 4  # a newly founded enterprise files nothing before its establishment
            if ent.founded == month:
                established = rng.randrange(0, 10)
                first_day = max(first_day, established + 1)
                self.registry.establish(
                    ent, day_start_ts(days[established]) + rng.randint(9 * 3600, 17 * 3600)
                )
            self._file_previous(ent, month, anomaly)
            found = self.confounders.get(ent.uscc, ())
            figures = advance(ent, month, anomaly, rng, self.profile, found)
            self._close_month(ent, figures)
            for c in found:
                if c.situation == "capital_increase" and c.start == days[0]:
                    self._capital_increase(ent, c.params, days)
            default_day = days[rng.randrange(first_day, 25)]
            ss_day = self.registry.social_security_day(ent, anomaly, month, default_day)
            self.file(
                ent,
                "social_security",
                day_start_ts(ss_day) + rng.randint(9 * 3600, 18 * 3600),
                days[24],
                _ss_fields(figures),
                late_ok=ss_day == default_day,  # a relocating firm's last filing is never late
            )
            if ent.founded < month:
                self.registry.random_changes(ent, anomaly, days)

    def _capital_increase(self, ent: Enterprise, params: dict[str, Any], days: tuple[date, ...]) -> None:
        """A confounder: new shareholders raise the registered capital (hiring follows)."""
        amount = int(round(ent.capital * (params["capital_factor"] - 1.0), -4))
        ent.capital += amount
        day = days[min(params["day"], len(days) - 1)]
        fields = {
            "change": "shareholder",
            "registered_capital": money(ent.capital),
            "shareholder": {
                "name": "杭州未来产业投资合伙企业（有限合伙）",
                "capital_injection": money(amount),
            },
        }
        self.schedule(day_start_ts(day) + 10 * 3600, ent, "registration", fields)

    def _file_previous(self, ent: Enterprise, month: int, anomaly: InjectedAnomaly | None) -> None:
        prev = self.last[ent.index]
        if prev is None:
            return
        rng = self.rng
        days = month_days(month)
        ts = day_start_ts(days[rng.randrange(0, 15)]) + rng.randint(9 * 3600, 18 * 3600)
        irregular = (
            anomaly is not None
            and anomaly.anomaly_type == "abnormal_operation"
            and prev.month >= month_index(anomaly.onset_period)
        )
        if not (irregular and rng.random() < anomaly.params["missed_filing_share"]):  # type: ignore[union-attr]
            fields = vat_filing(
                ent, month_text(prev.month), prev.revenue, prev.vat_payable, prev.vat_payable, 0
            )
            if irregular:
                fields["overdue_days"] = rng.randint(20, 60)
                ts += fields["overdue_days"] * 86400
            self.file(ent, "tax", ts, days[14], fields, late_ok=not irregular)
        if prev.month % 3 == 2 and ent.quarter_months:
            quarter = ent.quarter_revenue * 3 / ent.quarter_months
            self.file(
                ent,
                "tax",
                ts + rng.randint(60, 3600),
                days[14],
                cit_filing(ent, month_text(prev.month), quarter, cit_payable(ent, quarter), 0),
            )

    # the day loop ----------------------------------------------------------------------
    def invoices(self, day: date, share: float) -> None:
        rng = self.rng
        start = day_start_ts(day)
        for ent in self.population:
            revenue = self.invoice_revenue[ent.index]
            if revenue <= 0.0 or start < self.start_ts[ent.index] or start >= self.end_ts[ent.index]:
                continue
            lam_month = revenue / ent.invoice_amount
            lam, per_invoice = lam_month * share, ent.invoice_amount
            anomaly = self.plan.get(ent.uscc)
            if anomaly is not None and anomaly.anomaly_type in ("invoice_spike", "invoice_drop"):
                offset = (day - anomaly.onset).days
                if 0 <= offset < anomaly.params["duration_days"]:
                    factor = anomaly.params["amount_factor"]
                    lam, per_invoice = (
                        (lam * math.sqrt(factor), per_invoice * math.sqrt(factor))
                        if factor > 1
                        else (lam * factor, per_invoice)
                    )
            count = _poisson(rng, lam)
            if count:
                amount = count * per_invoice * math.exp(rng.gauss(-0.03125, 0.25))
                self.schedule(start + 82_800 + rng.randint(0, 3599), ent, "tax", invoice(day, count, amount))

    def run(self) -> Iterator[SimulatedMessage]:
        self.warm_up()
        for month in range(self.config.first_month, self.config.last_month + 1):
            self.plan_month(month)
            days = month_days(month)
            festival = self.profile.seasons.festival
            activity = [day_activity(d, festival) for d in days]
            total = sum(activity)
            for day, act in zip(days, activity, strict=True):
                if self.config.daily_invoices:
                    self.invoices(day, act / total)
                entries = self.buckets.pop(day.toordinal(), [])
                entries.sort()
                for ts, _, kind, key, value, defect, duplicate in entries:
                    yield SimulatedMessage(kind, key, value, local_datetime(ts), defect, duplicate)


def _ss_fields(figures: MonthFigures) -> dict[str, Any]:
    return social_security(
        month_text(figures.month), figures.headcount, figures.contribution_base, figures.paid, figures.arrears
    )


def simulate(config: SimulationConfig) -> Iterator[SimulatedMessage]:
    """Stream every message of a run in business-time order; deterministic for a given config.

    A generator: nothing is built until the first message is requested.
    """
    yield from _Run(config).run()


def write_jsonl(path: str | Path, messages: Iterable[SimulatedMessage]) -> int:
    """Write messages as JSON Lines ``{"topic_kind", "key", "value", "business_time"}``; returns the count.

    ``value`` is embedded as a JSON string of the original bytes (UTF-8) so a replay sends the
    same bytes; malformed values that are not valid UTF-8 never occur (defects keep UTF-8).
    """
    written = 0
    with Path(path).open("wb") as out:
        for msg in messages:
            out.write(
                orjson.dumps(
                    {
                        "kind": msg.kind,
                        "key": msg.key.decode(),
                        "value": msg.value.decode(),
                        "business_time": msg.business_time.isoformat(),
                        **({"malformed": msg.malformed} if msg.malformed else {}),
                        **({"duplicate": True} if msg.duplicate else {}),
                    }
                )
                + b"\n"
            )
            written += 1
    return written
