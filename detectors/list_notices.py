"""Identification-list changes as notices for subscribers (变后顾服务为前瞻服务).

An enterprise entering (or leaving) an identification list — the Kunpeng list, a subsidy,
the specialised-SME list — goes to ``enterprise.alerts`` as an :class:`~schemas.Alert` of
type ``list_change`` (severity info), so the notifier matches, records and delivers it
exactly like an alert; only subscriptions that ask for list changes receive it
(``filters.list_changes``). Each change is its own one-version episode, its id stable
(enterprise, list, direction, the event that caused it), so a re-derived notice is an
identical duplicate.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from config.scoring import load_scoring_config
from schemas import Alert, AlertState, ListChange, Severity
from schemas.alert_catalogue import AlertType


@lru_cache(maxsize=1)
def _labels() -> dict[str, str]:
    return {c.name: c.label_zh or c.name for c in load_scoring_config().lists}


def list_change_notice(change: ListChange, name: str | None = None) -> Alert:
    """The notice of one list change; ``name`` is the enterprise's name for the text."""
    label_zh = _labels().get(change.list_name, change.list_name)
    who = name or change.uscc
    digest = hashlib.blake2b(change.event_id.encode(), digest_size=6).hexdigest()
    entered = change.change == "enter"
    return Alert(
        alert_id=f"{change.uscc}:{AlertType.LIST_CHANGE.value}:{change.list_name}:{change.change}:{digest}",
        uscc=change.uscc, alert_type=AlertType.LIST_CHANGE.value, state=AlertState.FIRING, severity=Severity.INFO,
        title_zh=f"{'新进入' if entered else '退出'}「{label_zh}」名单",
        title_en=f"{'entered' if entered else 'left'} the {change.list_name} list",
        explanation_zh=f"{who} {'符合' if entered else '不再符合'}「{label_zh}」认定条件（综合得分 {change.composite:.1f}）"
                       f"{'，可主动上门服务。' if entered else '。'}",
        explanation_en=f"{who} {'now meets' if entered else 'no longer meets'} the criteria of the {change.list_name} "
                       f"list (composite {change.composite:.1f}).",
        evidence={"list": change.list_name, "change": change.change, "composite": change.composite,
                  **change.evidence},
        event_ids=[change.event_id] if change.event_id else [], rule=f"list:{change.list_name}",
        config_version=change.config_version, occurred_at=change.changed_at, emitted_at=change.changed_at,
    )  # fmt: skip
