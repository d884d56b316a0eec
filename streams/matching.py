"""Which subscribers want an alert version, and which silences mute it (pure functions).

District, industry and tier are the enterprise's, from its snapshot (the alert carries only
the USCC). Silences are judged at the alert's ``emitted_at`` — a time inside the alert, not
the clock — so a notifier that reads an alert again decides the same. A subscriber gets an
enterprise's ``situation``; each finding only when the subscription asks for findings.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from schemas import Alert, AlertState
from schemas.alert_catalogue import AlertType
from schemas.delivery import SEVERITY_RANK, EnterpriseProfile, Silence, Subscription


def industry_matches(wanted: str, profile: EnterpriseProfile) -> bool:
    """``"C"`` a section, ``"39"`` a class prefix, ``"C39"`` both.

    >>> p = EnterpriseProfile(uscc="x", industry_section="C", industry_code="3911")
    >>> industry_matches("C", p), industry_matches("39", p), industry_matches("C391", p), industry_matches("I65", p)
    (True, True, True, False)
    """
    section, digits = (wanted[0], wanted[1:]) if wanted[:1].isalpha() else ("", wanted)
    if section and section != profile.industry_section:
        return False
    code = profile.industry_code.lstrip("ABCDEFGHIJKLMNOPQRST")
    return code.startswith(digits) if digits else True


def delivered_unasked(alert_type: str) -> bool:
    """Whether this type needs no ``findings`` switch: situations, and list changes (which
    have their own switch, ``list_changes``).

    >>> delivered_unasked("situation"), delivered_unasked("list_change"), delivered_unasked("tax_collapse")
    (True, True, False)
    """
    return alert_type in (AlertType.SITUATION, AlertType.LIST_CHANGE)


def matches(
    subscription: Subscription,
    alert: Alert,
    enterprise_profile: EnterpriseProfile,
    dynamic_watchlist: frozenset[str] | None = None,
) -> bool:
    """Whether ``subscription`` wants this alert version (silences are a separate question).

    ``dynamic_watchlist`` is the latest result of the subscription's ``watch_query``; a
    subscription with a query whose result is not known yet matches nothing on the watch-list
    beyond its static USCCs.
    """
    f = subscription.filters
    profile = enterprise_profile
    if not subscription.enabled or alert.state not in f.states:
        return False
    if SEVERITY_RANK[alert.severity] < SEVERITY_RANK[f.min_severity]:
        return False
    if alert.alert_type == AlertType.LIST_CHANGE and not f.list_changes:
        return False
    if not delivered_unasked(alert.alert_type) and not f.findings and alert.alert_type not in f.alert_types:
        return False
    if f.alert_types and alert.alert_type not in f.alert_types:
        return False
    if f.districts and not any(profile.district_code.startswith(d) for d in f.districts):
        return False
    if f.industries and not any(industry_matches(i, profile) for i in f.industries):
        return False
    if f.tiers and profile.tier not in f.tiers:
        return False
    if f.watch_uscc or f.watch_query:
        watched = set(f.watch_uscc) | (dynamic_watchlist or frozenset())
        if alert.uscc not in watched:
            return False
    return True


def silenced_by(silences: Iterable[Silence], alert: Alert, enterprise_profile: EnterpriseProfile) -> Silence | None:
    """The first silence active at the alert's ``emitted_at`` whose matchers all hold."""
    at = alert.emitted_at
    for silence in silences:
        if not (silence.starts_at <= at < silence.ends_at):
            continue
        if silence.uscc and alert.uscc not in silence.uscc:
            continue
        if silence.alert_types and alert.alert_type not in silence.alert_types:
            continue
        if silence.districts and not any(enterprise_profile.district_code.startswith(d) for d in silence.districts):
            continue
        if silence.severities and alert.severity not in silence.severities:
            continue
        return silence
    return None


class Decision(StrEnum):
    DELIVER = "deliver"
    SILENCED = "silenced"  # recorded, not sent
    SKIP = "skip"  # not for this subscriber


def decide(
    subscription: Subscription,
    alert: Alert,
    enterprise_profile: EnterpriseProfile,
    silences: Iterable[Silence],
    episode_notified: bool | None,
    dynamic_watchlist: frozenset[str] | None = None,
) -> Decision:
    """What to do with one alert version for one subscriber.

    ``episode_notified`` is what the delivery ledger says of this (subscription, alert_id):
    ``None`` nothing settled yet, ``True`` an earlier version was delivered, ``False`` it was
    silenced or dead-lettered. A ``resolved`` goes out exactly when an earlier version did
    (never an orphan, never a missing one), whatever the filters and silences say now; a
    silenced episode stays quiet until it resolves.
    """
    if alert.state is AlertState.RESOLVED:
        wanted = subscription.enabled and AlertState.RESOLVED in subscription.filters.states
        return Decision.DELIVER if (episode_notified is True and wanted) else Decision.SKIP
    if episode_notified is False:
        return Decision.SKIP
    if not matches(subscription, alert, enterprise_profile, dynamic_watchlist):
        return Decision.SKIP
    if silenced_by(silences, alert, enterprise_profile) is not None:
        return Decision.SILENCED
    return Decision.DELIVER
