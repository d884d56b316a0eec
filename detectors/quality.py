"""Cross-source contradiction checks on an enterprise's state after an event (pure).

Each check compares what the register says (the profile and its provenance) with what a
filing says, or two filings with each other, and returns :class:`~schemas.quality.QualityFinding`
objects. A filing is compared with the register only when it is not older, in business
time, than the register's value — a late filing of the old name is not a contradiction.
:func:`contradictions` drops findings the state has reported already (``state.quality``)
and returns the ids to remember.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from schemas import Event, InvoiceSummary, SocialSecurityFiling, TaxFiling, business_month
from schemas.quality import CATALOGUE, QualityCheck, QualityFinding
from schemas.state import MAX_QUALITY_FINDINGS, EnterpriseState

EXITED = {"deregistered": "注销", "revoked": "吊销"}
HEADCOUNT_MIN_GAP = 5
HEADCOUNT_MIN_SHARE = 0.3


def _finding(after: EnterpriseState, event: Event, check: QualityCheck, subject: str, sources: list[str],
             event_ids: list[str], evidence: dict[str, Any], now: datetime) -> QualityFinding:  # fmt: skip
    entry = CATALOGUE[check]
    digest = hashlib.blake2b(f"{after.uscc}|{check.value}|{subject}".encode(), digest_size=8).hexdigest()
    return QualityFinding(
        finding_id=digest, uscc=after.uscc, check=check, severity=entry.severity, subject=subject,
        sources=sources, event_ids=[e for e in event_ids if e], evidence=evidence,
        explanation_zh=entry.explain_zh(**evidence), explanation_en=entry.explain_en(**evidence),
        occurred_at=event.occurred_at, detected_at=now,
    )  # fmt: skip


def _register(after: EnterpriseState, name: str) -> tuple[str, str, str, date] | None:
    """(value, source, event_id, business date) of the register's view of field ``name``."""
    trail = after.provenance.get(name)
    if trail is None or trail.set_by is None or trail.set_by not in trail.claims:
        return None
    value, event_id, day = trail.claims[trail.set_by]
    return value, trail.set_by, event_id, day


def _month_end(month: str) -> date:
    year, mon = int(month[:4]), int(month[5:7])
    return date(year + mon // 12, mon % 12 + 1, 1)


def _versus_register(after: EnterpriseState, event: Event, field: str, check: QualityCheck,
                     now: datetime) -> list[QualityFinding]:  # fmt: skip
    filed = getattr(event, field, None)
    register = _register(after, field)
    if filed is None or register is None:
        return []
    value, source, event_id, day = register
    month = business_month(event)
    if filed == value or day >= _month_end(month):
        return []
    evidence = {"registered": value, "filed": filed, "source": event.source, "period": month}
    return [_finding(after, event, check, f"{event.source}:{value}≠{filed}", [source, event.source],
                     [event_id, event.event_id], evidence, now)]  # fmt: skip


def _after_exit(after: EnterpriseState, event: Event, now: datetime) -> list[QualityFinding]:
    register = _register(after, "status")
    if after.status not in EXITED or register is None:
        return []
    _, source, event_id, exit_day = register
    month = business_month(event)
    if month <= exit_day.strftime("%Y-%m"):
        return []
    evidence = {"status": after.status, "status_zh": EXITED[after.status], "exit_date": exit_day.isoformat(),
                "source": event.source, "period": month}  # fmt: skip
    return [_finding(after, event, QualityCheck.FILING_AFTER_EXIT, f"{after.status}:{exit_day.isoformat()}",
                     [source, event.source], [event_id, event.event_id], evidence, now)]  # fmt: skip


def _headcounts(after: EnterpriseState, event: Event, now: datetime) -> list[QualityFinding]:
    if not isinstance(event, TaxFiling | SocialSecurityFiling):
        return []
    withheld = after.withheld.get(event.period)
    insured = after.monthly.by_period("headcount").get(event.period)
    if withheld is None or insured is None:
        return []
    gap = abs(int(insured) - withheld)
    if gap < max(HEADCOUNT_MIN_GAP, HEADCOUNT_MIN_SHARE * max(insured, withheld)):
        return []
    evidence = {"period": event.period, "insured": int(insured), "withheld": withheld, "difference": gap}
    sources = sorted({event.source, *(s for s in ("hrss", "tax") if s != event.source)})
    return [_finding(after, event, QualityCheck.HEADCOUNT_PAYROLL_MISMATCH, event.period, sources,
                     [event.event_id], evidence, now)]  # fmt: skip


def _districts(after: EnterpriseState, event: Event, now: datetime) -> list[QualityFinding]:
    if not isinstance(event, TaxFiling | SocialSecurityFiling) or event.district_code is None:
        return []
    trail = after.provenance.get("district_code")
    if trail is None:
        return []
    filings = {s: c for s, c in trail.claims.items() if s != trail.set_by}
    districts = sorted({c[0] for c in filings.values()})
    if len(districts) < 2:
        return []
    evidence = {"districts": ", ".join(f"{s} {c[0]}" for s, c in sorted(filings.items()))}
    return [_finding(after, event, QualityCheck.MULTI_DISTRICT_FILING, "|".join(districts), sorted(filings),
                     [c[1] for _, c in sorted(filings.items())], evidence, now)]  # fmt: skip


def contradictions(after: EnterpriseState, event: Event, now: datetime) -> tuple[list[QualityFinding], list[str]]:
    """New findings the event reveals, and the state's remembered finding ids afterwards."""
    if not isinstance(event, TaxFiling | SocialSecurityFiling | InvoiceSummary):
        return [], after.quality
    found = [
        *_after_exit(after, event, now),
        *_headcounts(after, event, now),
        *_districts(after, event, now),
    ]
    if isinstance(event, SocialSecurityFiling | TaxFiling):
        found += _versus_register(after, event, "name", QualityCheck.NAME_MISMATCH, now)
        found += _versus_register(after, event, "legal_representative", QualityCheck.LEGAL_REP_MISMATCH, now)
    if isinstance(event, SocialSecurityFiling):
        found += _versus_register(after, event, "district_code", QualityCheck.DISTRICT_MISMATCH, now)
    new = [f for f in found if f.finding_id not in after.quality]
    if not new:
        return [], after.quality
    return new, [*after.quality, *(f.finding_id for f in new)][-MAX_QUALITY_FINDINGS:]
