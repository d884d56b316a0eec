from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from factories import encode, invoice, make_uscc, registration, social_security, vat

from schemas import (
    EventRejected,
    InvoiceSummary,
    RegistrationEvent,
    SocialSecurityFiling,
    TaxFiling,
    check_uscc,
    decode_event,
)

NOW = datetime(2026, 11, 26, tzinfo=UTC)
USCC = make_uscc(1)


def reasons(raw: bytes) -> dict[str, str]:
    result = decode_event(raw, NOW)
    assert isinstance(result, EventRejected), result
    return {r.path: r.error_type for r in result.reasons}


def test_uscc_check_digit_accepts_valid_and_rejects_a_wrong_check_character() -> None:
    assert check_uscc(USCC) == USCC
    wrong = USCC[:-1] + ("0" if USCC[-1] != "0" else "1")
    with pytest.raises(ValueError, match="invalid USCC"):
        check_uscc(wrong)
    assert "uscc" in reasons(encode(vat(wrong, "e1", "2026-03")))


@pytest.mark.parametrize(
    ("payload", "model"),
    [
        (registration(USCC, "r1"), RegistrationEvent),
        (vat(USCC, "t1", "2026-03"), TaxFiling),
        (invoice(USCC, "i1", "2026-03-02"), InvoiceSummary),
        (social_security(USCC, "s1", "2026-03"), SocialSecurityFiling),
    ],
)
def test_each_kind_decodes_to_its_model(payload: dict[str, object], model: type) -> None:
    event = decode_event(encode(payload), NOW)
    assert isinstance(event, model)
    assert event.occurred_at.tzinfo is not None


def test_chinese_names_are_kept_intact() -> None:
    event = decode_event(encode(registration(USCC, "r1", name="杭州未来科技城数智有限公司")), NOW)
    assert isinstance(event, RegistrationEvent)
    assert event.name == "杭州未来科技城数智有限公司"


def test_missing_fields_are_named() -> None:
    payload = vat(USCC, "t1", "2026-03")
    del payload["sales_revenue"], payload["event_id"]
    got = reasons(encode(payload))
    assert got["sales_revenue"] == "missing"
    assert got["event_id"] == "missing"


@pytest.mark.parametrize(
    ("field", "value", "error_type"),
    [
        ("sales_revenue", "-5.00", "greater_than_equal"),
        ("sales_revenue", "12.345", "decimal_max_places"),
        ("sales_revenue", "NaN", "finite_number"),
        ("sales_revenue", [1], "decimal_type"),
        ("period", "2026-13", "string_pattern_mismatch"),
        ("tax_type", "sales", "enum"),
        ("credit_grade", "Z", "enum"),
        ("overdue_days", "many", "int_parsing"),
        ("surprise", 1, "extra_forbidden"),
    ],
)
def test_wrong_values_are_rejected_with_the_field_and_type(field: str, value: object, error_type: str) -> None:
    payload = vat(USCC, "t1", "2026-03")
    payload[field] = value
    assert reasons(encode(payload)).get(field) == error_type


def test_future_periods_and_dates_are_rejected() -> None:
    past = "2026-11-01T09:00:00"
    assert reasons(encode(vat(USCC, "t1", "2027-06", occurred_at=past)))["period"] == "future"
    late_invoice = invoice(USCC, "i1", "2026-12-30") | {"occurred_at": past}
    assert reasons(encode(late_invoice))["date"] == "future"
    assert reasons(encode(vat(USCC, "t1", "2026-10", occurred_at="2026-12-30T00:00:00")))["occurred_at"] == "future"


def test_not_json_not_an_object_and_unknown_kind() -> None:
    assert reasons(b'{"event_id": ') == {"": "json"}
    assert reasons(b"[1, 2]") == {"": "type"}
    assert reasons(orjson.dumps({"kind": "weather"})) == {"kind": "enum"}
    assert reasons(orjson.dumps({"kind": "tax", "record": "receipt"})) == {"record": "enum"}
    assert isinstance(decode_event(None, NOW), EventRejected)


def test_bad_district_and_industry_codes() -> None:
    payload = registration(USCC, "r1", district_code="99", industry_code="Z99")
    got = reasons(encode(payload))
    assert "district_code" in got and "industry_code" in got
