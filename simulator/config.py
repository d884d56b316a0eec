"""Simulation settings and the month arithmetic every other module shares.

A month is an integer ``year * 12 + (month - 1)`` so that "three months later" is ``+ 3``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime

from schemas.events import SHANGHAI
from simulator.profile import SimulationProfile, load_profile

LIBRARY_RATES = (
    "legacy_tax_rate",
    "legacy_social_security_rate",
    "unannounced_identity_rate",
    "contradiction_rate",
)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_index(text: str) -> int:
    """``"2026-03"`` → ``2026 * 12 + 2``; raises ``ValueError`` on anything else."""
    match = _MONTH.match(text)
    if match is None:
        raise ValueError(f"month {text!r} is not YYYY-MM")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def default_end_month(now: datetime | None = None) -> str:
    """The month before the current one in Asia/Shanghai, so no simulated event is in the future."""
    local = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    return month_text(local.year * 12 + local.month - 1 - 1)


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. Equal configs produce byte-identical streams.

    ``end_month`` is resolved once at construction (to the month before the current month in
    Asia/Shanghai) so that the stream never depends on the wall clock afterwards.
    Rates are shares: ``anomaly_rate`` of enterprises, the other rates of messages/filings.
    """

    enterprises: int = 5000
    months: int = 12
    seed: int = 0
    anomaly_rate: float = 0.05
    invalid_rate: float = 0.002
    duplicate_rate: float = 0.003
    amendment_rate: float = 0.01
    late_rate: float = 0.02
    daily_invoices: bool = True
    end_month: str | None = field(default=None)
    # One library (simulator/library.py): shares of events named by a legacy identifier, of
    # enterprises whose register does not announce their registration number, and of
    # enterprises whose filings contradict the register.
    legacy_tax_rate: float = 0.0
    legacy_social_security_rate: float = 0.0
    unannounced_identity_rate: float = 0.0
    contradiction_rate: float = 0.0
    # Distributions, effect sizes and confounders: a file in simulator/profiles/ or a path.
    profile: str = "default"

    def __post_init__(self) -> None:
        if self.end_month is None:
            object.__setattr__(self, "end_month", default_end_month())
        month_index(self.resolved_end_month)
        load_profile(self.profile)  # fail early on a missing or invalid profile
        if self.enterprises < 0:
            raise ValueError("enterprises must be >= 0")
        if self.months < 1:
            raise ValueError("months must be >= 1")
        for name in (
            "anomaly_rate",
            "invalid_rate",
            "duplicate_rate",
            "amendment_rate",
            "late_rate",
            *LIBRARY_RATES,
        ):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {rate}")

    @property
    def resolved_end_month(self) -> str:
        assert self.end_month is not None  # set in __post_init__
        return self.end_month

    @property
    def last_month(self) -> int:
        return month_index(self.resolved_end_month)

    @property
    def first_month(self) -> int:
        return self.last_month - self.months + 1

    @property
    def profile_settings(self) -> SimulationProfile:
        return load_profile(self.profile)

    @property
    def run_id(self) -> str:
        """A short digest of the config; prefixes event ids so different runs never collide."""
        # the one-library rates and the profile join the digest only when set: a run without
        # them keeps its ids
        items = [
            (k, v)
            for k, v in sorted(asdict(self).items())
            if (k not in LIBRARY_RATES or v) and (k != "profile" or v != "default")
        ]
        return hashlib.sha256(repr(items).encode()).hexdigest()[:8]
