"""List changes become notices delivered like alerts, only to subscriptions that ask for them."""

from __future__ import annotations

from datetime import UTC, datetime

from detectors.list_notices import list_change_notice
from schemas import AlertState, ListChange
from schemas.alert_catalogue import CATALOGUE, AlertType
from streams.matching import Decision, decide, matches
from tests.delivery_fixtures import make_alert, profile, subscription

CHANGE = ListChange(uscc="91330110MA2B00001X", list_name="kunpeng", change="enter",
                    changed_at=datetime(2026, 3, 1, tzinfo=UTC), composite=72.5, event_id="e-42",
                    evidence={"innovation": 81.0}, config_version="v3")  # fmt: skip


def test_a_list_change_is_a_one_version_info_notice_with_a_stable_id() -> None:
    notice = list_change_notice(CHANGE, "杭州甲科技有限公司")
    assert notice.alert_type == AlertType.LIST_CHANGE and notice.state is AlertState.FIRING
    assert notice.title_zh == "新进入「鲲鹏企业」名单" and notice.title_en == "entered the kunpeng list"
    assert "杭州甲科技有限公司" in notice.explanation_zh and notice.evidence["innovation"] == 81.0
    assert notice == list_change_notice(CHANGE, "杭州甲科技有限公司")  # re-derived: identical
    left = list_change_notice(CHANGE.model_copy(update={"change": "leave"}))
    assert left.alert_id != notice.alert_id and left.title_zh == "退出「鲲鹏企业」名单"
    assert AlertType.LIST_CHANGE in CATALOGUE


def test_only_subscriptions_asking_for_list_changes_receive_them() -> None:
    notice = list_change_notice(CHANGE)
    assert not matches(subscription(), notice, profile())
    wants = subscription(filters={"list_changes": True})
    assert matches(wants, notice, profile())
    assert decide(wants, notice, profile(), [], None) is Decision.DELIVER
    only_lists = subscription(filters={"list_changes": True, "alert_types": ["list_change"]})
    assert matches(only_lists, notice, profile()) and not matches(only_lists, make_alert(1), profile())
    assert matches(wants, make_alert(1), profile())  # alerts still come
