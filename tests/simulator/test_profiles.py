"""Simulator profiles: the default profile keeps the output, another one changes the park and
adds confounders whose ground truth says they are not anomalies."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from statistics import median

import orjson
import pytest
from pydantic import ValidationError

from simulator import SimulationConfig, ground_truth, simulate
from simulator.confounders import confounders
from simulator.profile import load_profile, profile_names

# Taken from the simulator before profiles existed (main at 9356bd6): the default profile
# must keep every byte, every business time and the ground truth.
BEFORE_PROFILES = {
    "invoices": "ec2fe83bb9c3a7045046f00148b9268980fda2b19c5831bc6d6f13eb6ea1ff49",
    "library": "18edc3c011e600e53362a3af3f8a3965051635714141f9dd8e3b9d0962dfc805",
}
CONTRAST = SimulationConfig(
    enterprises=400, months=24, seed=11, end_month="2026-10", profile="contrast", daily_invoices=False
)


def _digest(config: SimulationConfig) -> str:
    h = hashlib.sha256()
    for m in simulate(config):
        h.update(
            repr((m.kind, m.key, m.value, m.business_time.isoformat(), m.malformed, m.duplicate)).encode()
        )
    for a in ground_truth(config):
        h.update(repr(a.as_dict()).encode())
    return h.hexdigest()


def test_default_profile_output_is_byte_identical_to_before_profiles() -> None:
    assert (
        _digest(SimulationConfig(enterprises=300, months=14, seed=5, end_month="2026-10"))
        == BEFORE_PROFILES["invoices"]
    )
    library = SimulationConfig(enterprises=200, months=6, seed=2, end_month="2026-03", legacy_tax_rate=0.1,
                               contradiction_rate=0.05, daily_invoices=False)  # fmt: skip
    assert _digest(library) == BEFORE_PROFILES["library"]


def test_profiles_are_listed_and_validated(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert {"default", "contrast"} <= set(profile_names())
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\n", encoding="utf-8")
    with pytest.raises(ValidationError):
        load_profile(str(broken))


def test_another_profile_changes_the_stream_and_the_event_ids() -> None:
    default = SimulationConfig(enterprises=50, months=3, seed=1, end_month="2026-03", daily_invoices=False)
    other = SimulationConfig(enterprises=50, months=3, seed=1, end_month="2026-03", daily_invoices=False,
                             profile="contrast")  # fmt: skip
    assert default.run_id != other.run_id
    assert _digest(default) != _digest(other)


@pytest.fixture(scope="module")
def contrast() -> tuple[dict[str, dict[str, float]], dict[str, dict[str, int]]]:
    revenue: dict[str, dict[str, float]] = defaultdict(dict)
    heads: dict[str, dict[str, int]] = defaultdict(dict)
    for m in simulate(CONTRAST):
        if m.malformed:
            continue
        body = orjson.loads(m.value)
        if body.get("tax_type") == "vat":
            revenue[body["uscc"]][body["period"]] = float(body["sales_revenue"])
        elif m.kind == "social_security":
            heads[body["uscc"]][body["period"]] = int(body["insured_headcount"])
    return revenue, heads


def test_confounders_are_planned_and_never_anomalous() -> None:
    found = confounders(CONTRAST)
    anomalous = {a.uscc for a in ground_truth(CONTRAST)}
    kinds = {c.situation for c in found}
    assert kinds == {"q4_seasonal", "industry_downturn", "festival_headcount", "capital_increase"}
    assert all(c.as_dict()["anomaly"] is False for c in found)
    assert not {c.uscc for c in found if c.situation != "industry_downturn"} & anomalous
    assert confounders(SimulationConfig(enterprises=50, months=6, seed=1, end_month="2026-03")) == []


def test_q4_seasonal_businesses_sell_in_the_fourth_quarter(contrast) -> None:  # type: ignore[no-untyped-def]
    revenue, _ = contrast
    seasonal = [c.uscc for c in confounders(CONTRAST) if c.situation == "q4_seasonal"]
    ratios = [
        revenue[u]["2026-01"] / revenue[u]["2025-12"]
        for u in seasonal
        if revenue[u].get("2025-12", 0) > 0 and "2026-01" in revenue[u]
    ]
    assert len(ratios) >= 10
    assert median(ratios) < 0.35  # January falls below a third of December, every year


def test_festival_headcount_dips_and_comes_back(contrast) -> None:  # type: ignore[no-untyped-def]
    _, heads = contrast
    dips = [c for c in confounders(CONTRAST) if c.situation == "festival_headcount"]
    assert dips
    checked = 0
    for c in dips:
        series = heads[c.uscc]
        for period in c.params["periods"]:
            year, month = int(period[:4]), int(period[5:])
            before = f"{year}-{month - 1:02d}" if month > 1 else f"{year - 1}-12"
            after = f"{year}-{month + 1:02d}"
            if series.get(before, 0) >= 20 and after in series:
                assert series[period] < 0.9 * series[before]
                assert series[after] > series[period]
                checked += 1
    assert checked


def test_near_zero_zombies_file_small_non_zero_revenue(contrast) -> None:  # type: ignore[no-untyped-def]
    revenue, heads = contrast
    zombies = [a for a in ground_truth(CONTRAST) if a.anomaly_type == "zombie"]
    assert zombies
    for a in zombies:
        after = [v for p, v in revenue[a.uscc].items() if p >= a.onset_period]
        assert after and max(after) > 0  # not exactly zero …
        assert heads[a.uscc][a.onset_period] <= 1
