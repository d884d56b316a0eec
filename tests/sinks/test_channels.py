"""Channel requests and their signatures; retries against a real local aiohttp receiver."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import urllib.parse

import aiohttp
import pytest

from config import NotifierSettings
from schemas.delivery import Channel
from sinks.channels import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    build_request,
    dingtalk_sign,
    notification_of,
    verify_signature,
)
from sinks.delivery import Attempt, send_with_retries
from sinks.errors import DeliveryError
from tests.delivery_fixtures import Receiver, make_alert, profile, subscription

NOW_MS = 1_772_000_000_000


def webhook_request(url: str = "http://127.0.0.1:1/hook", language: str = "zh-CN"):  # noqa: ANN201
    sub = subscription(url=url, language=language)
    alert = make_alert(7)
    return sub, build_request(sub, notification_of(sub, alert, profile(alert.uscc), "https://park.example"), NOW_MS)


def test_webhook_signature_verifies_and_a_tampered_body_fails() -> None:
    _, request = webhook_request()
    header = request.headers[SIGNATURE_HEADER]
    assert header == "sha256=" + hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert verify_signature("s3cret", request.body, header)
    tampered = request.body.replace(b"tax_collapse", b"tax_kollapse")
    assert tampered != request.body and not verify_signature("s3cret", tampered, header)
    assert not verify_signature("other", request.body, header)
    assert request.headers[IDEMPOTENCY_HEADER] == "s1:A0007:1"
    assert request.headers["X-Entbrain-Timestamp"] == str(NOW_MS // 1000)


def test_webhook_payload_carries_what_a_person_needs() -> None:
    _, request = webhook_request(language="en")
    payload = json.loads(request.body)
    assert payload["enterprise"]["name"] == "杭州测试科技有限公司" and payload["enterprise"]["uscc"]
    assert payload["alert"]["explanation"] == "Tax 80% below the expected level"
    assert payload["alert"]["severity"] == "warning" and payload["alert"]["evidence"]["ratio"] == 0.2
    assert payload["link"] == f"https://park.example/#/enterprise/{payload['enterprise']['uscc']}"
    assert b"s3cret" not in request.body
    # no clock in the body: a repeat after a crash is byte-identical
    assert webhook_request(language="en")[1].body == request.body


def test_dingtalk_signed_url_and_markdown() -> None:
    sub = subscription(channel="dingtalk", settings={"url": "https://oapi.dingtalk.com/robot/send?access_token=t",
                                                     "secret": "SECabc"})  # fmt: skip
    alert = make_alert(3)
    request = build_request(sub, notification_of(sub, alert, profile(alert.uscc), "http://x"), NOW_MS)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(request.url).query)
    expected = base64.b64encode(hmac.new(b"SECabc", f"{NOW_MS}\nSECabc".encode(), hashlib.sha256).digest()).decode()
    assert query["timestamp"] == [str(NOW_MS)] and query["sign"] == [expected] == [dingtalk_sign("SECabc", NOW_MS)]
    body = json.loads(request.body)
    assert body["msgtype"] == "markdown"
    text = body["markdown"]["text"]
    assert "杭州测试科技有限公司" in text and alert.uscc in text and "本月税额较预期下降 80%" in text and "ratio" in text


def test_wecom_markdown_and_feishu_signed_card() -> None:
    wecom = subscription(channel="wecom", settings={"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"},
                         language="en")  # fmt: skip
    alert = make_alert(3)
    body = json.loads(build_request(wecom, notification_of(wecom, alert, profile(), "http://x"), NOW_MS).body)
    assert body["msgtype"] == "markdown" and "Tax 80% below" in body["markdown"]["content"]
    feishu = subscription(channel="feishu", settings={"url": "https://open.feishu.cn/open-apis/bot/v2/hook/h",
                                                      "secret": "fs"})  # fmt: skip
    body = json.loads(build_request(feishu, notification_of(feishu, alert, profile(), "http://x"), NOW_MS).body)
    seconds = NOW_MS // 1000
    assert body["timestamp"] == str(seconds) and body["msg_type"] == "interactive"
    assert body["sign"] == base64.b64encode(hmac.new(f"{seconds}\nfs".encode(), b"", hashlib.sha256).digest()).decode()
    assert body["card"]["header"]["template"] == "orange"


def policy(**overrides: float) -> NotifierSettings:
    return NotifierSettings(**{"retry_initial_seconds": 0.05, "retry_max_seconds": 0.2, "max_age_seconds": 5.0,
                               "timeout_seconds": 2.0, **overrides})  # fmt: skip


async def _send(receiver: Receiver, settings: NotifierSettings, channel: Channel = Channel.WEBHOOK) -> tuple[list[Attempt], object]:
    runner = await receiver.start_async()
    attempts: list[Attempt] = []
    try:
        _, request = webhook_request(receiver.url)
        async with aiohttp.ClientSession() as session:
            try:
                result: object = await send_with_retries(session, request, channel, settings, attempts.append)
            except DeliveryError as exc:
                result = exc
    finally:
        await runner.cleanup()
    return attempts, result


def test_receiver_failing_for_a_while_then_accepting_gets_it_once() -> None:
    receiver = Receiver(fail_first=3, fail_status=500)
    attempts, result = asyncio.run(_send(receiver, policy()))
    assert result == 200
    assert [a.status for a in attempts] == ["retry", "retry", "retry", "delivered"]
    assert [r.status for r in receiver.requests] == [500, 500, 500, 200]
    assert receiver.delivered_keys() == ["s1:A0007:1"]
    assert len({r.body for r in receiver.requests}) == 1  # every attempt the same bytes


def test_retry_after_is_honoured_on_429() -> None:
    receiver = Receiver(fail_first=1, fail_status=429, retry_after="1")
    started = time.monotonic()
    attempts, result = asyncio.run(_send(receiver, policy()))
    assert result == 200 and len(attempts) == 2
    assert time.monotonic() - started >= 0.95  # backoff alone would have waited ≤ 0.2 s


def test_a_client_error_is_not_retried() -> None:
    attempts, result = asyncio.run(_send(Receiver(fail_first=1, fail_status=400), policy()))
    assert isinstance(result, DeliveryError) and result.status == 400
    assert [a.status for a in attempts] == ["failed"]


def test_the_budget_ends_in_the_last_error() -> None:
    attempts, result = asyncio.run(_send(Receiver(fail_first=1000, fail_status=503), policy(max_age_seconds=0.6)))
    assert isinstance(result, DeliveryError) and "HTTP 503" in str(result)
    assert 2 <= len(attempts) and all(a.status == "retry" for a in attempts)


def test_a_refused_connection_is_retried_then_fails() -> None:
    async def run() -> list[Attempt]:
        attempts: list[Attempt] = []
        _, request = webhook_request(f"http://127.0.0.1:{Receiver().port}/hook")  # nobody listens
        async with aiohttp.ClientSession() as session:
            with pytest.raises(DeliveryError):
                await send_with_retries(session, request, Channel.WEBHOOK, policy(max_age_seconds=0.4), attempts.append)
        return attempts

    assert len(asyncio.run(run())) >= 2
