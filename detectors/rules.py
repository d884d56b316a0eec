"""Explainable rules over an enterprise's state, each a pure function of (before, after).

A rule returns a :class:`Finding` when it has something to say (its condition now holds,
or it held before and no longer does), else ``None``.
"""

from __future__ import annotations

from collections.abc import Callable

from detectors.findings import Finding
from schemas import EnterpriseState, Severity

Rule = Callable[[EnterpriseState | None, EnterpriseState], Finding | None]

EXIT_STATUSES = {"deregistered", "moved_out", "revoked"}
_STATUS_ZH = {"deregistered": "注销", "moved_out": "迁出园区", "revoked": "吊销", "active": "存续"}


def _exited(state: EnterpriseState | None) -> bool:
    if state is None:
        return False
    return state.status in EXIT_STATUSES or state.in_park is False


def enterprise_exit(before: EnterpriseState | None, after: EnterpriseState) -> Finding | None:
    """An enterprise is deregistered, revoked or has moved out of the park."""
    was, now = _exited(before), _exited(after)
    if not now and not was:
        return None
    name = after.name or after.uscc
    reason_en = "moved out of the park" if after.in_park is False else after.status
    reason_zh = "迁出园区" if after.in_park is False else _STATUS_ZH.get(after.status, after.status)
    return Finding(
        alert_type="enterprise_exit",
        active=now,
        rule="enterprise_exit",
        severity=Severity.CRITICAL,
        title_zh=f"企业退出：{name}",
        title_en=f"Enterprise exit: {name}",
        explanation_zh=f"{name} 的登记状态为「{reason_zh}」。",
        explanation_en=f"{name} is {reason_en} according to the business register.",
        evidence={
            "status": after.status,
            "in_park": after.in_park,
            "district_code": after.district_code,
        },
    )


RULES: tuple[Rule, ...] = (enterprise_exit,)


def evaluate(before: EnterpriseState | None, after: EnterpriseState) -> list[Finding]:
    return [f for rule in RULES if (f := rule(before, after)) is not None]
