"""Legacy-keyed events are resolved to their enterprise; events that arrive before their
identity are parked, then applied once it is known — ending in the state the same events
keyed by USCC give (real broker, real worker, real ClickHouse engine)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from factories import (
    encode,
    legacy_keyed,
    legacy_uscc,
    registration,
    registration_number,
    social_security,
    sole_proprietor_taxpayer_id,
    vat,
)
from worker_fixtures import WorkerProcess, isolated_env, produce

from config import REPO_ROOT
from schemas.identifiers import org_code_of

pytestmark = pytest.mark.kafka

A, B = legacy_uscc(301), legacy_uscc(302, district="330106")
A_REGISTRATION = registration_number(301)
B_TAXPAYER = sole_proprietor_taxpayer_id(302)
PERIODS = [f"2025-{m:02d}" for m in range(1, 7)]


def park(keyed_by_uscc: bool) -> tuple[list[tuple[str, str, bytes]], list[tuple[str, str, bytes]]]:
    """(events before A's registration, A's registration). A's VAT filings name A by its
    registration number, its social-security filings by a 15-character taxpayer id (district +
    organisation code); B's social-security filings by a sole proprietor's 20-character id."""
    def named(event: dict[str, Any], **identifier: str) -> tuple[str, str, bytes]:
        kind = str(event["kind"])
        if keyed_by_uscc:
            return kind, str(event["uscc"]), encode(event)
        return kind, next(iter(identifier.values())), encode(legacy_keyed(event, **identifier))

    first = [("registration", B, encode(registration(B, "b-reg", district_code="330106", occurred_at="2024-12-01T09:00:00")))]
    for i, period in enumerate(PERIODS):
        first.append(named(vat(A, f"a-vat-{period}", period, revenue=f"{(i + 1) * 10000}.00"),
                           registration_number=A_REGISTRATION))  # fmt: skip
        first.append(named(social_security(A, f"a-ss-{period}", period, 10 + i), taxpayer_id="330110" + org_code_of(A)))
        first.append(named(social_security(B, f"b-ss-{period}", period, 3 + i, district_code="330110"),
                           taxpayer_id=B_TAXPAYER))  # fmt: skip
    a_registration = registration(A, "a-reg", registration_number=A_REGISTRATION)
    return first, [("registration", A, encode(a_registration))]


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    """What the events decide, not how they travelled (offsets, times, event-id digests)."""
    keep = ("uscc", "name", "district_code", "industry_code", "status", "registered_capital", "monthly",
            "invoices", "applied", "duplicates", "counts", "injections")  # fmt: skip
    return {k: state.get(k) for k in keep}


def entbrain(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streams", *args], env=env, cwd=REPO_ROOT,  # noqa: S603
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def applied(worker: WorkerProcess, uscc: str) -> int:
    rows = worker.query(f"SELECT count() FROM events FINAL WHERE uscc = '{uscc}'")
    return int(rows[0][0])


def test_legacy_keyed_events_are_resolved_parked_and_released(tmp_path: Path, kafka_bootstrap: str) -> None:
    env = isolated_env(tmp_path / "legacy", kafka_bootstrap)
    worker = WorkerProcess(env, tmp_path / "legacy.log")
    before, a_registration = park(keyed_by_uscc=False)
    produce(worker.settings, before)
    try:
        worker.start()
        worker.wait_for(lambda: worker.counts()["parked"] == 18, what="A's and B's legacy-keyed filings parked")
        assert worker.counts()["dead_letter"] == 0
        assert worker.query("SELECT source, count() FROM unmatched_events FINAL WHERE status = 'parked' "
                            "GROUP BY source ORDER BY source") == [["hrss", 12], ["tax", 6]]  # fmt: skip
        reasons = worker.query("SELECT DISTINCT reason FROM unmatched_events FINAL")
        assert reasons == [["identifier_unknown"]]

        produce(worker.settings, a_registration)  # teaches A's registration number and organisation code
        worker.wait_for(lambda: applied(worker, A) == 13, what="A's parked filings applied")
        assert worker.query("SELECT count() FROM unmatched_events FINAL WHERE status = 'released' "
                            f"AND uscc = '{A}'") == [[12]]  # fmt: skip

        mapping = tmp_path / "mapping.csv"
        mapping.write_text(f"identifier,uscc\ntaxpayer_id:{B_TAXPAYER},{B}\n", encoding="utf-8")
        full_env = worker.env
        imported = entbrain(full_env, "identities", "import", str(mapping))
        assert imported.returncode == 0, imported.stderr
        worker.wait_for(lambda: applied(worker, B) == 7, what="B's parked filings applied after the import")
        assert worker.query("SELECT count() FROM unmatched_events FINAL WHERE status = 'parked'") == [[0]]
        match = worker.query("SELECT source, legacy_resolved, parked, legacy_match_rate FROM v_match_rate "
                             "WHERE source IN ('hrss', 'tax') ORDER BY source")  # fmt: skip
        assert match == [["hrss", 12, 0, 1.0], ["tax", 6, 0, 1.0]]
        legacy_states = {u: worker.get_json(f"/api/enterprises/{u}") for u in (A, B)}

        # provenance, former identifiers and the contradiction B's filings reveal, on the page and the CLI
        detail = worker.get_json(f"/api/dashboard/enterprise/{B}")
        fields = {row["field"]: row for row in detail["provenance"]}
        assert fields["district_code"]["value"] == "330106" and fields["district_code"]["set_by"] == "amr"
        assert fields["district_code"]["others"] == {"hrss": "330110"}
        assert fields["name"]["event_id"] == "b-reg"
        assert [i["identifier"] for i in worker.get_json(f"/api/dashboard/enterprise/{A}")["identities"]] == [
            f"org_code:{org_code_of(A)}", f"registration_number:{A_REGISTRATION}"]
        assert [f["check"] for f in detail["quality"]] == ["district_mismatch"]
        assert worker.get_json("/api/dashboard/quality")[0]["check"] == "district_mismatch"
        assert {r["source"] for r in worker.get_json("/api/dashboard/match-rate")} >= {"hrss", "tax", "amr"}
        profile = entbrain(worker.env, "enterprise", B)
        assert profile.returncode == 0, profile.stderr
        assert "provenance" in profile.stdout and "330110" in profile.stdout and "district_mismatch" in profile.stdout

        # a legacy-keyed event whose identity is known now goes straight through
        produce(worker.settings, [("tax", A_REGISTRATION, encode(legacy_keyed(
            vat(A, "a-vat-2025-07", "2025-07"), registration_number=A_REGISTRATION)))])  # fmt: skip
        worker.wait_for(lambda: applied(worker, A) == 14, what="a known identifier resolved at once")
        assert worker.counts()["resolved"] == 1
    finally:
        worker.stop()

    looked_up = entbrain(full_env, "identities", "lookup", B_TAXPAYER)
    assert looked_up.returncode == 0 and B in looked_up.stdout, looked_up.stdout + looked_up.stderr
    by_uscc = entbrain(full_env, "identities", "lookup", A)
    assert f"registration_number:{A_REGISTRATION}" in by_uscc.stdout.replace("\n", "")
    unknown = entbrain(full_env, "identities", "lookup", sole_proprietor_taxpayer_id(999))
    assert unknown.returncode == 1
    bad = tmp_path / "bad.csv"
    bad.write_text(f"identifier,uscc\norg_code:{org_code_of(B)},{A}\n", encoding="utf-8")
    refused = entbrain(full_env, "identities", "import", str(bad))
    assert refused.returncode == 2 and "bad.csv:2" in refused.stderr and "Traceback" not in refused.stderr

    # the same events keyed by USCC, in the same order, give the same enterprises
    clean_env = isolated_env(tmp_path / "clean", kafka_bootstrap)
    clean = WorkerProcess(clean_env, tmp_path / "clean.log")
    before, a_registration = park(keyed_by_uscc=True)
    produce(clean.settings, before + a_registration)
    try:
        clean.start()
        clean.wait_for(lambda: applied(clean, A) == 13 and applied(clean, B) == 7, what="all applied")
        for uscc in (A, B):
            assert comparable(legacy_states[uscc]) == comparable(clean.get_json(f"/api/enterprises/{uscc}"))
    finally:
        clean.stop()
