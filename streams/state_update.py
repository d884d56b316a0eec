"""Applying one event to an enterprise's state: pure, idempotent, order-tolerant.

* A repeated ``event_id`` (among the last N seen) changes nothing but the duplicate count.
* Period filings are written into the slot of their period, so an amendment for the same
  (period, tax type) replaces the earlier value and a late filing lands in its own month
  whatever order it arrives in. A filing older than the 36-month window is counted but not
  stored.
* Daily e-invoice summaries do the same in a 90-day window; a repeated day replaces.
* Capital injections (each one counts), legal-representative changes (one per day) and
  overdue filings (one per period, an amendment replaces) are short bounded lists.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime
from typing import Any

from schemas import (
    EnterpriseState,
    Event,
    InvoiceSummary,
    RegistrationEvent,
    SocialSecurityFiling,
    TaxFiling,
    TaxType,
    business_month,
)
from schemas.events import SHANGHAI
from schemas.state import (
    DIGEST_CHARS,
    MAX_DAYS,
    MAX_INJECTIONS,
    MAX_MONTHS,
    MAX_OVERDUE,
    MAX_REP_CHANGES,
    MAX_WITHHELD,
    MONTHLY_SERIES,
    NULLABLE_SERIES,
    SPARSE_SERIES,
    DailyInvoices,
    MonthlySeries,
    month_index,
    month_text,
)
from streams.provenance import updated_provenance


def event_digest(event_id: str) -> str:
    """An 8-character digest of an event id: what the state remembers for idempotency
    (``recent_event_ids`` is the concatenation of the last N digests).

    Event ids are producer-chosen and may be long; the digest keeps the remembered window
    compact. 48 bits: a false duplicate needs a collision with one of the last N ids of the
    same enterprise (probability N / 2**48 per event).
    """
    return base64.urlsafe_b64encode(hashlib.blake2b(event_id.encode(), digest_size=6).digest()).decode()


def _seen(recent: str, digest: str) -> bool:
    """Whether ``digest`` is one of the fixed-width digests in ``recent``."""
    at = recent.find(digest)
    while at >= 0:
        if at % DIGEST_CHARS == 0:
            return True
        at = recent.find(digest, at + 1)
    return False


def _slot(series: MonthlySeries, period: str) -> int | None:
    """Position of ``period`` in the window, growing or sliding it; ``None`` if too old."""
    month = month_index(period)
    first = series.first
    if first is None:
        series.start = period
        _extend(series, 1, front=False)
        return 0
    last = first + len(series) - 1
    if month > last:
        _extend(series, month - last, front=False)
        overflow = len(series) - MAX_MONTHS
        if overflow > 0:
            _drop_front(series, overflow)
            series.start = month_text(first + overflow)
    elif month < first:
        if last - month >= MAX_MONTHS:
            return None
        _extend(series, first - month, front=True)
        series.start = period
    assert series.first is not None
    return month - series.first


def _extend(series: MonthlySeries, n: int, front: bool) -> None:
    for name in MONTHLY_SERIES:
        values: list[int | None] = getattr(series, name)
        pad: list[int | None] = [None if name in NULLABLE_SERIES else 0] * n
        values[:] = pad + values if front else values + pad


def _drop_front(series: MonthlySeries, n: int) -> None:
    for name in MONTHLY_SERIES:
        del getattr(series, name)[:n]
    assert series.start is not None
    start = month_text(month_index(series.start) + n)
    for name in SPARSE_SERIES:
        sparse: dict[str, int] = getattr(series, name)
        for period in [p for p in sparse if p < start]:
            del sparse[period]


def _set_sparse(sparse: dict[str, int], period: str, value: int) -> None:
    if value:
        sparse[period] = value
    else:
        sparse.pop(period, None)


def _day_slot(inv: DailyInvoices, day: date) -> int | None:
    if inv.start is None:
        inv.start, inv.count, inv.amount = day, [0], [0]
        return 0
    offset = (day - inv.start).days
    if offset >= len(inv.count):
        grow = offset - len(inv.count) + 1
        inv.count += [0] * grow
        inv.amount += [0] * grow
        overflow = len(inv.count) - MAX_DAYS
        if overflow > 0:
            del inv.count[:overflow], inv.amount[:overflow]
            inv.start = date.fromordinal(inv.start.toordinal() + overflow)
            offset -= overflow
    elif offset < 0:
        if len(inv.count) - offset > MAX_DAYS:
            return None
        inv.count[:0] = [0] * -offset
        inv.amount[:0] = [0] * -offset
        inv.start, offset = day, 0
    return offset


def _keyed(items: list[tuple[str, int]], key: str, value: int, limit: int) -> list[tuple[str, int]]:
    kept = [item for item in items if item[0] != key] + [(key, value)]
    return sorted(kept)[-limit:]


def _apply_registration(state: EnterpriseState, event: RegistrationEvent) -> None:
    day = event.occurred_at.astimezone(SHANGHAI).date()
    if event.change == "establishment":
        state.established = day.isoformat()
    if (
        event.change == "legal_representative"
        and event.legal_representative is not None
        and event.legal_representative != state.legal_representative
        and state.legal_representative is not None
    ):
        state.rep_changes = sorted({*state.rep_changes, day})[-MAX_REP_CHANGES:]
    for attr in ("name", "district_code", "in_park", "industry_code", "legal_representative"):
        value = getattr(event, attr)
        if value is not None:
            setattr(state, attr, value)
    if event.registered_capital is not None:
        state.registered_capital = float(event.registered_capital)
    if event.shareholder is not None and event.shareholder.capital_injection > 0:
        entry = (day.strftime("%Y-%m"), round(event.shareholder.capital_injection))
        state.injections = sorted([*state.injections, entry])[-MAX_INJECTIONS:]
    if event.status is not None:
        state.status = event.status.value


def _apply_tax(state: EnterpriseState, event: TaxFiling) -> None:
    state.high_tech = event.high_tech
    if event.credit_grade is not None:
        state.credit_grade = event.credit_grade.value
    state.overdue_days = event.overdue_days
    if event.overdue_days > 0:
        state.overdue = _keyed(state.overdue, event.period, event.overdue_days, MAX_OVERDUE)
    pos = _slot(state.monthly, event.period)
    if pos is None:
        return
    m = state.monthly
    if event.tax_type == TaxType.VAT:
        m.revenue[pos] = round(event.sales_revenue)
        m.vat_payable[pos] = round(event.tax_payable)
        _set_sparse(m.vat_unpaid, event.period, round(event.tax_payable) - round(event.tax_paid))
    else:
        m.cit_payable[pos] = round(event.tax_payable)
        _set_sparse(m.cit_unpaid, event.period, round(event.tax_payable) - round(event.tax_paid))
        m.rd_expense[pos] = round(event.rd_expense)


def _apply_social_security(state: EnterpriseState, event: SocialSecurityFiling) -> None:
    pos = _slot(state.monthly, event.period)
    if pos is None:
        return
    m = state.monthly
    m.headcount[pos] = event.insured_headcount
    m.contribution_base[pos] = round(event.contribution_base)
    m.ss_paid[pos] = round(event.paid)
    _set_sparse(m.arrears, event.period, round(event.arrears))


def _apply_invoice(state: EnterpriseState, event: InvoiceSummary) -> None:
    pos = _day_slot(state.invoices, event.date)
    if pos is not None:
        state.invoices.count[pos] = event.invoices_issued
        state.invoices.amount[pos] = round(event.amount)


def _business_date(event: Event) -> date:
    if isinstance(event, InvoiceSummary):
        return event.date
    day = event.occurred_at.astimezone(SHANGHAI).date()
    if isinstance(event, TaxFiling | SocialSecurityFiling):
        # a filing is known no earlier than the end of its own period
        return max(day, date.fromisoformat(business_month(event) + "-01"))
    return day


def _copy_for_update(state: EnterpriseState, event: Event) -> EnterpriseState:
    """A copy that shares nothing this module or the alert lifecycle mutates.

    Cheaper than a deep copy: the series that ``event`` cannot touch are shared (they are
    replaced, never mutated, by every writer).
    """
    new = state.model_copy()
    new.counts = dict(state.counts)
    new.open_alerts = {k: v.model_copy() for k, v in state.open_alerts.items()}
    new.alert_episodes = dict(state.alert_episodes)
    new.positions = dict(state.positions)
    if isinstance(event, TaxFiling | SocialSecurityFiling):
        m = state.monthly
        fields: dict[str, Any] = {name: list(getattr(m, name)) for name in MONTHLY_SERIES}
        fields.update({name: dict(getattr(m, name)) for name in SPARSE_SERIES})
        new.monthly = MonthlySeries.model_construct(start=m.start, **fields)
    elif isinstance(event, InvoiceSummary):
        inv = state.invoices
        new.invoices = DailyInvoices.model_construct(start=inv.start, count=list(inv.count), amount=list(inv.amount))
    return new


def apply_event(
    state: EnterpriseState | None, event: Event, now: datetime, keep_ids: int
) -> tuple[EnterpriseState, bool]:
    """Return the new state and whether the event was applied (False: a duplicate).

    The input state is not modified.
    """
    state = _copy_for_update(state, event) if state is not None else EnterpriseState(uscc=event.uscc)
    digest = event_digest(event.event_id)
    if _seen(state.recent_event_ids, digest):
        state.duplicates += 1
        return state, False
    state.recent_event_ids = (state.recent_event_ids + digest)[-keep_ids * DIGEST_CHARS :]
    state.counts[event.kind] = state.counts.get(event.kind, 0) + 1
    if isinstance(event, RegistrationEvent):
        _apply_registration(state, event)
    elif isinstance(event, TaxFiling):
        _apply_tax(state, event)
    elif isinstance(event, SocialSecurityFiling):
        _apply_social_security(state, event)
    elif isinstance(event, InvoiceSummary):
        _apply_invoice(state, event)
    seen = _business_date(event)
    state.provenance = updated_provenance(state.provenance, event, seen)
    if isinstance(event, TaxFiling) and event.withheld_employees is not None:
        kept = {**state.withheld, event.period: event.withheld_employees}
        state.withheld = dict(sorted(kept.items())[-MAX_WITHHELD:])
    if state.business_at is None or seen > state.business_at:
        state.business_at = seen
    state.applied += 1
    # the latest record time applied: the same whatever order the sources were read in
    state.updated_at = now if state.updated_at is None or now > state.updated_at else state.updated_at
    return state, True
