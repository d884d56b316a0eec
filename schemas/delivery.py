"""Alert delivery: who subscribed to what, silences, the notification sent, alert actions.

A :class:`Subscription` lives on the compacted topic ``enterprise.subscriptions`` (key = its
``id``); :meth:`Subscription.to_record` is the only dump that reveals the channel secret, and
only the topic gets it — every other dump (API answers, logs, ``repr``) shows ``**********``.
Empty filter lists mean "any".
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from schemas.outputs import AlertState, Severity

SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_INDUSTRY = re.compile(r"^([A-T])?([0-9]{0,4})$")


class Channel(StrEnum):
    WEBHOOK = "webhook"
    DINGTALK = "dingtalk"
    WECOM = "wecom"
    FEISHU = "feishu"
    KAFKA = "kafka"


class Language(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


class GroupBy(StrEnum):
    """What one grouped notification covers: one enterprise, or one district."""

    ENTERPRISE = "enterprise"
    DISTRICT = "district"


class ChannelSettings(BaseModel):
    """Where a channel sends: ``url`` for the HTTP channels, ``topic`` for ``kafka``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str | None = Field(default=None, pattern=r"^https?://")
    secret: SecretStr | None = None  # webhook HMAC key; DingTalk / Feishu signing secret
    topic: str | None = None


class SubscriptionFilters(BaseModel):
    """What a subscriber wants; each non-empty list must contain the alert's value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    districts: list[str] = Field(default_factory=list)  # GB/T 2260 code prefixes ("3301" = a city)
    industries: list[str] = Field(default_factory=list)  # GB/T 4754: section "C", class prefix "39" / "C39"
    tiers: list[str] = Field(default_factory=list)
    alert_types: list[str] = Field(default_factory=list)
    min_severity: Severity = Severity.INFO
    states: list[AlertState] = Field(default_factory=lambda: list(AlertState))
    watch_uscc: list[str] = Field(default_factory=list)  # static watch-list
    # Dynamic watch-list: a read-only SELECT whose first column is a USCC, run on a schedule.
    watch_query: str | None = None
    # Identification-list changes (alert type ``list_change``) are delivered only when asked for.
    list_changes: bool = False
    # A subscriber gets one ``situation`` per enterprise, its findings listed as evidence; each
    # rule's own alert (a finding) is delivered only when asked for, here or by naming its
    # type in ``alert_types``.
    findings: bool = False

    @field_validator("industries")
    @classmethod
    def _industry_codes(cls, value: list[str]) -> list[str]:
        for code in value:
            if not code or not _INDUSTRY.match(code):
                raise ValueError(f"{code!r} is not a GB/T 4754 section letter or class prefix")
        return value


class Subscription(BaseModel):
    """One subscriber's filters and the channel its notifications go to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    owner: str
    enabled: bool = True
    filters: SubscriptionFilters = SubscriptionFilters()
    channel: Channel
    settings: ChannelSettings = ChannelSettings()
    language: Language = Language.ZH_CN
    # Alerts within this window go out together, one notification per enterprise or district.
    group_window_seconds: float = Field(default=0.0, ge=0, le=86_400)
    group_by: GroupBy = GroupBy.ENTERPRISE

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("id: letters, digits, '_', '.', '-' (at most 64), no ':'")
        return value

    @model_validator(mode="after")
    def _channel_needs(self) -> Subscription:
        if self.channel is Channel.KAFKA and not self.settings.topic:
            raise ValueError("the kafka channel needs settings.topic")
        if self.channel is not Channel.KAFKA and not self.settings.url:
            raise ValueError(f"the {self.channel.value} channel needs settings.url")
        if self.channel is Channel.WEBHOOK and self.settings.secret is None:
            raise ValueError("the webhook channel needs settings.secret (the HMAC key)")
        return self

    def to_record(self) -> dict[str, Any]:
        """The stored form, secret included (the subscriptions topic only)."""
        record = self.model_dump(mode="json")
        if self.settings.secret is not None:
            record["settings"]["secret"] = self.settings.secret.get_secret_value()
        return record


class Silence(BaseModel):
    """Alerts emitted in ``[starts_at, ends_at)`` that match every non-empty matcher are muted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    uscc: list[str] = Field(default_factory=list)
    alert_types: list[str] = Field(default_factory=list)
    districts: list[str] = Field(default_factory=list)  # code prefixes
    severities: list[Severity] = Field(default_factory=list)
    starts_at: datetime
    ends_at: datetime
    author: str
    reason: str
    created_at: datetime

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("id: letters, digits, '_', '.', '-' (at most 64)")
        return value

    @model_validator(mode="after")
    def _bounded(self) -> Silence:
        if self.ends_at < self.starts_at:
            raise ValueError("ends_at is before starts_at")
        if not (self.uscc or self.alert_types or self.districts or self.severities):
            raise ValueError("a silence needs at least one matcher (uscc, alert_types, districts, severities)")
        return self


class EnterpriseProfile(BaseModel):
    """What matching and messages need of an enterprise (from ``enterprise_snapshot``)."""

    model_config = ConfigDict(frozen=True)

    uscc: str
    name: str = ""
    district_code: str = ""
    industry_code: str = ""
    industry_section: str = ""
    tier: str = ""


class NotificationAlert(BaseModel):
    model_config = ConfigDict(frozen=True)

    alert_id: str
    version: int
    alert_type: str
    state: AlertState
    severity: Severity
    title: str
    explanation: str
    evidence: dict[str, Any]
    event_ids: list[str]
    rule: str
    occurred_at: datetime
    emitted_at: datetime


class Notification(BaseModel):
    """The body of a generic webhook ``POST`` (also the value on a ``kafka`` channel).

    Headers: ``X-Entbrain-Signature: sha256=<hex HMAC-SHA256 of the body, keyed with the
    subscription's secret>``, ``X-Entbrain-Timestamp`` (Unix seconds), ``Idempotency-Key``
    (the same as ``idempotency_key``: a receiver keeps the first of each).
    """

    model_config = ConfigDict(frozen=True)

    idempotency_key: str  # <subscription id>:<alert_id>:<version>
    subscription_id: str
    language: Language
    enterprise: EnterpriseProfile
    alert: NotificationAlert
    link: str  # the enterprise's page on the dashboard


class GroupedNotification(BaseModel):
    """Several alert versions of one enterprise (or district) for one subscriber, sent as one.

    ``idempotency_key`` is ``<subscription id>:group:<h>`` where ``<h>`` is the first 32 hex
    digits of the SHA-256 of the members' own idempotency keys, sorted and joined with
    newlines (:func:`group_key`): the same members give the same key, in any order.
    """

    model_config = ConfigDict(frozen=True)

    idempotency_key: str
    subscription_id: str
    language: Language
    group_by: GroupBy
    group: str  # the USCC, or the district code
    notifications: list[Notification]


def group_key(subscription_id: str, member_keys: list[str]) -> str:
    """The idempotency key of a grouped notification (see :class:`GroupedNotification`).

    >>> group_key("s1", ["s1:A2:1", "s1:A1:1"]) == group_key("s1", ["s1:A1:1", "s1:A2:1"])
    True
    """
    digest = hashlib.sha256("\n".join(sorted(member_keys)).encode()).hexdigest()[:32]
    return f"{subscription_id}:group:{digest}"


class Verdict(StrEnum):
    CONFIRMED = "confirmed"
    FALSE_ALARM = "false_alarm"


class VerdictRecord(BaseModel):
    """An operator's verdict on an alert, as written to ``enterprise.verdicts`` (the rules learn from it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: str = Field(min_length=1, max_length=200)
    uscc: str = Field(min_length=1)
    alert_type: str = Field(min_length=1)
    verdict: Verdict
    by: str
    acted_at: datetime | None = None


class AlertActionKind(StrEnum):
    ACK = "ack"
    ASSIGN = "assign"
    VERDICT = "verdict"


def idempotency_key(subscription_id: str, alert_id: str, version: int) -> str:
    """``<subscription id>:<alert_id>:<version>``, the delivery ledger's key."""
    return f"{subscription_id}:{alert_id}:{version}"
