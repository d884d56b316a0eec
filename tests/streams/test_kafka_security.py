"""Kafka security settings reach confluent-kafka and Faust the same way."""

from __future__ import annotations

from faust.auth import SASLCredentials, SSLCredentials
from pydantic import SecretStr

from config import KafkaSettings
from streams.kafka_security import confluent_config, faust_credentials


def test_plaintext_is_the_default_and_has_no_credentials() -> None:
    kafka = KafkaSettings(bootstrap_servers="b:9092")
    assert confluent_config(kafka) == {"bootstrap.servers": "b:9092", "security.protocol": "PLAINTEXT"}
    assert faust_credentials(kafka) is None


def test_sasl_ssl_passes_user_password_mechanism_and_ca() -> None:
    kafka = KafkaSettings(
        bootstrap_servers="b:9093", security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
        sasl_username="svc", sasl_password=SecretStr("pw"), ssl_cafile=None,
    )  # fmt: skip
    conf = confluent_config(kafka)
    assert conf["security.protocol"] == "SASL_SSL" and conf["sasl.mechanism"] == "SCRAM-SHA-512"
    assert conf["sasl.username"] == "svc" and conf["sasl.password"] == "pw"
    creds = faust_credentials(kafka)
    assert isinstance(creds, SASLCredentials)
    assert creds.username == "svc" and creds.password == "pw" and creds.ssl_context is not None
    assert "pw" not in repr(kafka)


def test_ssl_only_gets_a_context() -> None:
    assert isinstance(faust_credentials(KafkaSettings(security_protocol="SSL")), SSLCredentials)
    conf = confluent_config(KafkaSettings(security_protocol="SSL", ssl_cafile="/etc/ssl/ca.pem"))  # type: ignore[arg-type]
    assert conf["ssl.ca.location"] == "/etc/ssl/ca.pem" and "sasl.username" not in conf
