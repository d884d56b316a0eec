"""What each channel sends: the HTTP request of a notification, signed as the receiver expects.

* ``webhook`` — the :class:`schemas.delivery.Notification` as JSON; ``X-Entbrain-Signature:
  sha256=<hex HMAC-SHA256 of the body keyed with the subscription's secret>``,
  ``X-Entbrain-Timestamp`` (Unix seconds) and ``Idempotency-Key``.
* ``dingtalk`` — custom robot, ``markdown``; with a secret the URL gets ``timestamp`` (ms) and
  ``sign`` = base64 HMAC-SHA256 of ``"<timestamp>\\n<secret>"`` keyed with the secret.
* ``wecom`` — group robot, ``markdown`` (the key is part of the URL).
* ``feishu`` — custom bot, ``interactive`` card; with a secret the body gets ``timestamp`` (s)
  and ``sign`` = base64 HMAC-SHA256 with key ``"<timestamp>\\n<secret>"`` over an empty message.

A grouped notification (:class:`schemas.delivery.GroupedNotification`) is one request whose
body lists each member notification; the robots get the members' messages one after another.

Every message shows the enterprise's name and USCC, the severity, the explanation in the
subscriber's language, the decisive evidence and a link to the enterprise's page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from schemas import Alert
from schemas.delivery import (
    SEVERITY_RANK,
    Channel,
    EnterpriseProfile,
    GroupedNotification,
    Language,
    Notification,
    NotificationAlert,
    Subscription,
    group_key,
    idempotency_key,
)

SIGNATURE_HEADER = "X-Entbrain-Signature"
TIMESTAMP_HEADER = "X-Entbrain-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_EVIDENCE_ITEMS = 6

_LABELS = {
    Language.ZH_CN: {"enterprise": "企业", "severity": "级别", "state": "状态", "evidence": "证据", "open": "查看企业",
                     "critical": "严重", "warning": "警告", "info": "提示",
                     "firing": "触发", "updated": "更新", "resolved": "已解除"},
    Language.EN: {"enterprise": "Enterprise", "severity": "Severity", "state": "State", "evidence": "Evidence",
                  "open": "Open the enterprise", "critical": "critical", "warning": "warning", "info": "info",
                  "firing": "firing", "updated": "updated", "resolved": "resolved"},
}  # fmt: skip


@dataclass(frozen=True)
class HttpRequest:
    """One ``POST``: where, the exact body bytes (what the signature covers), the headers."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def enterprise_link(public_url: str, uscc: str) -> str:
    return f"{public_url.rstrip('/')}/#/enterprise/{urllib.parse.quote(uscc)}"


def notification_of(
    subscription: Subscription, alert: Alert, profile: EnterpriseProfile, public_url: str
) -> Notification:
    """The notification of one alert version for one subscriber (no clock inside: a repeat is identical)."""
    zh = subscription.language is Language.ZH_CN
    return Notification(
        idempotency_key=idempotency_key(subscription.id, alert.alert_id, alert.version),
        subscription_id=subscription.id,
        language=subscription.language,
        enterprise=profile,
        alert=NotificationAlert(
            alert_id=alert.alert_id, version=alert.version, alert_type=alert.alert_type, state=alert.state,
            severity=alert.severity, title=alert.title_zh if zh else alert.title_en,
            explanation=alert.explanation_zh if zh else alert.explanation_en, evidence=alert.evidence,
            event_ids=alert.event_ids, rule=alert.rule, occurred_at=alert.occurred_at, emitted_at=alert.emitted_at,
        ),  # fmt: skip
        link=enterprise_link(public_url, alert.uscc),
    )


def grouped_notification_of(
    subscription: Subscription, members: list[Notification], group: str
) -> Notification | GroupedNotification:
    """One notification for ``members`` (already in their order); a single member goes alone."""
    if len(members) == 1:
        return members[0]
    return GroupedNotification(
        idempotency_key=group_key(subscription.id, [m.idempotency_key for m in members]),
        subscription_id=subscription.id, language=subscription.language, group_by=subscription.group_by,
        group=group, notifications=members,
    )  # fmt: skip


def sign_body(secret: str, body: bytes) -> str:
    """``sha256=<hex>`` of the body, keyed with the subscription's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign_body(secret, body), header)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _evidence_lines(evidence: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in list(evidence.items())[:MAX_EVIDENCE_ITEMS]:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        lines.append(f"- {key}: {text[:200]}")
    return lines


def markdown_text(notification: Notification) -> str:
    """The human message shared by the robot channels."""
    labels = _LABELS[notification.language]
    a, e = notification.alert, notification.enterprise
    lines = [
        f"### [{labels[a.severity.value]}] {a.title}",
        f"**{labels['enterprise']}**: {e.name or e.uscc} ({e.uscc})",
        f"**{labels['severity']}**: {labels[a.severity.value]} · **{labels['state']}**: {labels[a.state.value]} · v{a.version}",
        "",
        a.explanation,
    ]
    evidence = _evidence_lines(a.evidence)
    if evidence:
        lines += ["", f"**{labels['evidence']}**:", *evidence]
    lines += ["", f"[{labels['open']}]({notification.link})"]
    return "\n".join(lines)


def message_text(notification: Notification | GroupedNotification) -> tuple[str, str]:
    """Title and markdown of a notification; a group lists each of its alerts."""
    if isinstance(notification, Notification):
        return notification.alert.title, markdown_text(notification)
    members = notification.notifications
    more = {"zh-CN": f"（共 {len(members)} 条预警）", "en": f" ({len(members)} alerts)"}[notification.language.value]
    return members[0].alert.title + more, "\n\n---\n\n".join(markdown_text(m) for m in members)


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def build_request(
    subscription: Subscription, notification: Notification | GroupedNotification, now_ms: int
) -> HttpRequest:
    """The signed request for an HTTP channel (``now_ms`` stamps the signature, not the body)."""
    url = subscription.settings.url or ""
    secret = subscription.settings.secret.get_secret_value() if subscription.settings.secret else None
    key = notification.idempotency_key
    base_headers = {"Content-Type": "application/json; charset=utf-8", IDEMPOTENCY_HEADER: key}
    if subscription.channel is Channel.WEBHOOK:
        body = notification.model_dump_json().encode()
        headers = {**base_headers, TIMESTAMP_HEADER: str(now_ms // 1000)}
        if secret:
            headers[SIGNATURE_HEADER] = sign_body(secret, body)
        return HttpRequest(url, body, headers)
    title, text = message_text(notification)
    if subscription.channel is Channel.DINGTALK:
        if secret:
            query = urllib.parse.urlencode({"timestamp": now_ms, "sign": dingtalk_sign(secret, now_ms)})
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        return HttpRequest(url, _json({"msgtype": "markdown", "markdown": {"title": title, "text": text}}), base_headers)
    if subscription.channel is Channel.WECOM:
        return HttpRequest(url, _json({"msgtype": "markdown", "markdown": {"content": text}}), base_headers)
    if subscription.channel is Channel.FEISHU:
        severities = [m.alert.severity for m in _members(notification)]
        worst = max(severities, key=lambda v: SEVERITY_RANK[v])
        template = {"critical": "red", "warning": "orange", "info": "blue"}[worst.value]
        card = {
            "header": {"title": {"tag": "plain_text", "content": title}, "template": template},
            "elements": [{"tag": "markdown", "content": text}],
        }
        payload: dict[str, Any] = {"msg_type": "interactive", "card": card}
        if secret:
            seconds = now_ms // 1000
            payload = {"timestamp": str(seconds), "sign": feishu_sign(secret, seconds), **payload}
        return HttpRequest(url, _json(payload), base_headers)
    raise ValueError(f"{subscription.channel.value} is not an HTTP channel")


def _members(notification: Notification | GroupedNotification) -> list[Notification]:
    return notification.notifications if isinstance(notification, GroupedNotification) else [notification]


def robot_error(channel: Channel, body: bytes) -> str | None:
    """The robots answer 200 with an error code in the body; ``None`` when it says OK."""
    if channel is Channel.WEBHOOK:
        return None
    try:
        reply = json.loads(body or b"{}")
    except ValueError:
        return None
    if not isinstance(reply, dict):
        return None
    code = reply.get("errcode", reply.get("code", 0))
    if code in (0, None):
        return None
    return f"{channel.value} error {code}: {reply.get('errmsg') or reply.get('msg') or ''}".strip()
