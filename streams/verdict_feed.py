"""Operators' verdicts reach the rules: ``enterprise.verdicts`` → the worker's calibration.

``POST /api/alerts/{alert_id}/verdict`` records the verdict in ClickHouse ``alert_actions``
and, for an alert the database knows, writes a :class:`schemas.delivery.VerdictRecord` to
the single-partition topic ``enterprise.verdicts`` (kept forever). Every worker reads that
topic from its beginning into one :class:`detectors.verdicts.VerdictCalibration` and keeps
following it; the rules then run as strict as the verdicts say
(:func:`detectors.rules.evaluate`). One partition, read whole: every worker, and a restarted
one, learns the same verdicts in the same order. No batch runs before the topic has been
read to its end once, so a restart does not judge with less than it knew before.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import faust
import orjson
from prometheus_client import Gauge
from pydantic import ValidationError

from config import KafkaSettings
from detectors.verdicts import VerdictCalibration
from schemas.delivery import Verdict, VerdictRecord
from streams.compacted import CompactedReader
from streams.kafka_admin import ensure_topics

log = logging.getLogger(__name__)


def learn(calibration: VerdictCalibration, value: bytes | None) -> bool:
    """Apply one message of the verdicts topic; ``False`` (and nothing learned) if it is not a verdict.

    >>> cal = VerdictCalibration(step=0.1, relax=0.05, max_factor=1.5)
    >>> record = VerdictRecord(alert_id="a1", uscc="U1", alert_type="tax_collapse", verdict=Verdict.FALSE_ALARM,
    ...                        by="li")
    >>> learn(cal, record.model_dump_json().encode()), learn(cal, b"{}"), round(cal.factor("tax_collapse"), 3)
    (True, False, 1.105)
    """
    if value is None:
        return False
    try:
        record = VerdictRecord.model_validate_json(value)
    except ValidationError:
        return False
    calibration.record(record.alert_type, record.uscc, record.verdict)
    return True


ALERT_SQL = "SELECT uscc, alert_type, evidence FROM alerts FINAL WHERE alert_id = {alert_id:String} LIMIT 1"


def verdict_records(
    alert_id: str, known: tuple[str, str, str], verdict: str, by: str, at: datetime
) -> list[VerdictRecord]:
    """What a verdict on a known alert teaches: ``known`` is its (uscc, alert type, evidence).

    A verdict on a situation is a verdict on each of its findings.

    >>> from datetime import UTC
    >>> at = datetime(2026, 3, 1, tzinfo=UTC)
    >>> [r.alert_type for r in verdict_records("a1", ("U1", "layoff", "{}"), "confirmed", "li", at)]
    ['layoff']
    >>> evidence = '{"findings": ["invoice_drop", "tax_collapse"]}'
    >>> [r.alert_type for r in verdict_records("s1", ("U1", "situation", evidence), "false_alarm", "li", at)]
    ['invoice_drop', 'tax_collapse']
    """
    uscc, alert_type, evidence = known
    types = [alert_type]
    if alert_type == "situation":
        try:
            found = orjson.loads(evidence or "{}").get("findings")
        except (orjson.JSONDecodeError, AttributeError):
            found = None
        types = [t for t in found or [] if isinstance(t, str)]
    return [VerdictRecord(alert_id=alert_id, uscc=uscc, alert_type=t, verdict=Verdict(verdict), by=by, acted_at=at)
            for t in types]  # fmt: skip


class VerdictFeed:
    """Follows the verdicts topic in a thread of its own; :attr:`caught_up` once read to its end."""

    def __init__(self, kafka: KafkaSettings, calibration: VerdictCalibration, learned: Gauge | None = None) -> None:
        self.kafka = kafka
        self.calibration = calibration
        self._gauge = learned
        self.caught_up = asyncio.Event()
        self.learned = 0
        self.rejected = 0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="verdicts")

    def _poll(self, reader: CompactedReader) -> bool:
        for _, _, value in reader.poll(0.5):
            if learn(self.calibration, value):
                self.learned += 1
                if self._gauge is not None:
                    self._gauge.set(self.learned)
            else:
                self.rejected += 1
                log.warning("a message on %s is not a verdict; skipped", self.kafka.topics.verdicts)
        return reader.at_end

    def _open(self) -> CompactedReader:
        ensure_topics(self.kafka, [self.kafka.topics.verdicts])
        return CompactedReader(self.kafka, [self.kafka.topics.verdicts])

    async def run(self) -> None:
        """Read the topic to its end (then release the batches), and keep following it."""
        loop = asyncio.get_running_loop()
        try:
            reader = await loop.run_in_executor(self._thread, self._open)
        except Exception as exc:  # noqa: BLE001 - the worker runs on, uncalibrated, and says so
            log.error("cannot read %s, rules run uncalibrated: %s", self.kafka.topics.verdicts, exc)
            self.caught_up.set()
            return
        try:
            while True:
                at_end = await loop.run_in_executor(self._thread, self._poll, reader)
                if at_end and not self.caught_up.is_set():
                    log.info("verdicts read: %d learned, %d skipped", self.learned, self.rejected)
                    self.caught_up.set()
        finally:
            await loop.run_in_executor(self._thread, reader.close)


def register_verdict_feed(
    app: faust.App, kafka: KafkaSettings, calibration: VerdictCalibration, learned: Gauge | None = None
) -> VerdictFeed:
    """The feed as a task of ``app``; batches wait for :attr:`VerdictFeed.caught_up`."""
    feed = VerdictFeed(kafka, calibration, learned)

    @app.task
    async def _follow_verdicts() -> None:
        await feed.run()

    return feed
