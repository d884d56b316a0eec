"""Reading event files (CSV or JSON Lines), validating each row before it is produced.

A row is produced only if it validates; a rejected row goes to the reject file as one JSON
line ``{"line": N, "reasons": [{"path", "message", "type"}], "row": <the row as read>}``.
CSV columns are the event's field names (``shareholder.name`` for nested fields); empty
cells are left out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from schemas import EVENT_KINDS, EventRejected, RejectReason, validate_payload
from streams.errors import CliError


@dataclass(frozen=True)
class IngestRow:
    line: int
    payload: Any  # the parsed row, or the raw text when it is not parseable
    error: str | None = None


def detect_format(path: Path, given: str | None) -> str:
    if given:
        return given
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    raise CliError(f"cannot tell the format of {path.name}; pass --format csv or --format jsonl")


def _nest(flat: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if key is None or value is None or value == "":
            continue
        parts = key.strip().split(".")
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out


def read_rows(fh: BinaryIO, fmt: str) -> Iterator[IngestRow]:
    if fmt == "jsonl":
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                yield IngestRow(n, orjson.loads(raw))
            except orjson.JSONDecodeError as exc:
                yield IngestRow(n, raw.decode("utf-8", errors="replace").rstrip("\n"), f"not valid JSON: {exc}")
        return
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    for n, record in enumerate(reader, start=2):
        if None in record:
            yield IngestRow(n, record.get(None), "more cells than header columns")
            continue
        yield IngestRow(n, _nest(record))


def check_row(
    row: IngestRow, kind: str | None, now: datetime | None = None
) -> tuple[bytes, str, str, datetime] | EventRejected:
    """Return ``(value, kind, uscc, occurred_at)`` to produce, or the reasons the row is rejected."""
    if row.error is not None:
        return EventRejected([RejectReason("", row.error, "json")])
    payload = row.payload
    if isinstance(payload, dict) and kind is not None:
        given = payload.setdefault("kind", kind)
        if given != kind:
            return EventRejected([RejectReason("kind", f"row is {given!r} but --kind is {kind!r}", "kind_mismatch")])
    result = validate_payload(payload, now or datetime.now(UTC))
    if isinstance(result, EventRejected):
        return result
    return orjson.dumps(payload), result.kind, result.uscc, result.occurred_at


def validate_kind(kind: str | None) -> str | None:
    if kind is not None and kind not in EVENT_KINDS:
        raise CliError(f"--kind must be one of {', '.join(EVENT_KINDS)}")
    return kind
