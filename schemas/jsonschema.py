"""JSON Schema for every event kind and output, for producers and consumers in other languages."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from schemas.delivery import Notification, Silence, Subscription, VerdictRecord
from schemas.events import InvoiceSummary, RegistrationEvent, SocialSecurityFiling, TaxFiling
from schemas.outputs import Alert, DeadLetter, ScoreUpdate

SCHEMAS: dict[str, type[BaseModel]] = {
    "registration": RegistrationEvent,
    "tax_filing": TaxFiling,
    "invoice_summary": InvoiceSummary,
    "social_security_filing": SocialSecurityFiling,
    "score_update": ScoreUpdate,
    "alert": Alert,
    "dead_letter": DeadLetter,
    "notification": Notification,
    "subscription": Subscription,
    "silence": Silence,
    "verdict": VerdictRecord,
}


def export(directory: Path) -> list[Path]:
    """Write ``<name>.schema.json`` for each model; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMAS.items():
        schema = model.model_json_schema(mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://entbrain.dev/schemas/{name}.schema.json"
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
