"""Applying one event to an enterprise's state: pure, idempotent, order-tolerant.

* A repeated ``event_id`` (among the last N seen) changes nothing but the duplicate count.
* Period filings are stored by period, so an amendment replaces the earlier value and a
  late filing lands in its own month whatever order it arrives in.
"""

from __future__ import annotations

from datetime import datetime

from schemas import (
    EnterpriseState,
    Event,
    InvoiceSummary,
    RegistrationEvent,
    SocialSecurityFiling,
    TaxFiling,
    TaxType,
)
from schemas.state import MAX_MONTHS


def _bounded(series: dict[str, float] | dict[str, int]) -> None:
    while len(series) > MAX_MONTHS:
        del series[min(series)]


def _apply_registration(state: EnterpriseState, event: RegistrationEvent) -> None:
    if event.change == "establishment":
        state.established = event.occurred_at.date().isoformat()
    for attr in ("name", "district_code", "in_park", "industry_code", "legal_representative"):
        value = getattr(event, attr)
        if value is not None:
            setattr(state, attr, value)
    if event.registered_capital is not None:
        state.registered_capital = float(event.registered_capital)
    if event.status is not None:
        state.status = event.status.value


def apply_event(
    state: EnterpriseState | None, event: Event, now: datetime, keep_ids: int
) -> tuple[EnterpriseState, bool]:
    """Return the new state and whether the event was applied (False: a duplicate)."""
    state = state.model_copy(deep=True) if state is not None else EnterpriseState(uscc=event.uscc)
    if event.event_id in state.recent_event_ids:
        state.duplicates += 1
        return state, False
    state.recent_event_ids.append(event.event_id)
    del state.recent_event_ids[:-keep_ids]
    state.counts[event.kind] = state.counts.get(event.kind, 0) + 1
    if isinstance(event, RegistrationEvent):
        _apply_registration(state, event)
    elif isinstance(event, TaxFiling):
        if event.tax_type == TaxType.VAT:
            state.revenue[event.period] = float(event.sales_revenue)
            _bounded(state.revenue)
    elif isinstance(event, SocialSecurityFiling):
        state.headcount[event.period] = event.insured_headcount
        _bounded(state.headcount)
    elif isinstance(event, InvoiceSummary):
        pass  # daily series arrive with the scoring state
    state.applied += 1
    state.updated_at = now
    return state, True
