"""Exceptions of the schemas package.

::

    SchemaError
    └── EventRejected      an input event failed validation (carries the structured reasons)
"""

from __future__ import annotations

from dataclasses import dataclass, field


class SchemaError(Exception):
    """Root of the schemas package's exceptions."""


@dataclass(frozen=True)
class RejectReason:
    """One reason an event was rejected: where, what, and which kind of error."""

    path: str
    message: str
    error_type: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "type": self.error_type}


@dataclass
class EventRejected(SchemaError):
    reasons: list[RejectReason] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{r.path or '<event>'}: {r.message}" for r in self.reasons)
