"""Legacy identifier formats, check digits, routing, and legacy-keyed decoding."""

from __future__ import annotations

import orjson
import pytest
from factories import (
    legacy_keyed,
    legacy_uscc,
    make_uscc,
    registration_number,
    social_security,
    sole_proprietor_taxpayer_id,
)

from schemas import EventRejected, SocialSecurityFiling
from schemas.decode import LegacyKeyed, decode_input
from schemas.identifiers import (
    Identifier,
    check_org_code,
    check_registration_number,
    check_taxpayer_id,
    derived_identifiers,
    org_code_of,
    routing_identifier,
)


def test_organisation_code_check_character() -> None:
    assert check_org_code("123456788") == "123456788"
    with pytest.raises(ValueError, match="check character"):
        check_org_code("123456789")
    with pytest.raises(ValueError, match="8 digits or capitals"):
        check_org_code("12345678")


def test_registration_number_and_taxpayer_ids() -> None:
    number = registration_number(5)
    assert check_registration_number(number) == number
    with pytest.raises(ValueError, match="MOD 11,10"):
        check_registration_number(number[:-1] + str((int(number[-1]) + 1) % 10))
    assert check_taxpayer_id("330106123456788") == "330106123456788"
    with pytest.raises(ValueError, match="check character"):
        check_taxpayer_id("330106123456789")
    sole = sole_proprietor_taxpayer_id(7)
    assert check_taxpayer_id(sole) == sole
    with pytest.raises(ValueError, match="identity card"):
        check_taxpayer_id(sole[:17] + ("0" if sole[17] != "0" else "1") + sole[18:])
    with pytest.raises(ValueError, match="neither 15 nor 20"):
        check_taxpayer_id("1234")


def test_routing_reads_the_organisation_code_inside_a_taxpayer_id() -> None:
    assert routing_identifier("taxpayer_id", "330106123456788") == Identifier("org_code", "123456788")
    sole = sole_proprietor_taxpayer_id(1)
    assert routing_identifier("taxpayer_id", sole) == Identifier("taxpayer_id", sole)
    assert Identifier.parse("123456788") == Identifier("org_code", "123456788")
    assert Identifier.parse(f"registration_number:{registration_number(2)}").scheme == "registration_number"
    with pytest.raises(ValueError, match="unknown identifier scheme"):
        Identifier.parse("passport:123")


def test_only_a_valid_embedded_code_is_derived_from_a_uscc() -> None:
    old = legacy_uscc(12)
    assert derived_identifiers(old) == [Identifier("org_code", org_code_of(old))]
    assert derived_identifiers(make_uscc(12)) == []  # an MA… code without a GB 11714 check character


def test_a_legacy_keyed_event_is_validated_and_named_by_its_identifier() -> None:
    u = legacy_uscc(3)
    event = legacy_keyed(social_security(u, "s1", "2025-01"), taxpayer_id="330110" + org_code_of(u))
    decoded = decode_input(orjson.dumps(event))
    assert isinstance(decoded, LegacyKeyed)
    assert decoded.routing == Identifier("org_code", org_code_of(u))
    rekeyed = orjson.loads(decoded.with_uscc(u))
    assert rekeyed["uscc"] == u and rekeyed["resolved_from"] == f"taxpayer_id:330110{org_code_of(u)}"
    again = decode_input(decoded.with_uscc(u))
    assert isinstance(again, SocialSecurityFiling) and again.uscc == u


def test_malformed_legacy_events_and_contradicting_identifiers_are_rejected() -> None:
    u = legacy_uscc(3)
    bad_id = legacy_keyed(social_security(u, "s1", "2025-01"), org_code="123456789")
    rejected = decode_input(orjson.dumps(bad_id))
    assert isinstance(rejected, EventRejected) and rejected.reasons[0].path == "org_code"
    bad_field = legacy_keyed(social_security(u, "s1", "2025-01", insured_headcount=-1), org_code=org_code_of(u))
    assert isinstance(decode_input(orjson.dumps(bad_field)), EventRejected)
    other = legacy_uscc(4)
    mismatch = social_security(u, "s1", "2025-01", org_code=org_code_of(other))
    rejected = decode_input(orjson.dumps(mismatch))
    assert isinstance(rejected, EventRejected) and rejected.reasons[0].error_type == "identifier_mismatch"
