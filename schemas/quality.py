"""Cross-source contradictions (去伪存真): the catalogue of checks and the finding they produce.

Findings are for the data stewards who keep the one library clean — they are stored
(``data_quality_findings``, ``v_data_quality``) and shown on the dashboard's data-quality
panel, not sent to alert subscribers. The checks themselves are in :mod:`detectors.quality`.

>>> entry = CATALOGUE[QualityCheck.DISTRICT_MISMATCH]
>>> entry.explain_en(registered="330110", filed="330106", source="hrss", period="2025-03")
'Registered in district 330110, but hrss filed for 2025-03 in district 330106.'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas.outputs import Severity


class QualityCheck(StrEnum):
    DISTRICT_MISMATCH = "district_mismatch"
    FILING_AFTER_EXIT = "filing_after_exit"
    HEADCOUNT_PAYROLL_MISMATCH = "headcount_payroll_mismatch"
    MULTI_DISTRICT_FILING = "multi_district_filing"
    NAME_MISMATCH = "name_mismatch"
    LEGAL_REP_MISMATCH = "legal_rep_mismatch"


@dataclass(frozen=True, slots=True)
class QualityCheckEntry:
    check: QualityCheck
    label_zh: str
    label_en: str
    severity: Severity
    template_zh: str
    template_en: str

    def explain_zh(self, **evidence: Any) -> str:
        return self.template_zh.format(**evidence)

    def explain_en(self, **evidence: Any) -> str:
        return self.template_en.format(**evidence)


def _entry(check: QualityCheck, zh: str, en: str, severity: Severity, tzh: str, ten: str) -> QualityCheckEntry:
    return QualityCheckEntry(check, zh, en, severity, tzh, ten)


CATALOGUE: dict[QualityCheck, QualityCheckEntry] = {e.check: e for e in (
    _entry(QualityCheck.DISTRICT_MISMATCH, "登记地与参保地不一致", "registered vs insured district", Severity.INFO,
           "登记所在区为 {registered}，但 {source} 在 {period} 的申报所在区为 {filed}。",
           "Registered in district {registered}, but {source} filed for {period} in district {filed}."),
    _entry(QualityCheck.FILING_AFTER_EXIT, "注销或吊销后仍有申报", "filings after exit", Severity.WARNING,
           "企业已于 {exit_date} {status_zh}，但 {source} 仍有 {period} 的申报。",
           "The enterprise was {status} on {exit_date}, yet {source} still filed for {period}."),
    _entry(QualityCheck.HEADCOUNT_PAYROLL_MISMATCH, "社保人数与个税扣缴人数不符", "insured vs payroll-tax headcount",
           Severity.WARNING,
           "{period} 社保参保 {insured} 人，个税扣缴 {withheld} 人，相差 {difference} 人。",
           "In {period}, {insured} employees are insured but payroll tax was withheld for {withheld} ({difference} apart)."),
    _entry(QualityCheck.MULTI_DISTRICT_FILING, "在两个区申报", "filing in two districts", Severity.WARNING,
           "各部门的申报分属不同的区：{districts}。",
           "Filings come from different districts: {districts}."),
    _entry(QualityCheck.NAME_MISMATCH, "企业名称不一致", "name differs between sources", Severity.INFO,
           "登记名称为“{registered}”，{source} 的申报名称为“{filed}”。",
           "Registered as “{registered}”, but {source} files as “{filed}”."),
    _entry(QualityCheck.LEGAL_REP_MISMATCH, "法定代表人不一致", "legal representative differs between sources",
           Severity.WARNING,
           "登记的法定代表人为 {registered}，{source} 记载为 {filed}。",
           "The register names {registered} as legal representative; {source} names {filed}."),
)}  # fmt: skip


class QualityFinding(BaseModel):
    """One contradiction between sources about one enterprise, with its evidence."""

    model_config = ConfigDict(frozen=True)

    finding_id: str  # stable: (enterprise, check, subject)
    uscc: str
    check: QualityCheck
    severity: Severity
    subject: str  # what contradicts what, e.g. "330110≠330106"
    sources: list[str]
    event_ids: list[str]
    evidence: dict[str, Any]
    explanation_zh: str
    explanation_en: str
    occurred_at: datetime  # business time of the event that revealed it
    detected_at: datetime


def catalogue_document() -> list[dict[str, str]]:
    """The catalogue as the dashboard reads it."""
    return [{"check": e.check.value, "label_zh": e.label_zh, "label_en": e.label_en, "severity": e.severity.value}
            for e in CATALOGUE.values()]  # fmt: skip
