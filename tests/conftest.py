"""Session-wide fixtures: the real local Kafka broker, started once if not already running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from config import Settings
from streams import broker


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real Apache Kafka broker (KRaft) on 127.0.0.1; started here unless one answers."""
    settings = Settings()
    started = False
    if not broker.ready(settings.kafka.bootstrap_servers):
        broker.start(settings)
        started = True
    yield settings.kafka.bootstrap_servers
    if started:
        broker.stop(settings)
