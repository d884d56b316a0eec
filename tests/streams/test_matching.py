"""Who wants an alert version: filters, watch-lists, silences and the episode rule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas import Severity
from schemas.delivery import Silence, SubscriptionFilters
from streams.matching import Decision, decide, matches, silenced_by
from tests.delivery_fixtures import T0, make_alert, profile, subscription


def with_filters(**filters: object):  # noqa: ANN201
    return subscription(filters=filters)


def test_an_empty_filter_matches_everything() -> None:
    assert matches(subscription(), make_alert(1), profile())


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"districts": ["3301"]}, True),
        ({"districts": ["330106"]}, False),
        ({"industries": ["I"]}, True),
        ({"industries": ["65"]}, True),
        ({"industries": ["I651"]}, True),
        ({"industries": ["C"]}, False),
        ({"industries": ["C", "I65"]}, True),
        ({"tiers": ["gazelle"]}, True),
        ({"tiers": ["leader"]}, False),
        ({"alert_types": ["tax_collapse"]}, True),
        ({"alert_types": ["relocation"]}, False),
        ({"min_severity": "warning"}, True),
        ({"min_severity": "critical"}, False),
        ({"states": ["resolved"]}, False),
    ],
)
def test_each_filter(filters: dict[str, object], expected: bool) -> None:
    assert matches(with_filters(**filters), make_alert(1), profile()) is expected


def test_watch_lists_static_and_dynamic() -> None:
    alert = make_alert(1)
    assert matches(with_filters(watch_uscc=[alert.uscc]), alert, profile())
    assert not matches(with_filters(watch_uscc=["other"]), alert, profile())
    dynamic = with_filters(watch_query="SELECT uscc FROM enterprise_snapshot FINAL WHERE tier = 'leader'")
    assert not matches(dynamic, alert, profile())  # not refreshed yet: nothing
    assert matches(dynamic, alert, profile(), frozenset({alert.uscc}))
    assert not matches(dynamic, alert, profile(), frozenset({"other"}))


def test_a_subscriber_gets_situations_and_findings_only_when_asked() -> None:
    plain = subscription(filters={"findings": False})
    finding, situation = make_alert(1), make_alert(2, alert_type="situation", rule="situation")
    assert matches(plain, situation, profile()) and not matches(plain, finding, profile())
    assert decide(plain, finding, profile(), [], None) is Decision.SKIP
    named = subscription(filters={"findings": False, "alert_types": ["tax_collapse"]})
    assert matches(named, finding, profile()) and not matches(named, situation, profile())
    assert matches(subscription(filters={"findings": True}), finding, profile())
    assert SubscriptionFilters().findings is False  # the default: situations only


def test_disabled_subscription_matches_nothing() -> None:
    assert not matches(subscription(enabled=False), make_alert(1), profile())


def silence(**matchers: object) -> Silence:
    return Silence.model_validate({"id": "q1", "starts_at": T0, "ends_at": T0 + timedelta(hours=1), "author": "ops",
                                   "reason": "maintenance", "created_at": T0, **matchers})  # fmt: skip


def test_silences_are_time_bounded_and_match_all_matchers() -> None:
    alert = make_alert(5)  # emitted at T0 + 5 min
    assert silenced_by([silence(alert_types=["tax_collapse"])], alert, profile()) is not None
    assert silenced_by([silence(alert_types=["tax_collapse"], districts=["3302"])], alert, profile()) is None
    assert silenced_by([silence(severities=[Severity.CRITICAL])], alert, profile()) is None
    assert silenced_by([silence(uscc=[alert.uscc])], make_alert(5, uscc=alert.uscc, emitted_at=T0 + timedelta(hours=2)),
                       profile()) is None  # fmt: skip


def test_a_silence_needs_a_matcher_and_an_order() -> None:
    with pytest.raises(ValueError):
        silence()
    with pytest.raises(ValueError):
        silence(uscc=["x"], ends_at=T0 - timedelta(seconds=1))


def test_resolved_goes_exactly_when_the_episode_was_notified() -> None:
    sub, resolved = subscription(), make_alert(1, state="resolved", version=3)
    assert decide(sub, resolved, profile(), [], True) is Decision.DELIVER
    assert decide(sub, resolved, profile(), [], False) is Decision.SKIP  # silenced or dead-lettered firing
    assert decide(sub, resolved, profile(), [], None) is Decision.SKIP  # never an orphan
    # filters and silences that changed since the firing do not hide its resolution
    strict = with_filters(min_severity="critical")
    assert decide(strict, resolved, profile(), [silence(alert_types=["tax_collapse"])], True) is Decision.DELIVER
    assert decide(with_filters(states=["firing"]), resolved, profile(), [], True) is Decision.SKIP


def test_firing_is_silenced_or_delivered_and_a_silenced_episode_stays_quiet() -> None:
    sub, firing, updated = subscription(), make_alert(5), make_alert(5, state="updated", version=2)
    quiet = [silence(alert_types=["tax_collapse"])]
    assert decide(sub, firing, profile(), quiet, None) is Decision.SILENCED
    assert decide(sub, firing, profile(), [], None) is Decision.DELIVER
    assert decide(sub, updated, profile(), [], False) is Decision.SKIP
    assert decide(sub, updated, profile(), [], True) is Decision.DELIVER
    assert decide(with_filters(alert_types=["relocation"]), firing, profile(), [], None) is Decision.SKIP


def test_secrets_are_never_dumped_except_to_the_topic() -> None:
    sub = subscription()
    assert "s3cret" not in repr(sub) and "s3cret" not in sub.model_dump_json()
    assert sub.to_record()["settings"]["secret"] == "s3cret"


def test_subscription_validation() -> None:
    with pytest.raises(ValueError):
        subscription(sub_id="a:b")
    with pytest.raises(ValueError):
        subscription(settings={"url": "http://127.0.0.1/x"})  # a webhook needs its secret
    with pytest.raises(ValueError):
        subscription(channel="kafka", settings={})
    with pytest.raises(ValueError):
        with_filters(industries=["65X"])
