"""Log output: text for people, or one JSON object a line (``ENTBRAIN_LOG__FORMAT=json``).

A JSON line has ``ts`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``pid``, any
``extra`` fields, and ``exc`` for a traceback. Personal data is masked before anything is
written, with the rules of :mod:`streams.masking`: resident ID numbers anywhere in the
text, and the values of personal keys (``legal_representative`` …) in ``extra`` fields and
in JSON quoted inside a message.

>>> import logging
>>> record = logging.LogRecord("entbrain", logging.WARNING, __file__, 1,
...     'bad event {"legal_representative": "王伟"} id %s', ("11010519491231002X",), None)
>>> line = orjson.loads(JsonFormatter().format(record))
>>> line["message"]
'bad event {"legal_representative": "王*"} id 110105********002X'
"""

from __future__ import annotations

import logging
import os
import re
from datetime import UTC, datetime
from typing import Any

import orjson

from streams.masking import PERSONAL_KEYS, is_resident_id, mask_name, mask_personal, mask_resident_id

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_ID_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_QUOTED_PERSONAL = re.compile(r'("(?:' + "|".join(sorted(PERSONAL_KEYS)) + r')"\s*:\s*")([^"]*)(")')


def mask_text(text: str) -> str:
    """``text`` with resident ID numbers and quoted personal values masked."""
    text = _ID_CANDIDATE.sub(lambda m: mask_resident_id(m.group()) if is_resident_id(m.group()) else m.group(), text)
    return _QUOTED_PERSONAL.sub(lambda m: m.group(1) + mask_name(m.group(2)) + m.group(3), text)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, personal data masked."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_text(record.getMessage()),
            "pid": os.getpid(),
        }
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        if extra:
            line.update(mask_personal(orjson.loads(orjson.dumps(extra, default=str))))
        if record.exc_info:
            line["exc"] = mask_text(self.formatException(record.exc_info))
        return orjson.dumps(line, default=str).decode()


def use_json(logger: logging.Logger | None = None) -> None:
    """Every handler of ``logger`` (the root logger by default) writes JSON lines."""
    target = logger or logging.getLogger()
    if not target.handlers:
        target.addHandler(logging.StreamHandler())
    for handler in target.handlers:
        handler.setFormatter(JsonFormatter())
