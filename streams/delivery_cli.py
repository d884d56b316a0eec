"""``entbrain subscriptions list|add|remove|test`` and ``entbrain silences list|add|expire``.

They read and write the compacted topics directly (the system of record), so they work
whether or not a worker runs; a running worker's notifier follows the topics.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml
from rich.console import Console
from rich.table import Table

from config import Settings
from schemas import Alert, AlertState, Severity
from schemas.delivery import Channel, EnterpriseProfile, Silence, Subscription
from sinks.channels import build_request, notification_of
from sinks.delivery import Attempt, send_with_retries
from sinks.errors import DeliveryError
from streams.compacted import put, read_all
from streams.errors import CliError

out = Console()


def _subscriptions(settings: Settings) -> dict[str, Subscription]:
    stored = read_all(settings.kafka, settings.kafka.topics.subscriptions)
    return {k: Subscription.model_validate_json(v) for k, v in sorted(stored.items())}


def _load(path: str) -> list[dict[str, Any]]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, dict) and "subscriptions" in data:
        data = data["subscriptions"]
    return data if isinstance(data, list) else [data]


def sample_alert(uscc: str = "91330110MA2B00001X") -> Alert:
    now = datetime.now(UTC)
    return Alert(alert_id="test-" + uuid.uuid4().hex[:8], uscc=uscc, alert_type="test", state=AlertState.FIRING,
                 severity=Severity.INFO, title_zh="测试通知", title_en="Test notification",
                 explanation_zh="这是一条测试通知，无需处理。", explanation_en="This is a test notification; no action needed.",
                 evidence={"sent_by": "entbrain subscriptions test"}, rule="test", config_version="test",
                 occurred_at=now, emitted_at=now)  # fmt: skip


async def send_sample(settings: Settings, sub: Subscription) -> list[Attempt]:
    """One sample notification through the subscription's channel, with the usual retries."""
    alert = sample_alert()
    notification = notification_of(sub, alert, EnterpriseProfile(uscc=alert.uscc, name="示例企业"),
                                   settings.web.public_url)  # fmt: skip
    attempts: list[Attempt] = []
    if sub.channel is Channel.KAFKA:
        put(settings.kafka, sub.settings.topic or "", notification.idempotency_key, notification.model_dump_json().encode())
        return [Attempt(1, "delivered", 0, 0.0, "")]
    policy = settings.notifier.model_copy(update={"max_age_seconds": min(30.0, settings.notifier.max_age_seconds)})
    async with aiohttp.ClientSession() as session:
        request = build_request(sub, notification, int(time.time() * 1000))
        try:
            await send_with_retries(session, request, sub.channel, policy, attempts.append)
        except DeliveryError as exc:
            raise CliError(f"the test notification was not delivered: {exc}") from None
    return attempts


def subscriptions_command(settings: Settings, args: argparse.Namespace) -> int:
    topic = settings.kafka.topics.subscriptions
    if args.action == "list":
        subs = _subscriptions(settings)
        if args.json:
            out.print_json(orjson.dumps([s.model_dump(mode="json") for s in subs.values()]).decode())
            return 0
        table = Table("id", "name", "owner", "channel", "language", "enabled")
        for s in subs.values():
            table.add_row(s.id, s.name, s.owner, s.channel.value, s.language.value, str(s.enabled))
        out.print(table)
    elif args.action == "add":
        for raw in _load(args.file):
            sub = Subscription.model_validate(raw)
            put(settings.kafka, topic, sub.id, orjson.dumps(sub.to_record()))
            out.print(f"subscription {sub.id} saved")
    elif args.action == "remove":
        if args.id not in _subscriptions(settings):
            raise CliError(f"no subscription {args.id}")
        put(settings.kafka, topic, args.id, None)
        out.print(f"subscription {args.id} removed")
    elif args.action == "test":
        chosen = _subscriptions(settings).get(args.id)
        if chosen is None:
            raise CliError(f"no subscription {args.id}")
        attempts = asyncio.run(send_sample(settings, chosen))
        out.print(f"delivered to {chosen.id} ({chosen.channel.value}) after {len(attempts)} attempt(s)")
    return 0


def silences_command(settings: Settings, args: argparse.Namespace) -> int:
    topic = settings.kafka.topics.silences
    stored = {k: Silence.model_validate_json(v) for k, v in sorted(read_all(settings.kafka, topic).items())}
    now = datetime.now(UTC)
    if args.action == "list":
        table = Table("id", "matchers", "starts_at", "ends_at", "active", "author", "reason")
        for s in stored.values():
            matchers = s.model_dump(include={"uscc", "alert_types", "districts", "severities"}, mode="json")
            table.add_row(s.id, orjson.dumps({k: v for k, v in matchers.items() if v}).decode(), s.starts_at.isoformat(),
                          s.ends_at.isoformat(), str(s.starts_at <= now < s.ends_at), s.author, s.reason)  # fmt: skip
        out.print(table)
    elif args.action == "add":
        silence = Silence(id=uuid.uuid4().hex[:12], uscc=args.uscc, alert_types=args.type, districts=args.district,
                          severities=[Severity(s) for s in args.severity], starts_at=now,
                          ends_at=now + timedelta(hours=args.hours), author=args.author, reason=args.reason,
                          created_at=now)  # fmt: skip
        put(settings.kafka, topic, silence.id, silence.model_dump_json().encode())
        out.print(f"silence {silence.id} until {silence.ends_at.isoformat()}")
    elif args.action == "expire":
        found = stored.get(args.id)
        if found is None:
            raise CliError(f"no silence {args.id}")
        expired = found.model_copy(update={"ends_at": max(now, found.starts_at)})
        put(settings.kafka, topic, found.id, expired.model_dump_json().encode())
        out.print(f"silence {found.id} expired")
    return 0


def add_parsers(sub: Any) -> None:
    subs = sub.add_parser("subscriptions", help="who is notified of which alerts")
    subs_sub = subs.add_subparsers(dest="action", required=True)
    listing = subs_sub.add_parser("list")
    listing.add_argument("--json", action="store_true")
    subs_sub.add_parser("add", help="add or replace from a YAML/JSON file").add_argument("file")
    subs_sub.add_parser("remove").add_argument("id")
    subs_sub.add_parser("test", help="send a sample notification").add_argument("id")
    subs.set_defaults(handler=subscriptions_command)

    silences = sub.add_parser("silences", help="mute matching alerts for a while (recorded, not notified)")
    sil_sub = silences.add_subparsers(dest="action", required=True)
    sil_sub.add_parser("list")
    add = sil_sub.add_parser("add")
    add.add_argument("--uscc", action="append", default=[])
    add.add_argument("--type", action="append", default=[], help="alert type")
    add.add_argument("--district", action="append", default=[], help="district code prefix")
    add.add_argument("--severity", action="append", default=[], choices=[s.value for s in Severity])
    add.add_argument("--hours", type=float, default=2.0)
    add.add_argument("--author", required=True)
    add.add_argument("--reason", required=True)
    sil_sub.add_parser("expire").add_argument("id")
    silences.set_defaults(handler=silences_command)
