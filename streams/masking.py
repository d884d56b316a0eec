"""Masking of personal data (legal representatives' names and resident ID numbers).

Enterprises are public bodies; their legal representatives are people. A caller below the
admin role sees ``王*`` for ``王伟`` and ``330106********123X`` for a resident identity
card number. :func:`mask_personal` is the one function every view applies; it returns a
masked copy and never changes its argument.

What is personal: the values of :data:`PERSONAL_KEYS` anywhere in a document, the evidence
fields of :data:`PERSONAL_EVIDENCE` in alerts, and any string that is a valid resident
identity card number (``stdnum.cn.ric``: 18 characters with a correct check digit)
wherever it appears.
"""

from __future__ import annotations

from typing import Any

from stdnum.cn import ric

PERSONAL_KEYS = frozenset({"legal_representative", "legal_representative_id", "resident_id", "id_number"})
# alert type → evidence fields naming a person
PERSONAL_EVIDENCE: dict[str, frozenset[str]] = {"legal_rep_churn": frozenset({"current"})}
MASK = "*"


def mask_name(name: str) -> str:
    """Keep the first character (the family name, or an initial): ``王伟`` → ``王*``."""
    name = name.strip()
    if len(name) <= 1:
        return MASK if name else name
    return name[0] + MASK * (len(name) - 1)


def is_resident_id(value: str) -> bool:
    return len(value) == 18 and ric.is_valid(value)


def mask_resident_id(value: str) -> str:
    """Keep the region (6) and the last 4 characters; hide the birth date and sequence."""
    return value[:6] + MASK * (len(value) - 10) + value[-4:]


def mask_value(value: Any) -> Any:
    """One personal value masked: an ID number keeps its shape, anything else is a name."""
    if isinstance(value, str):
        return mask_resident_id(value) if is_resident_id(value) else mask_name(value)
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value


def mask_personal(document: Any) -> Any:
    """A copy of ``document`` (JSON-like: dicts, lists, scalars) with personal data masked."""
    if isinstance(document, dict):
        personal = PERSONAL_EVIDENCE.get(str(document.get("alert_type", "")), frozenset())
        out: dict[Any, Any] = {}
        for key, value in document.items():
            if key in PERSONAL_KEYS and value is not None:
                out[key] = mask_value(value)
            elif key == "provenance" and isinstance(value, dict):  # field → {set_by, claims}
                out[key] = {f: _masked_trail(t) if f in PERSONAL_KEYS else mask_personal(t) for f, t in value.items()}
            elif key == "evidence" and personal and isinstance(value, dict):
                out[key] = {k: mask_value(v) if k in personal else mask_personal(v) for k, v in value.items()}
            else:
                out[key] = mask_personal(value)
        return out
    if isinstance(document, list | tuple):
        return [mask_personal(v) for v in document]
    if isinstance(document, str):
        return mask_text(document)
    return document


def mask_text(text: str) -> str:
    """An identity card number alone, or at the head of a value (a sole proprietor's 20-character
    taxpayer id, also as ``taxpayer_id:<id>``), keeps its shape with the birth date hidden."""
    if is_resident_id(text):
        return mask_resident_id(text)
    head, sep, value = text.rpartition(":")
    if len(value) == 20 and is_resident_id(value[:18]):
        return head + sep + mask_resident_id(value[:18]) + value[18:]
    return text


def _masked_trail(trail: Any) -> Any:
    """The provenance of a personal field: every source's value masked."""
    if not isinstance(trail, dict) or not isinstance(trail.get("claims"), dict):
        return mask_value(trail)
    claims = {s: [mask_value(c[0]), *c[1:]] if isinstance(c, list | tuple) and c else c for s, c in trail["claims"].items()}
    return {**trail, "claims": claims}
