"""``/api/alerts/stream`` against a real broker and worker: resuming across a killed worker.

Alerts are produced straight to the isolated alerts topic, repeats included (what a crashed
worker writes again). A client reads part of them, the worker is killed (SIGKILL) and more
alerts arrive while it is down; the client resumes on the restarted worker with the id of the
last event it got. Together the two connections must hold every (alert_id, version) of the
topic once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from schemas import Alert
from streams.alert_stream import AlertFilter
from streams.kafka_admin import ensure_topics, make_producer
from streams.tail import tail_alerts
from tests.delivery_fixtures import make_alert
from tests.integration.worker_fixtures import WorkerProcess, isolated_env, read_topic, settings_from
from tests.sse_client import EventStream


@pytest.fixture
def env(tmp_path: Path, kafka_bootstrap: str) -> Iterator[dict[str, str]]:
    yield {**isolated_env(tmp_path, kafka_bootstrap), "ENTBRAIN_NOTIFIER__ENABLED": "false"}


def produce_alerts(env: dict[str, str], alerts: list[Alert]) -> None:
    settings = settings_from(env)
    ensure_topics(settings.kafka)
    producer = make_producer(settings.kafka)
    for alert in alerts:
        producer.produce(settings.kafka.topics.alerts, key=alert.uscc.encode(), value=alert.model_dump_json().encode())
    assert producer.flush(30) == 0


def identities(events: list[tuple[str, dict[str, object]]]) -> list[tuple[str, int]]:
    return [(str(a["alert_id"]), int(a["version"])) for _, a in events]  # type: ignore[call-overload]


def test_resuming_after_a_killed_worker_misses_nothing_and_repeats_nothing(env: dict[str, str], tmp_path: Path) -> None:
    settings = settings_from(env)
    before = [make_alert(n) for n in range(1, 21)]
    produce_alerts(env, before[:10])
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        stream = EventStream(worker.settings.web.base_url)  # no Last-Event-ID: from now on
        produce_alerts(env, [*before[10:], before[3], before[12]])  # two repeats, as after a crash
        got_first = stream.events(7, timeout=30)
        stream.close()
        assert len(got_first) == 7
        worker.kill()
        # while the worker is down: more alerts, new versions, and repeats of served and unserved ones
        after = [make_alert(n) for n in range(21, 31)] + [make_alert(n, version=2, state="updated") for n in (2, 15)]
        produce_alerts(env, [*after, before[11], before[18], after[0]])
        worker = WorkerProcess(env, tmp_path / "worker.log").start()
        resumed = EventStream(worker.settings.web.base_url, last_event_id=got_first[-1][0])
        got_second = resumed.events(1000, timeout=10)
        resumed.close()
        # a fresh client with a severity filter: nothing below it; an unknown severity is refused
        critical = EventStream(worker.settings.web.base_url, last_event_id=got_first[-1][0], query="severity=critical")
        assert critical.events(1, timeout=3) == []
        critical.close()
    finally:
        worker.stop()
    topic = [orjson.loads(m.value()) for m in read_topic(settings.kafka.bootstrap_servers, settings.kafka.topics.alerts)]
    assert len(topic) == 10 + 12 + 15
    served = Counter(identities(got_first) + identities(got_second))
    # everything that came after the first connection began; before[3] is a repeat of an older one
    wanted = {(a["alert_id"], a["version"]) for a in topic} - {(a.alert_id, a.version) for a in before[:10]}
    assert max(served.values()) == 1, f"sent twice: {[k for k, n in served.items() if n > 1]}"
    assert set(served) == wanted
    assert len(got_second) == len(wanted) - 7


def test_alerts_tail_filters_and_drops_repeats(env: dict[str, str]) -> None:
    settings = settings_from(env)
    alerts = [make_alert(n) for n in range(1, 7)] + [make_alert(4, severity="critical", version=2, state="updated")]
    produce_alerts(env, [*alerts, alerts[3], alerts[6]])  # two repeats

    def tail(**filters: str) -> list[tuple[str, int]]:
        got = tail_alerts(settings, from_beginning=True, idle_seconds=3, wanted=AlertFilter.from_query(filters),
                          district_of=lambda uscc: "330110" if uscc == alerts[5].uscc else "320100")  # fmt: skip
        return sorted((a["alert_id"], a["version"]) for a in got)

    assert tail() == sorted((a.alert_id, a.version) for a in alerts)
    assert tail(uscc=alerts[3].uscc) == [("A0004", 1), ("A0004", 2)]
    assert tail(severity="critical") == [("A0004", 2)]
    assert tail(district="3301", type="tax_collapse") == [("A0006", 1)]
    assert tail(type="layoff") == []
