"""``entbrain identities import FILE`` and ``entbrain identities lookup ID``.

Both work on the identity table's compacted topic (the system of record) directly, whether
or not a worker runs; a running worker's resolver follows the topic and releases the events
parked on an identifier as soon as its mapping arrives.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from config import Settings
from streams.compacted import read_all
from streams.errors import CliError
from streams.identities import lookup, read_mappings
from streams.kafka_admin import ensure_topics, make_producer

out = Console()


def _import(settings: Settings, args: argparse.Namespace) -> int:
    records = read_mappings(Path(args.file), datetime.now(UTC))
    topic = settings.kafka.topics.identities
    ensure_topics(settings.kafka)
    producer = make_producer(settings.kafka)
    failed: list[str] = []
    for record in records:
        producer.produce(topic, key=record.identifier.encode(), value=record.model_dump_json().encode(),
                         on_delivery=lambda err, _msg: failed.append(str(err)) if err else None)  # fmt: skip
    if producer.flush(60) != 0 or failed:
        raise CliError(f"{len(failed) or 'some'} mappings were not acknowledged by the broker: {failed[:1]}")
    out.print(f"imported {len(records)} identity mappings into {topic}")
    return 0


def _lookup(settings: Settings, args: argparse.Namespace) -> int:
    found = lookup(read_all(settings.kafka, settings.kafka.topics.identities), args.id)
    if not found:
        out.print(f"{args.id}: not in the identity table")
        return 1
    for r in found:
        by = f" ({r.source}{', event ' + r.event_id if r.event_id else ''})" if r.source else ""
        out.print(f"{r.identifier} → {r.uscc}  {r.origin}{by}, learned {r.learned_at.isoformat()}",
                  soft_wrap=True, markup=False, highlight=False)  # fmt: skip
    return 0


def add_parsers(sub: Any) -> None:
    identities = sub.add_parser("identities", help="the identity table: legacy identifiers → USCC")
    actions = identities.add_subparsers(dest="identities_action", required=True)
    imp = actions.add_parser("import", help="import a CSV / JSON Lines file of identifier,uscc mappings")
    imp.add_argument("file")
    imp.set_defaults(handler=_import)
    look = actions.add_parser("lookup", help="the USCC of a legacy identifier, or the identifiers of a USCC")
    look.add_argument("id")
    look.set_defaults(handler=_lookup)
