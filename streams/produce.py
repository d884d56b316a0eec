"""Producing input events to Kafka with a progress bar (simulate, ingest)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from config import Settings
from streams.kafka_admin import ensure_topics, make_producer


@dataclass
class ProduceReport:
    produced: int = 0
    failed: int = 0
    seconds: float = 0.0


def produce_all(
    settings: Settings,
    messages: Iterable[tuple[str, bytes, bytes] | tuple[str, bytes, bytes, int]],
    total: int | None = None,
    rate: float | None = None,
    label: str = "producing",
    show_progress: bool = True,
) -> ProduceReport:
    """Produce ``(kind, key, value[, timestamp_ms])`` to the kind's input topic; wait for delivery.

    ``timestamp_ms`` is the record's Kafka timestamp (the business send time, see
    :mod:`streams.send_times`); without it the broker's clock stamps the record.
    """
    ensure_topics(settings.kafka)
    producer = make_producer(settings.kafka)
    report = ProduceReport()
    errors: list[KafkaError] = []

    def delivered(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            errors.append(err)

    started = time.monotonic()
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        disable=not show_progress,
    ) as progress:  # fmt: skip
        task = progress.add_task(label, total=total)
        for i, message in enumerate(messages):
            kind, key, value = message[0], message[1], message[2]
            stamp = message[3] if len(message) > 3 else 0  # type: ignore[misc]  # 0: the broker's clock
            topic = settings.kafka.topics.for_kind(kind)
            while True:
                try:
                    producer.produce(topic, key=key, value=value, on_delivery=delivered, timestamp=stamp)
                    break
                except BufferError:
                    producer.poll(0.05)
            report.produced += 1
            if i % 1000 == 0:
                producer.poll(0)
                progress.update(task, completed=report.produced)
            if rate:
                ahead = report.produced / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        producer.flush()
        progress.update(task, completed=report.produced)
    report.failed = len(errors)
    report.seconds = time.monotonic() - started
    if errors:
        raise RuntimeError(f"{len(errors)} messages were not delivered; first error: {errors[0]}")
    return report
