"""One library in the simulated park: legacy identifiers and injected cross-source contradictions.

Off by default (every rate 0), so a default run is the same stream as before. Turned on:

* **legacy identifiers** — every enterprise has a 15-digit registration number; one whose
  USCC embeds a valid GB 11714 organisation code also has that code and a 15-character
  taxpayer id (district + code). A share of each source's events (``legacy_tax_rate``,
  ``legacy_social_security_rate``) names the enterprise by one of them instead of the USCC
  (message key = the identifier). The establishment event carries the former identifiers,
  except for a share of enterprises (``unannounced_identity_rate``) whose registration number
  only a mapping file tells (:func:`identity_truth` gives it).
* **contradictions** — tax and social-security filings carry what their department knows
  (the filer's name, legal representative, district, and the payroll-tax headcount); for a
  share of enterprises (``contradiction_rate``) one of these disagrees with the register:
  :func:`contradiction_truth` lists which enterprise has which.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from stdnum.iso7064 import mod_11_10

from schemas.identifiers import derived_identifiers
from simulator.config import SimulationConfig
from simulator.population import Enterprise, build_population

INJECTED_CHECKS = ("district_mismatch", "multi_district_filing", "headcount_payroll_mismatch", "name_mismatch",
                   "legal_rep_mismatch")  # fmt: skip
_DISTRICTS = ("330102", "330105", "330106", "330108", "330109", "330110")


def _unit(*parts: object) -> float:
    """A deterministic draw in [0, 1) from ``parts``, independent of every other random stream."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class FormerIdentifiers:
    registration_number: str
    org_code: str | None

    def schemes(self, district: str) -> list[tuple[str, str]]:
        named = [("registration_number", self.registration_number)]
        if self.org_code is not None:
            named += [("org_code", self.org_code), ("taxpayer_id", district + self.org_code)]
        return named


def former_identifiers(ent: Enterprise) -> FormerIdentifiers:
    body = ent.district + str(int(_unit("regno", ent.uscc) * 10**8)).zfill(8)
    codes = derived_identifiers(ent.uscc)
    return FormerIdentifiers(body + mod_11_10.calc_check_digit(body), codes[0].value if codes else None)


def _other(options: tuple[str, ...], current: str, draw: float) -> str:
    rest = [o for o in options if o != current]
    return rest[int(draw * len(rest))]


class LibraryPlan:
    """Which events name their enterprise by a legacy identifier, and what the filings say."""

    def __init__(self, config: SimulationConfig, population: list[Enterprise]) -> None:
        self.config = config
        self.rates = {"tax": config.legacy_tax_rate, "social_security": config.legacy_social_security_rate}
        self.rich = config.contradiction_rate > 0
        self.active = self.rich or any(self.rates.values())
        self.rng = random.Random(f"{config.seed}:library")
        self.former = {e.uscc: former_identifiers(e) for e in population}
        self.unannounced = {e.uscc for e in population if _unit("unannounced", config.seed, e.uscc)
                            < config.unannounced_identity_rate}  # fmt: skip
        self.injected: dict[str, str] = {}
        for e in population:
            if _unit("contradiction", config.seed, e.uscc) < config.contradiction_rate:
                self.injected[e.uscc] = INJECTED_CHECKS[int(_unit("check", config.seed, e.uscc) * len(INJECTED_CHECKS))]

    def establishment_fields(self, ent: Enterprise) -> dict[str, Any]:
        if ent.uscc in self.unannounced or not any(self.rates.values()):
            return {}
        former = self.former[ent.uscc]
        return {"registration_number": former.registration_number}

    def legacy(self, ent: Enterprise, kind: str) -> tuple[str, str] | None:
        """The (scheme, value) this event names its enterprise by, or None for the USCC."""
        rate = self.rates.get(kind, 0.0)
        if not rate or self.rng.random() >= rate:
            return None
        options = self.former[ent.uscc].schemes(ent.district)
        return options[self.rng.randrange(len(options))]

    def filing_fields(self, ent: Enterprise, kind: str, fields: dict[str, Any], headcount: int | None) -> dict[str, Any]:
        """What the department knows of the filer (rich mode only), contradicting where injected."""
        if not self.rich or kind not in ("tax", "social_security") or fields.get("record") == "invoice":
            return {}
        check = self.injected.get(ent.uscc)
        draw = _unit("other", ent.uscc)
        district = ent.district
        if check == "district_mismatch":
            district = _other(_DISTRICTS, ent.district, draw)  # both departments know the real place
        elif check == "multi_district_filing" and kind == "tax":
            district = _other(_DISTRICTS, ent.district, draw)
        out: dict[str, Any] = {"district_code": district}
        if kind == "tax":
            name, rep = ent.name, ent.legal_rep
            if check == "name_mismatch":
                name = name.replace("有限公司", "有限责任公司") if "有限公司" in name else name + "（分公司）"
            if check == "legal_rep_mismatch":
                rep = ("李" if rep[:1] != "李" else "王") + rep[1:]
            out.update(name=name, legal_representative=rep)
            if fields.get("tax_type") == "vat" and headcount is not None:
                withheld = max(0, round(headcount * 0.5) - 5) if check == "headcount_payroll_mismatch" else headcount
                out["withheld_employees"] = withheld
        else:
            out["name"] = ent.name
        return out


def identity_truth(config: SimulationConfig) -> dict[str, str]:
    """Every registration number and organisation code of the park → its enterprise's USCC
    (a 15-character taxpayer id is its district and organisation code: look up ``id[6:]``)."""
    truth: dict[str, str] = {}
    for ent in build_population(config):
        former = former_identifiers(ent)
        truth[former.registration_number] = ent.uscc
        if former.org_code is not None:
            truth[former.org_code] = ent.uscc
    return truth


def true_uscc(truth: dict[str, str], scheme: str, value: str) -> str | None:
    """The enterprise a legacy-keyed event really belongs to."""
    return truth.get(value[6:] if scheme == "taxpayer_id" and len(value) == 15 else value)


def unannounced_mappings(config: SimulationConfig) -> list[tuple[str, str]]:
    """(``registration_number:…``, USCC) of the enterprises whose register does not say it: the mapping file."""
    population = build_population(config)
    plan = LibraryPlan(config, population)
    return [(f"registration_number:{plan.former[e.uscc].registration_number}", e.uscc)
            for e in population if e.uscc in plan.unannounced]  # fmt: skip


def contradiction_truth(config: SimulationConfig) -> dict[str, str]:
    """USCC → the check its filings were made to fail."""
    population = build_population(config)
    return dict(LibraryPlan(config, population).injected)
