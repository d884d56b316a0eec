"""Connection security for every Kafka client: confluent-kafka and Faust (aiokafka).

One place turns ``ENTBRAIN_KAFKA__SECURITY_PROTOCOL`` / ``SASL_*`` / ``SSL_CAFILE`` into
each client's own options, so the producers, admin, replay and tail tools and the worker
connect the same way. The password is read from its ``SecretStr`` only here.
"""

from __future__ import annotations

import ssl
from typing import Any

from faust.auth import SASLCredentials, SSLCredentials
from faust.types.auth import CredentialsT

from config import KafkaSettings


def confluent_config(kafka: KafkaSettings) -> dict[str, Any]:
    """``bootstrap.servers`` and the security options of a confluent-kafka client."""
    conf: dict[str, Any] = {"bootstrap.servers": kafka.bootstrap_servers, "security.protocol": kafka.security_protocol}
    if kafka.security_protocol.startswith("SASL"):
        conf["sasl.mechanism"] = kafka.sasl_mechanism
        conf["sasl.username"] = kafka.sasl_username or ""
        conf["sasl.password"] = kafka.sasl_password.get_secret_value() if kafka.sasl_password else ""
    if kafka.ssl_cafile is not None and kafka.security_protocol.endswith("SSL"):
        conf["ssl.ca.location"] = str(kafka.ssl_cafile)
    return conf


def _ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    cafile = str(kafka.ssl_cafile) if kafka.ssl_cafile is not None else None
    return ssl.create_default_context(purpose=ssl.Purpose.SERVER_AUTH, cafile=cafile)


def faust_credentials(kafka: KafkaSettings) -> CredentialsT | None:
    """Faust's ``broker_credentials`` for the same settings (``None`` for PLAINTEXT)."""
    protocol = kafka.security_protocol
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return SSLCredentials(_ssl_context(kafka))
    password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
    return SASLCredentials(
        username=kafka.sasl_username,
        password=password,
        mechanism=kafka.sasl_mechanism,
        ssl_context=_ssl_context(kafka) if protocol == "SASL_SSL" else None,
    )
