"""The simulator: determinism, validity of every message, and ground truth that matches the stream."""

from __future__ import annotations

import hashlib
import inspect
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import mean

import orjson
import pytest
from stdnum.cn import uscc as stdnum_uscc

from schemas.decode import decode_event
from schemas.errors import EventRejected
from schemas.events import (
    SHANGHAI,
    Event,
    InvoiceSummary,
    RegistrationEvent,
    SocialSecurityFiling,
    TaxFiling,
)
from simulator import (
    ANOMALY_TYPES,
    InjectedAnomaly,
    SimulatedMessage,
    SimulationConfig,
    default_end_month,
    ground_truth,
    read_truth,
    simulate,
    write_jsonl,
    write_truth,
)

NOW = datetime(2026, 11, 1, tzinfo=UTC)
CONFIG = SimulationConfig(enterprises=400, months=12, seed=7, anomaly_rate=0.3, end_month="2026-09")
WINDOW_END = datetime(2026, 10, 1, tzinfo=SHANGHAI)


@dataclass
class Decoded:
    """A run's messages decoded and indexed the way a consumer would see them."""

    messages: list[SimulatedMessage]
    events: list[Event] = field(default_factory=list)
    rejected: list[SimulatedMessage] = field(default_factory=list)
    vat: dict[str, dict[str, TaxFiling]] = field(default_factory=lambda: defaultdict(dict))
    ss: dict[str, dict[str, SocialSecurityFiling]] = field(default_factory=lambda: defaultdict(dict))
    invoices: dict[str, dict[date, float]] = field(default_factory=lambda: defaultdict(dict))
    registrations: dict[str, list[RegistrationEvent]] = field(default_factory=lambda: defaultdict(list))


def _digest(messages: list[SimulatedMessage]) -> str:
    h = hashlib.sha256()
    for m in messages:
        h.update(
            m.kind.encode() + b"\0" + m.key + b"\0" + m.value + b"\0" + m.business_time.isoformat().encode()
        )
    return h.hexdigest()


@pytest.fixture(scope="module")
def run() -> Decoded:
    decoded = Decoded(list(simulate(CONFIG)))
    for msg in decoded.messages:
        result = decode_event(msg.value, NOW)
        if isinstance(result, EventRejected):
            decoded.rejected.append(msg)
            continue
        decoded.events.append(result)
        if isinstance(result, TaxFiling) and result.tax_type == "vat":
            decoded.vat[result.uscc][result.period] = result  # later amendments replace
        elif isinstance(result, SocialSecurityFiling):
            decoded.ss[result.uscc][result.period] = result
        elif isinstance(result, InvoiceSummary):
            decoded.invoices[result.uscc][result.date] = float(result.amount)
        elif isinstance(result, RegistrationEvent):
            decoded.registrations[result.uscc].append(result)
    return decoded


@pytest.fixture(scope="module")
def truth() -> dict[str, InjectedAnomaly]:
    return {a.uscc: a for a in ground_truth(CONFIG)}


def _prev(period: str, k: int = 1) -> str:
    y, m = int(period[:4]), int(period[5:])
    i = y * 12 + m - 1 - k
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


# determinism -------------------------------------------------------------------------------
def test_same_seed_same_bytes(run: Decoded) -> None:
    assert _digest(list(simulate(CONFIG))) == _digest(run.messages)


def test_different_seed_different_bytes() -> None:
    small = SimulationConfig(enterprises=50, months=3, seed=1, end_month="2026-09")
    other = SimulationConfig(enterprises=50, months=3, seed=2, end_month="2026-09")
    assert _digest(list(simulate(small))) != _digest(list(simulate(other)))


def test_simulate_is_a_lazy_generator() -> None:
    stream = simulate(SimulationConfig(enterprises=30_000, months=12, end_month="2026-09"))
    assert inspect.isgenerator(stream)
    assert next(iter(stream)).kind == "registration"  # no need to build the whole run first


def test_default_end_month_is_last_month_in_shanghai() -> None:
    assert default_end_month(datetime(2026, 3, 1, 1, 0, tzinfo=SHANGHAI)) == "2026-02"
    assert default_end_month(datetime(2026, 1, 15, tzinfo=SHANGHAI)) == "2025-12"
    assert SimulationConfig().end_month == default_end_month()


# validity ----------------------------------------------------------------------------------
def test_every_valid_message_decodes_and_every_malformed_one_is_rejected(run: Decoded) -> None:
    wrong = [m for m in run.rejected if m.malformed is None]
    assert not wrong, decode_event(wrong[0].value, NOW)
    assert all(m.malformed is not None for m in run.rejected)
    assert len(run.rejected) == sum(1 for m in run.messages if m.malformed)


def test_malformed_share_matches_the_rate(run: Decoded) -> None:
    share = len(run.rejected) / len(run.messages)
    assert 0.5 * CONFIG.invalid_rate < share < 2 * CONFIG.invalid_rate
    assert len({m.malformed for m in run.rejected}) >= 6  # a mix of defects
    assert all(stdnum_uscc.is_valid(m.key.decode()) for m in run.rejected)


def test_keys_are_valid_usccs_matching_the_value(run: Decoded) -> None:
    keys = {m.key for m in run.messages}
    for key in keys:
        text = key.decode()
        assert stdnum_uscc.is_valid(text) and text.startswith("91")
        assert text[2:8] in {"330110", "330106", "330108", "330102", "330105", "330114"}
    for msg in run.messages[:5000]:
        if msg.malformed is None:
            assert orjson.loads(msg.value)["uscc"].encode() == msg.key


def test_messages_are_in_business_time_order_and_none_in_the_future(run: Decoded) -> None:
    times = [m.business_time for m in run.messages]
    assert times == sorted(times)
    assert all(t.tzinfo is not None for t in times)
    assert times[-1] < WINDOW_END
    for event in run.events:
        assert event.occurred_at < WINDOW_END
    for msg in run.messages[::50]:
        if not msg.malformed and not msg.duplicate:
            assert msg.business_time == datetime.fromisoformat(orjson.loads(msg.value)["occurred_at"])


def test_each_enterprise_starts_with_its_establishment(run: Decoded) -> None:
    first: dict[str, Event] = {}
    for event in run.events:
        first.setdefault(event.uscc, event)
    assert all(isinstance(e, RegistrationEvent) and e.change == "establishment" for e in first.values())


def test_duplicates_resend_identical_bytes(run: Decoded) -> None:
    first_seen: dict[bytes, SimulatedMessage] = {}
    ids: Counter[str] = Counter()
    duplicates = 0
    for msg in run.messages:
        if msg.malformed:
            continue
        ids[orjson.loads(msg.value)["event_id"]] += 1
        if msg.duplicate:
            duplicates += 1
            original = first_seen[msg.value]
            assert original.business_time <= msg.business_time and not original.duplicate
        else:
            assert msg.value not in first_seen
            first_seen[msg.value] = msg
    assert duplicates > 0
    assert sum(c - 1 for c in ids.values()) == duplicates  # only duplicates repeat an event_id


def test_amendments_share_key_with_an_earlier_filing(run: Decoded) -> None:
    filings: dict[tuple[str, str, str], list[TaxFiling]] = defaultdict(list)
    seen_ids: set[str] = set()
    for event in run.events:
        if isinstance(event, TaxFiling) and event.event_id not in seen_ids:
            seen_ids.add(event.event_id)
            filings[(event.uscc, event.period, event.tax_type)].append(event)
    amended = [v for v in filings.values() if len(v) > 1]
    assert amended
    for versions in amended:
        assert versions[0].occurred_at < versions[1].occurred_at
        assert len({v.event_id for v in versions}) == len(versions)


def test_late_filings_arrive_after_the_deadline(run: Decoded) -> None:
    late = [e for e in run.events if isinstance(e, TaxFiling) and e.overdue_days > 0]
    assert late
    for filing in late:
        deadline = date(
            int(filing.period[:4]) + int(filing.period[5:]) // 12, int(filing.period[5:]) % 12 + 1, 15
        )
        assert filing.occurred_at.astimezone(SHANGHAI).date() > deadline


def test_invoices_add_up_to_declared_revenue(run: Decoded) -> None:
    ratios = []
    for uscc, periods in run.vat.items():
        days = run.invoices.get(uscc, {})
        for period, filing in periods.items():
            revenue = float(filing.sales_revenue)
            invoiced = sum(a for d, a in days.items() if d.strftime("%Y-%m") == period)
            if revenue > 500_000 and invoiced > 0:
                ratios.append(invoiced / revenue)
    assert len(ratios) > 100
    assert 0.8 < sorted(ratios)[len(ratios) // 2] < 1.1


def test_population_looks_like_a_sci_tech_park(run: Decoded) -> None:
    established = [r for regs in run.registrations.values() for r in regs if r.change == "establishment"]
    assert len(established) >= 0.95 * CONFIG.enterprises
    sections = Counter((r.industry_code or "?")[0] for r in established)
    assert sections.most_common(1)[0][0] == "I"
    assert sum(r.in_park is True for r in established) > 0.8 * len(established)
    assert all(r.name and r.name.endswith("公司") for r in established)
    revenues = sorted(float(f.sales_revenue) for p in run.vat.values() for f in p.values())
    assert revenues[int(0.99 * len(revenues))] > 20 * revenues[len(revenues) // 2]  # heavy tail


# ground truth ------------------------------------------------------------------------------
def test_truth_round_trips_through_jsonl(tmp_path: Path, truth: dict[str, InjectedAnomaly]) -> None:
    path = tmp_path / "truth.jsonl"
    assert write_truth(path, truth.values()) == len(truth)
    assert read_truth(path) == list(truth.values())
    row = orjson.loads(path.read_bytes().splitlines()[0])
    assert set(row) == {"uscc", "anomaly_type", "onset", "onset_period", "description", "params"}


def test_truth_covers_the_requested_share_and_all_types(
    run: Decoded, truth: dict[str, InjectedAnomaly]
) -> None:
    assert len(truth) == round(CONFIG.anomaly_rate * CONFIG.enterprises)
    assert {a.anomaly_type for a in truth.values()} == set(ANOMALY_TYPES)
    keys = {m.key.decode() for m in run.messages}
    midpoint = date(2026, 4, 1)
    for anomaly in truth.values():
        assert anomaly.uscc in keys
        assert midpoint <= anomaly.onset < WINDOW_END.date()
        assert anomaly.onset.strftime("%Y-%m") == anomaly.onset_period


def _of(truth: dict[str, InjectedAnomaly], kind: str) -> list[InjectedAnomaly]:
    found = [a for a in truth.values() if a.anomaly_type == kind]
    assert found, kind
    return found


def _headcount_around(run: Decoded, a: InjectedAnomaly, gap: int = 1) -> tuple[int, int] | None:
    """Headcount in the last filing at least ``gap`` months before onset and in the first one at/after it.

    ``None`` when a filing needed is missing (2% arrive late, some after the window closed).
    """
    ss = run.ss[a.uscc]
    before = [p for p in ss if p <= _prev(a.onset_period, gap)]
    after = [p for p in ss if p >= a.onset_period]
    if not before or not after:
        return None
    return ss[max(before)].insured_headcount, ss[min(after)].insured_headcount


def _checked(found: list[InjectedAnomaly], checked: int) -> None:
    assert checked >= 0.8 * len(found), (checked, len(found))


def test_layoff_shows_a_headcount_drop(run: Decoded, truth: dict[str, InjectedAnomaly]) -> None:
    found, checked = _of(truth, "layoff"), 0
    for a in found:
        if (pair := _headcount_around(run, a)) is not None:
            before, after = pair
            assert after <= 0.7 * before, (a, before, after)
            checked += 1
    _checked(found, checked)


def test_relocation_moves_out_of_the_park(run: Decoded, truth: dict[str, InjectedAnomaly]) -> None:
    for a in _of(truth, "relocation"):
        regs = run.registrations[a.uscc]
        moves = [r for r in regs if r.change == "address" and r.in_park is False]
        assert moves and moves[0].district_code != "330110"
        assert moves[0].occurred_at.astimezone(SHANGHAI).date() == a.onset
        gone = [r for r in regs if r.status == "moved_out"]
        assert gone and gone[0].occurred_at > moves[0].occurred_at
        assert a.onset_period in run.ss[a.uscc]  # its last filing, before leaving, is never late
        pair = _headcount_around(run, a, gap=2)
        assert pair is not None and pair[1] < pair[0]
        filings_after = [
            e
            for e in run.events
            if e.uscc == a.uscc
            and not isinstance(e, RegistrationEvent)
            and e.occurred_at > gone[0].occurred_at
        ]
        assert not filings_after


def test_zombie_files_zeros(run: Decoded, truth: dict[str, InjectedAnomaly]) -> None:
    for a in _of(truth, "zombie"):
        # the VAT return for the onset period may be filed late, after the window; SS is filed in-month
        after = [f for p, f in run.vat[a.uscc].items() if p >= a.onset_period]
        assert all(float(f.sales_revenue) == 0 and float(f.tax_payable) == 0 for f in after)
        after_ss = [f for p, f in run.ss[a.uscc].items() if p >= a.onset_period]
        assert after_ss and all(f.insured_headcount <= 2 for f in after_ss)
    zero_returns = [
        f for a in _of(truth, "zombie") for p, f in run.vat[a.uscc].items() if p >= a.onset_period
    ]
    assert zero_returns


def _revenue_around(run: Decoded, a: InjectedAnomaly) -> tuple[float, float] | None:
    """Mean VAT revenue of the three periods before onset and of the periods from onset on."""
    vat = run.vat[a.uscc]
    before = [float(vat[p].sales_revenue) for p in (_prev(a.onset_period, k) for k in (1, 2, 3)) if p in vat]
    after = [float(f.sales_revenue) for p, f in vat.items() if p >= a.onset_period]
    return (mean(before), mean(after)) if before and after else None


def test_tax_collapse_shows_a_revenue_drop(run: Decoded, truth: dict[str, InjectedAnomaly]) -> None:
    found, checked = _of(truth, "tax_collapse"), 0
    for a in found:
        if (pair := _revenue_around(run, a)) is not None:
            assert pair[1] <= 0.5 * pair[0], (a, pair)
            checked += 1
    _checked(found, checked)


def test_arrears_grow_after_onset(run: Decoded, truth: dict[str, InjectedAnomaly]) -> None:
    for a in _of(truth, "social_security_arrears"):
        series = [f for p, f in sorted(run.ss[a.uscc].items()) if p >= a.onset_period]
        assert series and float(series[0].arrears) > 0
        arrears = [float(f.arrears) for f in series]
        assert arrears == sorted(arrears)


def test_legal_rep_churn_has_three_changes_in_a_year(run: Decoded, truth: dict[str, InjectedAnomaly]) -> None:
    for a in _of(truth, "legal_rep_churn"):
        changes = [r.occurred_at for r in run.registrations[a.uscc] if r.change == "legal_representative"]
        assert len(changes) >= 3 and changes[2] - changes[0] < timedelta(days=365)
        assert changes[0].astimezone(SHANGHAI).date() == a.onset


def test_payroll_tax_mismatch_diverges(run: Decoded, truth: dict[str, InjectedAnomaly]) -> None:
    found, checked = _of(truth, "payroll_tax_mismatch"), 0
    for a in found:
        heads, revenue = _headcount_around(run, a), _revenue_around(run, a)
        assert heads is None or heads[1] > 1.15 * heads[0]
        assert revenue is None or revenue[1] < 0.65 * revenue[0]
        checked += heads is not None and revenue is not None
    _checked(found, checked)


def _daily_mean(days: dict[date, float], start: date, count: int) -> float:
    return sum(days.get(start + timedelta(days=i), 0.0) for i in range(count)) / count


@pytest.mark.parametrize(("kind", "low", "high"), [("invoice_spike", 2.5, 1e9), ("invoice_drop", 0.0, 0.35)])
def test_invoice_anomalies_change_daily_amounts(
    run: Decoded, truth: dict[str, InjectedAnomaly], kind: str, low: float, high: float
) -> None:
    for a in _of(truth, kind):
        days = run.invoices[a.uscc]
        duration = a.params["duration_days"]
        before = _daily_mean(days, a.onset - timedelta(days=28), 28)
        during = _daily_mean(days, a.onset, duration)
        assert low * before <= during <= high * before, (a, before, during)


def test_abnormal_operation_listing(run: Decoded, truth: dict[str, InjectedAnomaly]) -> None:
    for a in _of(truth, "abnormal_operation"):
        listed = [r for r in run.registrations[a.uscc] if r.status == "abnormal_operation"]
        assert listed and listed[0].occurred_at.astimezone(SHANGHAI).date() == a.onset


def test_normal_enterprises_rarely_look_anomalous(run: Decoded, truth: dict[str, InjectedAnomaly]) -> None:
    churn = [
        u
        for u, regs in run.registrations.items()
        if u not in truth and sum(r.change == "legal_representative" for r in regs) >= 3
    ]
    moved = [
        u
        for u, regs in run.registrations.items()
        if u not in truth and regs[0].in_park and any(r.in_park is False for r in regs)
    ]
    assert not churn and not moved


def test_no_daily_invoices_and_no_invoice_anomalies() -> None:
    config = SimulationConfig(
        enterprises=200, months=6, seed=3, daily_invoices=False, anomaly_rate=0.5, end_month="2026-09"
    )
    kinds = {
        orjson.loads(m.value).get("record") for m in simulate(config) if m.kind == "tax" and not m.malformed
    }
    assert kinds == {"filing"}
    assert not {a.anomaly_type for a in ground_truth(config)} & {"invoice_spike", "invoice_drop"}


def test_write_jsonl(tmp_path: Path) -> None:
    config = SimulationConfig(enterprises=20, months=2, seed=5, end_month="2026-09", invalid_rate=0.2)
    messages = list(simulate(config))
    path = tmp_path / "events.jsonl"
    assert write_jsonl(path, messages) == len(messages)
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [r["value"].encode() for r in rows] == [m.value for m in messages]
    assert [r["key"].encode() for r in rows] == [m.key for m in messages]


def test_short_windows_have_no_anomalies_but_still_run() -> None:
    config = SimulationConfig(enterprises=30, months=1, seed=1, end_month="2026-09")
    assert ground_truth(config) == []
    assert any(m.kind == "social_security" for m in simulate(config))
