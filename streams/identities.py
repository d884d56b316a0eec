"""Mapping files and look-ups of the identity table (``entbrain identities import|lookup``).

A mapping file is CSV with a header naming ``identifier`` and ``uscc`` columns, or JSON
Lines with those keys. ``identifier`` is ``scheme:value`` or a bare value whose format says
its scheme (:meth:`schemas.identifiers.Identifier.parse`). Every line is checked before
anything is produced: one bad line refuses the whole file, naming the line.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import orjson

from schemas.codes import check_uscc
from schemas.identifiers import Identifier, org_code_of, routing_identifier
from schemas.identity import IdentityRecord
from streams.errors import CliError


def _mapping(identifier: str, uscc: str) -> tuple[Identifier, str]:
    named = Identifier.parse(identifier)
    canonical = check_uscc(uscc.strip())
    routed = routing_identifier(named.scheme, named.value)
    if routed.scheme == "org_code" and routed.value != org_code_of(canonical):
        raise ValueError(f"{named} holds organisation code {routed.value}, not the one in USCC {canonical}")
    return routed, canonical


def read_mappings(path: Path, now: datetime) -> list[IdentityRecord]:
    """The file's mappings as identity records; :class:`CliError` naming the first bad line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    rows: list[tuple[int, str, str]] = []
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    item = orjson.loads(line)
                    rows.append((number, str(item["identifier"]), str(item["uscc"])))
                except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                    raise CliError(f"{path}:{number}: expected an object with identifier and uscc ({exc})") from None
    else:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or not {"identifier", "uscc"} <= set(reader.fieldnames):
            raise CliError(f"{path}: the header must name the columns identifier and uscc")
        rows = [(n + 2, r["identifier"] or "", r["uscc"] or "") for n, r in enumerate(reader)]
    records: dict[str, IdentityRecord] = {}
    for number, identifier, uscc in rows:
        try:
            routed, canonical = _mapping(identifier, uscc)
        except ValueError as exc:
            raise CliError(f"{path}:{number}: {exc}") from None
        records[str(routed)] = IdentityRecord(identifier=str(routed), uscc=canonical, origin="import",
                                              source=path.name, learned_at=now)  # fmt: skip
    return list(records.values())


def lookup(identities: dict[str, bytes], text: str) -> list[IdentityRecord]:
    """What the identity table says of ``text``: a legacy identifier's USCC, or a USCC's identifiers."""
    text = text.strip()
    if len(text) == 18:
        try:
            uscc = check_uscc(text)
        except ValueError:
            uscc = ""
        if uscc:
            found = [IdentityRecord.model_validate_json(v) for v in identities.values()]
            return sorted((r for r in found if r.uscc == uscc), key=lambda r: r.identifier)
    try:
        named = Identifier.parse(text)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    stored = identities.get(str(routing_identifier(named.scheme, named.value)))
    return [IdentityRecord.model_validate_json(stored)] if stored else []
