"""Sending one notification with retries: aiohttp for the request, tenacity for the schedule.

Timeouts, connection errors, 5xx and 429 are retried with exponential backoff and full
jitter (``retry_initial_seconds`` doubling up to ``retry_max_seconds``); a ``Retry-After`` on
429 / 503 is honoured instead. No attempt starts after ``max_age_seconds`` from the first;
then the last error is raised as :class:`DeliveryError` (the caller dead-letters). Any other
4xx, or a robot's error code, fails at once. ``on_attempt`` hears of every attempt.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_before_delay,
    wait_random_exponential,
)

from config import NotifierSettings
from schemas.delivery import Channel
from sinks.channels import HttpRequest, robot_error
from sinks.errors import DeliveryError, RetryableDelivery


@dataclass(frozen=True)
class Attempt:
    """One try, as logged to ClickHouse ``notifications``."""

    attempt: int
    status: str  # delivered | retry | failed
    http_status: int
    latency_ms: float
    error: str


AttemptListener = Callable[[Attempt], None]


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date.

    >>> retry_after_seconds("3"), retry_after_seconds(None), retry_after_seconds("soon")
    (3.0, None, None)
    """
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _Wait:
    """Backoff with jitter, or the receiver's ``Retry-After``; never past the age limit."""

    def __init__(self, policy: NotifierSettings) -> None:
        self._backoff = wait_random_exponential(multiplier=policy.retry_initial_seconds, max=policy.retry_max_seconds)
        self._max_age = policy.max_age_seconds

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        wait = self._backoff(state)
        if isinstance(error, RetryableDelivery) and error.retry_after is not None:
            wait = error.retry_after
        remaining = self._max_age - (state.seconds_since_start or 0.0)
        return max(0.0, min(wait, remaining))


async def post_once(session: aiohttp.ClientSession, request: HttpRequest, channel: Channel, timeout: float) -> int:
    """One ``POST``; returns the HTTP status on success, raises a :class:`DeliveryError` otherwise."""
    try:
        async with session.post(
            request.url, data=request.body, headers=request.headers, timeout=aiohttp.ClientTimeout(total=timeout),
            allow_redirects=False,
        ) as response:  # fmt: skip
            body = await response.read()
            status = response.status
            if status == 429 or status >= 500:
                after = retry_after_seconds(response.headers.get("Retry-After")) if status in (429, 503) else None
                raise RetryableDelivery(f"HTTP {status}", status, after)
            if status >= 300:
                raise DeliveryError(f"HTTP {status}: {body[:200].decode(errors='replace')}", status)
            problem = robot_error(channel, body)
            if problem:
                raise DeliveryError(problem, status)
            return status
    except TimeoutError:
        raise RetryableDelivery(f"no answer within {timeout:g} s") from None
    except aiohttp.ClientError as exc:
        raise RetryableDelivery(f"{type(exc).__name__}: {exc}") from None


async def send_with_retries(
    session: aiohttp.ClientSession,
    request: HttpRequest,
    channel: Channel,
    policy: NotifierSettings,
    on_attempt: AttemptListener,
) -> int:
    """Deliver ``request`` or raise the last :class:`DeliveryError` once the budget is spent."""
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(RetryableDelivery),
        stop=stop_before_delay(policy.max_age_seconds),
        wait=_Wait(policy),
        sleep=asyncio.sleep,
        reraise=True,
    )
    number = 0
    async for attempt in retrying:
        with attempt:
            number += 1
            started = time.monotonic()
            try:
                status = await post_once(session, request, channel, policy.timeout_seconds)
            except DeliveryError as exc:
                kind = "retry" if isinstance(exc, RetryableDelivery) else "failed"
                on_attempt(Attempt(number, kind, exc.status, (time.monotonic() - started) * 1000, str(exc)))
                raise
            on_attempt(Attempt(number, "delivered", status, (time.monotonic() - started) * 1000, ""))
            return status
    raise DeliveryError("no attempt was made")  # unreachable: tenacity either returns or raises
