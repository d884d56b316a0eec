"""The identity boundary: mappings of legacy identifiers to USCCs, and events waiting for one.

* :class:`IdentityRecord` — one fact ``identifier → USCC`` on the compacted topic
  ``enterprise.identities`` (key: the identifier's ``scheme:value``), learned from a
  registration event, derived from a USCC, or imported from a mapping file.
* :class:`UnresolvedEvent` — a legacy-keyed input event on its way to the resolver
  (``enterprise.resolve``, keyed by the identifier it is routed by).
* :class:`ParkedEvent` — an unresolved event whose identifier is not known yet; it is
  announced on ``enterprise.unmatched`` and kept by the resolver until the identity arrives.
* :class:`IdentityEntry` — what the resolver keeps per identifier: the USCC when known,
  the events parked on it otherwise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

IdentityOrigin = Literal["registration", "derived", "import"]
PARK_REASON = "identifier_unknown"


class IdentityRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    identifier: str  # scheme:value, the routing form (schemas.identifiers.routing_identifier)
    uscc: str
    origin: IdentityOrigin
    source: str = ""  # the department system (or file) that said so
    event_id: str | None = None
    learned_at: datetime


class UnresolvedEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    identifier: str  # routing form
    named: str  # the identifier as the event gave it
    topic: str  # the input topic it came from and returns to
    origin: str  # topic:partition:offset of the original record
    event_id: str
    kind: str
    source: str
    occurred_at: datetime
    received_at: datetime
    payload: str  # the original JSON, without a uscc


class ParkedEvent(UnresolvedEvent):
    reason: str = PARK_REASON
    parked_at: datetime


class IdentityEntry(BaseModel):
    """The resolver's table value for one identifier."""

    uscc: str | None = None
    learned_at: datetime | None = None
    parked: list[ParkedEvent] = Field(default_factory=list)
