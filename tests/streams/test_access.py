"""The access policy: tokens, roles, local access, and secrets kept out of reprs and logs."""

from __future__ import annotations

from pydantic import SecretStr

from config import AuthSettings, ClickHouseSettings, KafkaSettings, Role, Settings, WebSettings
from streams.access import Denied, authorize, bearer_token, identify, local_role, token_roles

AUTH = AuthSettings(
    viewer_tokens=SecretStr("v-1, v-2"), operator_tokens=SecretStr("o-1"), admin_tokens=SecretStr("a-1,both")
)


def test_bearer_token_is_read_from_the_header_only_with_the_bearer_scheme() -> None:
    assert bearer_token(None) is None
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer   abc  ") == "abc"
    assert bearer_token("Basic abc") == ""  # sent but not a bearer token: never the local role
    assert bearer_token("Bearer") == ""


def test_each_token_gets_its_role_and_a_token_under_two_roles_gets_the_higher() -> None:
    roles = token_roles(AUTH.model_copy(update={"viewer_tokens": SecretStr("v-1, v-2, both")}))
    assert roles == {"v-1": Role.VIEWER, "v-2": Role.VIEWER, "o-1": Role.OPERATOR, "a-1": Role.ADMIN, "both": Role.ADMIN}


def test_identify_without_token_is_401_unless_local_access_gives_a_role() -> None:
    tokens = token_roles(AUTH)
    denied = identify(tokens, None, None)
    assert isinstance(denied, Denied) and denied.status == 401
    assert identify(tokens, None, Role.ADMIN) is Role.ADMIN
    assert identify(tokens, "v-2", None) is Role.VIEWER
    assert identify(tokens, "a-1", Role.VIEWER) is Role.ADMIN
    assert isinstance(identify(tokens, "nope", Role.ADMIN), Denied)  # a bad token is never local
    assert isinstance(identify(tokens, "", Role.ADMIN), Denied)
    assert isinstance(identify({}, "", None), Denied)


def test_authorize_orders_the_roles() -> None:
    for needed in Role:
        for caller in Role:
            decision = authorize(caller, needed)
            if caller.rank >= needed.rank:
                assert decision is caller
            else:
                assert isinstance(decision, Denied) and decision.status == 403
    assert authorize(Denied(401, "x"), Role.VIEWER) == Denied(401, "x")
    assert authorize(Denied(401, "x"), None) is None  # public routes let anyone in
    assert authorize(Role.VIEWER, None) is Role.VIEWER


def test_local_role_only_on_loopback_and_only_when_allowed() -> None:
    assert local_role(AuthSettings(), WebSettings(host="127.0.0.1")) is Role.ADMIN
    assert local_role(AuthSettings(local_role=Role.VIEWER), WebSettings(host="::1")) is Role.VIEWER
    assert local_role(AuthSettings(), WebSettings(host="0.0.0.0")) is None
    assert local_role(AuthSettings(), WebSettings(host="10.0.0.5")) is None
    assert local_role(AuthSettings(local_access=False), WebSettings(host="127.0.0.1")) is None


def test_secrets_never_appear_in_reprs() -> None:
    settings = Settings(
        auth=AUTH,
        kafka=KafkaSettings(sasl_username="svc", sasl_password=SecretStr("kafka-pw")),
        clickhouse=ClickHouseSettings(url="http://ch:8123", username="entbrain", password=SecretStr("ch-pw")),
    )
    text = repr(settings) + str(settings) + settings.model_dump_json()
    for secret in ("v-1", "o-1", "a-1", "kafka-pw", "ch-pw"):
        assert secret not in text
    assert settings.auth.tokens(Role.VIEWER) == ["v-1", "v-2"]
    assert settings.auth.cli_token() == "a-1"
    assert AuthSettings(client_token=SecretStr("mine"), admin_tokens=SecretStr("a")).cli_token() == "mine"
    assert AuthSettings().cli_token() is None
