"""JSON log lines, with personal data masked."""

from __future__ import annotations

import logging

import orjson

from streams.logs import JsonFormatter, mask_text

RESIDENT_ID = "11010519491231002X"


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("streams.app", logging.WARNING, __file__, 10, message, args, None)
    made.__dict__.update(extra)
    return made


def test_a_record_is_one_json_object_with_its_fields() -> None:
    line = JsonFormatter().format(record("batch of %d committed", 40, partition=3))
    assert "\n" not in line
    parsed = orjson.loads(line)
    assert parsed["message"] == "batch of 40 committed" and parsed["level"] == "WARNING"
    assert parsed["logger"] == "streams.app" and parsed["partition"] == 3 and parsed["ts"].endswith("+00:00")


def test_personal_data_is_masked_in_text_and_in_extra_fields() -> None:
    line = orjson.loads(JsonFormatter().format(record(
        "rejected %s", f'{{"legal_representative": "王伟", "id": "{RESIDENT_ID}"}}',
        legal_representative="李娜", evidence={"resident_id": RESIDENT_ID},
    )))  # fmt: skip
    text = orjson.dumps(line).decode()
    assert RESIDENT_ID not in text and "王伟" not in text and "李娜" not in text
    assert '"王*"' in line["message"] and line["legal_representative"] == "李*"
    assert line["evidence"]["resident_id"] == "110105********002X"


def test_a_traceback_is_one_field_and_masked() -> None:
    try:
        raise ValueError(f"bad id {RESIDENT_ID}")
    except ValueError:
        import sys

        made = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = orjson.loads(JsonFormatter().format(made))
    assert "ValueError" in line["exc"] and RESIDENT_ID not in line["exc"]


def test_numbers_that_are_not_resident_ids_stay() -> None:
    assert mask_text("offset 123456789012345678 of 91330106MA27XXXX") == "offset 123456789012345678 of 91330106MA27XXXX"


def test_the_worker_leaves_debug_records_unbuilt_at_its_log_level() -> None:
    import faust

    from streams.worker import JsonLogWorker, ServiceWorker

    saved = logging.root.level, list(logging.root.handlers)
    try:
        for kind in (ServiceWorker, JsonLogWorker):
            app = faust.App("log-level-check", broker="kafka://127.0.0.1:1")
            kind(app, loglevel="WARNING", quiet=True)._setup_logging()
            assert not logging.getLogger("faust.topics").isEnabledFor(logging.DEBUG), kind.__name__
            assert not logging.getLogger("aiokafka.producer").isEnabledFor(logging.INFO), kind.__name__
            assert logging.getLogger("streams.app").isEnabledFor(logging.WARNING), kind.__name__
    finally:
        logging.root.setLevel(saved[0])
        logging.root.handlers[:] = saved[1]
