"""Pydantic models of entbrain's boundaries: input events, state, scores, alerts, dead letters.

Imports nothing else of entbrain. :func:`decode_event` turns raw bytes into an event or
the structured reasons it was rejected, and never raises.
"""

from schemas.codes import check_uscc, uscc_check_digit
from schemas.decode import decode_event, validate_payload
from schemas.errors import EventRejected, RejectReason, SchemaError
from schemas.events import (
    EVENT_KINDS,
    EVENT_MODELS,
    SCHEMA_VERSION,
    CreditGrade,
    EnterpriseStatus,
    Event,
    InvoiceSummary,
    RegistrationChange,
    RegistrationEvent,
    SocialSecurityFiling,
    TaxFiling,
    TaxType,
    business_month,
)
from schemas.outputs import (
    Alert,
    AlertState,
    DeadLetter,
    DimensionScores,
    ListChange,
    ScoreUpdate,
    Severity,
)
from schemas.state import EnterpriseState

__all__ = [
    "Alert",
    "AlertState",
    "CreditGrade",
    "DeadLetter",
    "DimensionScores",
    "EVENT_KINDS",
    "EVENT_MODELS",
    "EnterpriseState",
    "EnterpriseStatus",
    "Event",
    "EventRejected",
    "InvoiceSummary",
    "ListChange",
    "RegistrationChange",
    "RegistrationEvent",
    "RejectReason",
    "SCHEMA_VERSION",
    "SchemaError",
    "ScoreUpdate",
    "Severity",
    "SocialSecurityFiling",
    "TaxFiling",
    "TaxType",
    "business_month",
    "check_uscc",
    "decode_event",
    "uscc_check_digit",
    "validate_payload",
]
