"""Property tests: ``decode_event`` never raises, and what it accepts is really valid.

About 11,000 generated or mutated payloads in total: arbitrary bytes, arbitrary JSON (huge
numbers, NaN/Infinity, odd Unicode incl. lone surrogates, RTL marks, emoji, NUL), valid
events with one field broken, extreme timestamps, deep nesting, and simulator messages with
bytes flipped, cut or deleted.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from schemas.decode import decode_event, validate_payload
from schemas.errors import EventRejected
from schemas.events import EVENT_MODELS, SocialSecurityFiling, business_month
from simulator import SimulationConfig, simulate

NOW = datetime(2026, 11, 1, tzinfo=UTC)
USCC = "91330110MA2H3K4L5F"
MONEY_FIELDS = (
    "sales_revenue",
    "tax_payable",
    "tax_paid",
    "rd_expense",
    "amount",
    "contribution_base",
    "paid",
    "arrears",
    "registered_capital",
)


def budget(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


_COMMON = {"event_id": "e-1", "uscc": USCC, "occurred_at": "2026-03-05T10:00:00+08:00", "source": "test"}
TEMPLATES: dict[str, dict[str, Any]] = {
    "registration": {
        **_COMMON,
        "kind": "registration",
        "change": "establishment",
        "name": "杭州云帆软件科技有限公司",
        "district_code": "330110",
        "in_park": True,
        "address": "浙江省杭州市余杭区文一西路1号",
        "legal_representative": "王伟",
        "registered_capital": "5000000.00",
        "industry_code": "I6510",
        "status": "active",
        "shareholder": {"name": "李娜", "capital_injection": "100000.00"},
    },
    "vat": {
        **_COMMON,
        "kind": "tax",
        "record": "filing",
        "period": "2026-02",
        "tax_type": "vat",
        "sales_revenue": "120000.50",
        "tax_payable": "7200.03",
        "tax_paid": "7200.03",
        "high_tech": True,
        "credit_grade": "A",
        "overdue_days": 0,
    },
    "invoice": {
        **_COMMON,
        "kind": "tax",
        "record": "invoice",
        "date": "2026-03-04",
        "invoices_issued": 12,
        "amount": "35000.00",
    },
    "social_security": {
        **_COMMON,
        "kind": "social_security",
        "period": "2026-03",
        "insured_headcount": 25,
        "contribution_base": "250000.00",
        "paid": "91250.00",
        "arrears": "0.00",
    },
}
# NUL, RTL/LTR marks, zero-width, BOM, emoji (incl. a flag pair), lone surrogates, combining marks
ODD_PIECES = [
    "\x00",
    "\u202e",
    "\u200f",
    "\u200b",
    "\ufeff",
    "😀",
    "🇨🇳",
    "\ud800",
    "\udfff",
    "\U0010ffff",
    "﷽",
    "Ω",
    "Z̴̢",
    "\x7f",
    "\\",
    '"',
    "\n",
    "中",
]

odd_text = st.lists(st.sampled_from(ODD_PIECES) | st.characters(), max_size=16).map("".join)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | odd_text
    | st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-0", "0.001", "9" * 40, "", " ", "null"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(odd_text | st.sampled_from(list(TEMPLATES["vat"])), children, max_size=4)
    ),
    max_leaves=12,
)


def _dumps(value: Any, ascii_only: bool) -> bytes:
    """Serialise with the stdlib: it writes NaN/Infinity tokens and (unless ascii-only) raw surrogates."""
    return json.dumps(value, ensure_ascii=ascii_only, allow_nan=True).encode("utf-8", "surrogatepass")


def check(result: object) -> None:
    """The decoder's contract: an event that is really valid, or structured, printable reasons."""
    if isinstance(result, EventRejected):
        assert result.reasons
        for reason in result.reasons:
            assert isinstance(reason.path, str) and isinstance(reason.message, str)
            assert isinstance(reason.error_type, str) and reason.error_type
            orjson.dumps(reason.as_dict())  # dead letters must serialise (no lone surrogates)
        str(result)
        return
    assert isinstance(result, EVENT_MODELS)
    assert stdnum_uscc.is_valid(result.uscc)
    assert re.fullmatch(r"(19|2\d)\d{2}-(0[1-9]|1[0-2])", business_month(result))  # type: ignore[arg-type]
    for name in MONEY_FIELDS:
        value = getattr(result, name, None)
        if isinstance(value, Decimal):
            assert value.is_finite() and value >= 0 and value.as_tuple().exponent >= -2  # type: ignore[operator]
    assert result.occurred_at <= NOW + timedelta(days=1)
    result.model_dump_json()


# raw and arbitrary input ------------------------------------------------------------------
@budget(2000)
@given(st.binary(max_size=400))
def test_arbitrary_bytes(raw: bytes) -> None:
    check(decode_event(raw, NOW))


@budget(1500)
@given(json_values, st.booleans())
def test_arbitrary_json(value: Any, ascii_only: bool) -> None:
    check(decode_event(_dumps(value, ascii_only), NOW))


@budget(400)
@given(
    st.integers(min_value=1, max_value=5000),
    st.sampled_from(["[", '{"a":']),
    st.sampled_from(list(TEMPLATES)),
    st.booleans(),
)
def test_deep_nesting(depth: int, opener: str, template: str, inside: bool) -> None:
    closer = "]" if opener == "[" else "}"
    nested = opener * depth + "1" + closer * depth
    if inside:  # deep value in an otherwise valid event
        raw = (
            orjson.dumps({**TEMPLATES[template], "name": "x"})[:-1]
            + b',"shareholder":'
            + nested.encode()
            + b"}"
        )
    else:
        raw = nested.encode()
    check(decode_event(raw, NOW))
    check(validate_payload(_nest(depth), NOW))


def _nest(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {**TEMPLATES["registration"]}
    inner: dict[str, Any] = value
    for _ in range(min(depth, 3000)):
        inner["shareholder"] = {"name": "x"}
        inner = inner["shareholder"]
    return value


# valid events with one thing wrong --------------------------------------------------------
@st.composite
def mutated_events(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    payload = dict(TEMPLATES[draw(st.sampled_from(list(TEMPLATES)))])
    action = draw(st.sampled_from(["replace", "delete", "extra", "money", "uscc", "text", "none"]))
    if action == "replace":
        payload[draw(st.sampled_from(list(payload)))] = draw(json_values)
    elif action == "delete":
        del payload[draw(st.sampled_from(list(payload)))]
    elif action == "extra":
        payload[draw(odd_text.filter(lambda k: k not in payload))] = draw(json_values)
    elif action == "money":
        field = draw(st.sampled_from([f for f in MONEY_FIELDS if f in payload] or ["paid"]))
        payload[field] = draw(
            st.decimals(allow_nan=True, allow_infinity=True).map(str)
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.integers(min_value=-(2**63), max_value=2**63 - 1)
            | st.sampled_from(
                ["-1.00", "NaN", "sNaN", "-Infinity", "1e400", "1E-400", "0.001", "1" * 19, "-0.00"]
            )
        )
    elif action == "uscc":
        pos = draw(st.integers(min_value=0, max_value=17))
        char = draw(st.sampled_from("0123456789ABCDEFGHJKLMNPQRTUWXYIOZSV").filter(lambda c: c != USCC[pos]))
        payload["uscc"] = USCC[:pos] + char + USCC[pos + 1 :]
    elif action == "text":
        payload[draw(st.sampled_from(["event_id", "source", "name", "address", "legal_representative"]))] = (
            draw(odd_text)
        )
    return payload, action


@budget(3000)
@given(mutated_events(), st.booleans())
def test_mutated_events(mutation: tuple[dict[str, Any], str], ascii_only: bool) -> None:
    payload, action = mutation
    result = decode_event(_dumps(payload, ascii_only), NOW)
    check(result)
    if action == "uscc":  # one changed character always breaks the check digit or the format
        assert isinstance(result, EventRejected)


@budget(1000)
@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
    st.one_of(
        st.none(),
        st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m))),
    ),
    st.sampled_from(list(TEMPLATES)),
)
def test_extreme_timestamps(moment: datetime, zone: timezone | None, template: str) -> None:
    text = moment.replace(tzinfo=zone).isoformat()
    payload = {**TEMPLATES[template], "occurred_at": text}
    check(decode_event(orjson.dumps(payload), NOW))
    if template == "invoice":
        check(
            decode_event(
                orjson.dumps({**payload, "occurred_at": _COMMON["occurred_at"], "date": text[:10]}), NOW
            )
        )


# simulator messages, damaged in transit -----------------------------------------------------
SIMULATED = [
    m.value
    for m in simulate(
        SimulationConfig(
            enterprises=40, months=3, seed=11, end_month="2026-09", invalid_rate=0.0, duplicate_rate=0.0
        )
    )
][::10]


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    value = bytearray(draw(st.sampled_from(SIMULATED)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        op = draw(st.sampled_from(["flip", "truncate", "delete", "insert"]))
        if not value:
            break
        pos = draw(st.integers(min_value=0, max_value=len(value) - 1))
        if op == "flip":
            value[pos] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif op == "truncate":
            del value[pos:]
        elif op == "delete":
            del value[pos : pos + draw(st.integers(min_value=1, max_value=20))]
        else:
            value[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(value)


def test_simulated_messages_are_valid() -> None:
    assert len(SIMULATED) > 100
    for value in SIMULATED:
        assert not isinstance(decode_event(value, NOW), EventRejected)


@budget(2500)
@given(damaged())
def test_damaged_simulator_messages(raw: bytes) -> None:
    check(decode_event(raw, NOW))


def test_null_and_oversized_messages() -> None:
    check(decode_event(None, NOW))
    check(decode_event(b" " * 1_000_001, NOW))
    check(decode_event(b"", NOW))


def test_an_amount_with_trailing_zeros_past_the_cents_is_kept_in_cents() -> None:
    """Found by ``test_damaged_simulator_messages``: ``"68508.600"`` passed the two-decimal
    check (it is 68508.6) but kept three places."""
    raw = (b'{"event_id":"100afff9-0000003a3","uscc":"91330110MABAN5XGPL","kind":"social_security",'
           b'"occurred_at":"2026-08-22T12:39:49+08:00","source":"sim-hrss","schema_version":1,"period":"2026-08",'
           b'"insured_headcount":12,"contribution_base":"187694.85","paid":"68508.600"}')  # fmt: skip
    event = decode_event(raw, NOW)
    check(event)
    assert isinstance(event, SocialSecurityFiling)
    assert event.paid == Decimal("68508.60") and str(event.paid) == "68508.60"
    rejected = decode_event(raw.replace(b'"68508.600"', b'"68508.605"'), NOW)
    assert isinstance(rejected, EventRejected)  # a third decimal that is not zero is still refused
