"""Decoding raw bytes into events; never raises, always says why.

:func:`decode_event` is the single entry for every byte string read from Kafka or a file.
It returns either an :data:`~schemas.events.Event` or an :class:`EventRejected` holding
structured reasons (field path, message, error type) for the dead-letter topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.errors import EventRejected, RejectReason
from schemas.events import (
    SHANGHAI,
    Event,
    InvoiceSummary,
    RegistrationEvent,
    SocialSecurityFiling,
    TaxFiling,
)
from schemas.identifiers import SCHEMES, Identifier, org_code_of, routing_identifier

FUTURE_TOLERANCE = timedelta(days=1)
# Nothing we store predates 1900 (ClickHouse DateTime64's lower bound); year-1 times with a
# positive offset would also overflow when converted to Asia/Shanghai in business_month().
EARLIEST = datetime(1900, 1, 1, tzinfo=SHANGHAI)
EARLIEST_DATE = EARLIEST.date()
MAX_EVENT_BYTES = 1_000_000


def _reject(path: str, message: str, error_type: str) -> EventRejected:
    return EventRejected([RejectReason(path, message, error_type)])


def _model_for(payload: dict[str, Any]) -> type[Event] | EventRejected:
    kind = payload.get("kind")
    if kind == "registration":
        return RegistrationEvent
    if kind == "social_security":
        return SocialSecurityFiling
    if kind == "tax":
        record = payload.get("record", "filing")
        if record == "filing":
            return TaxFiling
        if record == "invoice":
            return InvoiceSummary
        return _reject("record", f"unknown tax record {record!r} (expected 'filing' or 'invoice')", "enum")
    return _reject(
        "kind", f"unknown kind {kind!r} (expected registration, tax or social_security)", "enum"
    )


def _too_early(event: Event) -> EventRejected | None:
    if event.occurred_at < EARLIEST:
        return _reject("occurred_at", f"{event.occurred_at.isoformat()} is before 1900", "too_early")
    if isinstance(event, TaxFiling | SocialSecurityFiling) and event.period < "1900-01":
        return _reject("period", f"period {event.period} is before 1900", "too_early")
    if isinstance(event, InvoiceSummary) and event.date < EARLIEST_DATE:
        return _reject("date", f"date {event.date.isoformat()} is before 1900", "too_early")
    return None


def _too_late(event: Event, now: datetime) -> EventRejected | None:
    limit = now + FUTURE_TOLERANCE
    if event.occurred_at > limit:
        return _reject("occurred_at", f"{event.occurred_at.isoformat()} is in the future", "future")
    # Shanghai is ahead of UTC: a period or date not past the limit's UTC month or day is not
    # past its Shanghai one either (the common case, without converting the limit).
    utc = limit.astimezone(UTC)
    if isinstance(event, TaxFiling | SocialSecurityFiling):
        if event.period > f"{utc.year:04d}-{utc.month:02d}" and event.period > limit.astimezone(SHANGHAI).strftime("%Y-%m"):
            return _reject("period", f"period {event.period} is in the future", "future")
    elif isinstance(event, InvoiceSummary):
        if event.date > utc.date() and event.date > limit.astimezone(SHANGHAI).date():
            return _reject("date", f"date {event.date.isoformat()} is in the future", "future")
    return None


def validate_payload(payload: Any, now: datetime | None = None) -> Event | EventRejected:
    """Validate an already-parsed JSON value."""
    if not isinstance(payload, dict):
        return _reject("", f"event must be a JSON object, got {type(payload).__name__}", "type")
    model = _model_for(payload)
    if isinstance(model, EventRejected):
        return model
    try:
        event = model.model_validate(payload)
    except ValidationError as exc:
        return EventRejected(
            [
                RejectReason(
                    ".".join(str(p) for p in err["loc"]),
                    str(err["msg"]),
                    str(err["type"]),
                )
                for err in exc.errors(include_url=False)
            ]
        )
    except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:
        return _reject("", f"unreadable value: {exc}", "value_error")
    out_of_range = _too_early(event) or _too_late(event, now or datetime.now(UTC))
    return out_of_range if out_of_range is not None else event


# A valid USCC that stands in for the unknown one while a legacy-keyed event is validated.
PLACEHOLDER_USCC = "91000000MA0000000N"


@dataclass(frozen=True)
class LegacyKeyed:
    """A valid event that names its enterprise by a legacy identifier instead of a USCC.

    ``event`` was validated with :data:`PLACEHOLDER_USCC`; ``payload`` is the original JSON
    object, which :meth:`with_uscc` completes once the identifier is resolved.
    """

    named: Identifier
    event: Event
    payload: dict[str, Any]

    @property
    def routing(self) -> Identifier:
        return routing_identifier(self.named.scheme, self.named.value)

    def with_uscc(self, uscc: str) -> bytes:
        return with_uscc(self.payload, uscc, str(self.named))


def with_uscc(payload: dict[str, Any], uscc: str, resolved_from: str) -> bytes:
    """The event re-keyed: its original fields, the resolved ``uscc`` and what it was named by."""
    kept = {k: v for k, v in payload.items() if k not in ("uscc", "resolved_from")}
    return orjson.dumps({"uscc": uscc, **kept, "resolved_from": resolved_from})


def _legacy_named(event: Event) -> Identifier | None:
    """The identifier a legacy-keyed event is resolved by (derivable schemes first)."""
    if event.org_code:
        return Identifier("org_code", event.org_code)
    if event.taxpayer_id and len(event.taxpayer_id) == 15:
        return Identifier("taxpayer_id", event.taxpayer_id)
    if event.registration_number:
        return Identifier("registration_number", event.registration_number)
    if event.taxpayer_id:
        return Identifier("taxpayer_id", event.taxpayer_id)
    return None


def _inconsistent(event: Event) -> EventRejected | None:
    """A legacy identifier that contradicts the USCC it comes with (GB 32100 embeds the code)."""
    code = org_code_of(event.uscc)
    if event.org_code and event.org_code != code:
        return _reject("org_code", f"organisation code {event.org_code} is not the one in USCC {event.uscc}",
                       "identifier_mismatch")  # fmt: skip
    if event.taxpayer_id and len(event.taxpayer_id) == 15 and event.taxpayer_id[6:] != code:
        return _reject("taxpayer_id", f"taxpayer id {event.taxpayer_id} does not hold the organisation code "
                       f"of USCC {event.uscc}", "identifier_mismatch")  # fmt: skip
    return None


def decode_input(raw: bytes | None, now: datetime | None = None) -> Event | LegacyKeyed | EventRejected:
    """Like :func:`decode_event`, but an object without ``uscc`` that names a legacy
    identifier is validated as if its enterprise were known and returned as :class:`LegacyKeyed`."""
    if raw is None or len(raw) > MAX_EVENT_BYTES:
        return decode_event(raw, now)
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _reject("", f"not valid JSON: {exc}", "json")
    if not isinstance(payload, dict) or "uscc" in payload or not any(payload.get(s) for s in SCHEMES):
        decoded = validate_payload(payload, now)
        if isinstance(decoded, EventRejected):
            return decoded
        return _inconsistent(decoded) or decoded
    decoded = validate_payload({**payload, "uscc": PLACEHOLDER_USCC}, now)
    if isinstance(decoded, EventRejected):
        return decoded
    named = _legacy_named(decoded)
    assert named is not None  # a scheme field is present and valid
    return LegacyKeyed(named, decoded, payload)


def decode_event(raw: bytes | None, now: datetime | None = None) -> Event | EventRejected:
    """Decode one message value; the result is an event or the reasons it was rejected."""
    if raw is None:
        return _reject("", "empty message (null value)", "empty")
    if len(raw) > MAX_EVENT_BYTES:
        return _reject("", f"message of {len(raw)} bytes exceeds {MAX_EVENT_BYTES}", "too_large")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _reject("", f"not valid JSON: {exc}", "json")
    return validate_payload(payload, now)
