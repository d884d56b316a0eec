"""The one catalogue of alert types: what each is called, how severe it usually is, and
how its resolution is explained, in Chinese and English.

The rules and models (``detectors/``) take their labels and usual severities from here;
the dashboard reads the same catalogue from ``GET /api/alert-types``
(:func:`catalogue_document`) instead of keeping labels of its own.

Examples
--------
>>> entry = CATALOGUE[AlertType.LAYOFF]
>>> entry.label_zh, entry.label_en, entry.severity.value
('参保人数骤降', 'layoffs', 'warning')
>>> entry.resolution_en(name="Acme")
'The layoffs condition no longer holds for Acme.'
>>> AlertType("invoice_drop") in CATALOGUE
True
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from schemas.outputs import Severity

__all__ = ["CATALOGUE", "DIAGNOSES", "SEVERITY_LABELS", "AlertType", "AlertTypeEntry", "catalogue_document",
           "diagnosis_labels"]


class AlertType(StrEnum):
    """Every alert type entbrain can raise (the ``alert_type`` of an alert)."""

    RELOCATION = "relocation"
    ENTERPRISE_EXIT = "enterprise_exit"
    ABNORMAL_OPERATION = "abnormal_operation"
    LEGAL_REP_CHURN = "legal_rep_churn"
    LAYOFF = "layoff"
    TAX_COLLAPSE = "tax_collapse"
    ZOMBIE = "zombie"
    SOCIAL_SECURITY_ARREARS = "social_security_arrears"
    PAYROLL_TAX_MISMATCH = "payroll_tax_mismatch"
    MISSING_FILINGS = "missing_filings"
    TAX_CREDIT_DOWNGRADE = "tax_credit_downgrade"
    INVOICE_SPIKE = "invoice_spike"
    INVOICE_DROP = "invoice_drop"
    INVOICE_ANOMALY = "invoice_anomaly"
    PEER_DIVERGENCE = "peer_divergence"
    LIST_CHANGE = "list_change"  # not a warning: an identification-list change, for proactive service
    SITUATION = "situation"  # one enterprise's open findings folded into one diagnosis (detectors/situations.py)


@dataclass(frozen=True, slots=True)
class AlertTypeEntry:
    """One alert type: labels, usual severity (some rules escalate), origin and a description."""

    alert_type: AlertType
    label_zh: str
    label_en: str
    severity: Severity
    source: str  # "rule", "model", "list" or "situation"
    description_zh: str
    description_en: str

    def resolution_zh(self, name: str) -> str:
        """Explanation of a resolved alert of this type for enterprise ``name``."""
        return f"{name} 的「{self.label_zh}」条件已不再成立。"

    def resolution_en(self, name: str) -> str:
        """Explanation of a resolved alert of this type for enterprise ``name``."""
        return f"The {self.label_en} condition no longer holds for {name}."

    def document(self) -> dict[str, Any]:
        """JSON-ready form (as served to the dashboard)."""
        return {
            "alert_type": self.alert_type.value,
            "label_zh": self.label_zh,
            "label_en": self.label_en,
            "severity": self.severity.value,
            "source": self.source,
            "description_zh": self.description_zh,
            "description_en": self.description_en,
        }


def _entry(
    alert_type: AlertType, zh: str, en: str, severity: Severity, source: str, about_zh: str, about_en: str
) -> tuple[AlertType, AlertTypeEntry]:
    return alert_type, AlertTypeEntry(alert_type, zh, en, severity, source, about_zh, about_en)


_W, _C, _I = Severity.WARNING, Severity.CRITICAL, Severity.INFO

#: Alert types in display order (the dashboard keeps colours in this order).
CATALOGUE: dict[AlertType, AlertTypeEntry] = dict(
    [
        _entry(AlertType.ENTERPRISE_EXIT, "企业退出", "enterprise exit", _C, "rule",
               "企业已注销或被吊销营业执照。", "The enterprise was deregistered or its licence revoked."),
        _entry(AlertType.RELOCATION, "迁出园区", "relocation out of the park", _W, "rule",
               "登记信息显示企业已离开园区；有人数下降等佐证时为严重。",
               "The register shows the enterprise left the park; critical when corroborated."),
        _entry(AlertType.LAYOFF, "参保人数骤降", "layoffs", _W, "rule",
               "社保参保人数较前几个月大幅下降。", "Insured headcount fell sharply against the previous months."),
        _entry(AlertType.TAX_COLLAPSE, "税收骤降", "tax collapse", _W, "rule",
               "申报销售额远低于企业自身（季节调整后）的预期水平。",
               "Declared sales revenue collapsed against the enterprise's own expected level."),
        _entry(AlertType.ZOMBIE, "疑似僵尸企业", "zombie enterprise", _W, "rule",
               "零收入申报、人员极少且不开票：只申报的空壳。",
               "Zero-revenue filings, a skeleton staff and no invoices: a shell that only files."),
        _entry(AlertType.SOCIAL_SECURITY_ARREARS, "社保欠缴", "social-security arrears", _W, "rule",
               "社保欠缴占应缴的很大比例。", "Social-security contributions in arrears by a large share of what is due."),
        _entry(AlertType.PAYROLL_TAX_MISMATCH, "用工与纳税背离", "payroll-tax mismatch", _W, "rule",
               "参保人数增长而申报销售额下降。", "Headcount grows while declared revenue falls."),
        _entry(AlertType.LEGAL_REP_CHURN, "法定代表人频繁变更", "legal-representative churn", _W, "rule",
               "短期内多次变更法定代表人。", "Several legal-representative changes in a short time."),
        _entry(AlertType.INVOICE_SPIKE, "开票激增", "e-invoice spike", _W, "rule",
               "近期开票远高于企业自身常态。", "Recent e-invoicing far above the enterprise's usual rate."),
        _entry(AlertType.INVOICE_DROP, "开票骤减", "e-invoice drop", _W, "rule",
               "近期开票远低于企业自身常态。", "Recent e-invoicing far below the enterprise's usual rate."),
        _entry(AlertType.ABNORMAL_OPERATION, "经营异常", "abnormal-operation listing", _W, "rule",
               "被列入经营异常名录。", "Listed as operating abnormally."),
        _entry(AlertType.MISSING_FILINGS, "纳税申报中断", "missing tax filings", _I, "rule",
               "停止申报增值税，却仍在开具发票。", "VAT returns stopped while the enterprise keeps issuing e-invoices."),
        _entry(AlertType.TAX_CREDIT_DOWNGRADE, "纳税信用降级", "tax credit downgrade", _W, "rule",
               "纳税信用等级降至 C 或 D。", "The tax credit grade dropped into a low grade (C or D)."),
        _entry(AlertType.INVOICE_ANOMALY, "开票序列异常", "e-invoice series anomaly", _I, "model",
               "流式检测器认为每日开票金额出现异常。",
               "The streaming detector finds the daily invoiced amounts unusual."),
        _entry(AlertType.PEER_DIVERGENCE, "逆行业走势", "against its peers", _W, "model",
               "行业整体增长而企业销售额大幅下降。", "Revenue falls far while its industry grows."),
        _entry(AlertType.LIST_CHANGE, "名单变化", "identification-list change", _I, "list",
               "企业新进入或退出认定名单（如鲲鹏企业），便于主动服务；仅送达订阅了名单变化的订阅者。",
               "The enterprise entered or left an identification list (e.g. Kunpeng), for proactive service; "
               "delivered only to subscriptions that ask for list changes."),
        _entry(AlertType.SITUATION, "企业情况", "situation", _W, "situation",
               "同一企业当前各项发现合并为一个诊断（如迁出、僵尸、经营困难），列出佐证来源与置信度；"
               "订阅者默认收到情况而非单项发现。",
               "One enterprise's open findings folded into one diagnosis (relocation, zombie, distress, …) "
               "with the corroborating sources and a confidence; subscribers get the situation, not each finding."),
    ]
)  # fmt: skip

#: Diagnoses of a situation (:mod:`detectors.situations`), zh and en. A situation made of one
#: finding is diagnosed ``signal:<alert type>`` and labelled as that finding.
DIAGNOSES: dict[str, tuple[str, str]] = {
    "exit": ("企业退出", "enterprise exit"),
    "relocation": ("迁出园区", "relocation out of the park"),
    "zombie_dormant": ("僵尸或休眠企业", "zombie or dormant enterprise"),
    "payroll_mismatch": ("用工与纳税背离", "payroll out of line with revenue"),
    "abnormal_operation": ("经营异常", "abnormal operation"),
    "governance_churn": ("治理频繁变动", "governance churn"),
    "distress": ("经营困难", "distress"),
}


def diagnosis_labels(diagnosis: str) -> tuple[str, str]:
    """(zh, en) label of a situation's diagnosis.

    >>> diagnosis_labels("distress"), diagnosis_labels("signal:layoff")
    (('经营困难', 'distress'), ('参保人数骤降', 'layoffs'))
    """
    if diagnosis.startswith("signal:"):
        entry = CATALOGUE[AlertType(diagnosis.removeprefix("signal:"))]
        return entry.label_zh, entry.label_en
    return DIAGNOSES[diagnosis]

#: Severity labels, zh and en.
SEVERITY_LABELS: dict[Severity, tuple[str, str]] = {
    Severity.CRITICAL: ("严重", "critical"),
    Severity.WARNING: ("警告", "warning"),
    Severity.INFO: ("提示", "info"),
}


def catalogue_document() -> dict[str, Any]:
    """The catalogue as served by ``GET /api/alert-types``.

    >>> doc = catalogue_document()
    >>> [t["alert_type"] for t in doc["alert_types"]][:2], doc["severities"]["critical"]
    (['enterprise_exit', 'relocation'], {'label_zh': '严重', 'label_en': 'critical'})
    """
    return {
        "alert_types": [entry.document() for entry in CATALOGUE.values()],
        "severities": {s.value: {"label_zh": zh, "label_en": en} for s, (zh, en) in SEVERITY_LABELS.items()},
        "diagnoses": {d: {"label_zh": zh, "label_en": en} for d, (zh, en) in DIAGNOSES.items()},
    }
