"""`entbrain enterprise`, `entbrain alerts tail`, and models continuing from their checkpoint."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from factories import encode, make_uscc, registration, social_security, vat
from worker_fixtures import WorkerProcess, isolated_env, produce

from streams.cli import main

pytestmark = pytest.mark.kafka


def park(n: int, months: range) -> list[tuple[str, str, bytes]]:
    out = []
    for i in range(n):
        u = make_uscc(700 + i)
        out.append(("registration", u, encode(registration(u, f"r{i}", legal_representative="李四"))))
        for m in months:
            period = f"2025-{m:02d}"
            out.append(("social_security", u, encode(social_security(u, f"s{i}-{m}", period, 20 + i))))
            out.append(("tax", u, encode(vat(u, f"t{i}-{m}", period, revenue=f"{(i + 1) * 50_000 + m * 1000}.00"))))
    return out


def test_profile_alert_tail_and_models_checkpoint(
    tmp_path: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    first = park(20, range(1, 7))
    exits = [("registration", make_uscc(700), encode(registration(make_uscc(700), "x0", change="status", status="deregistered")))]
    worker = WorkerProcess(env, tmp_path / "w1.log")
    produce(worker.settings, first + exits)
    worker.start()
    try:
        worker.wait_for(lambda: worker.counts()["consumed"] == len(first) + 1, what="first half")
        updates = worker.health()["models"]["score_updates"]
        assert updates == 20 * 12 + 20 + 1  # every filing and register event re-scores

        u = make_uscc(705)
        capsys.readouterr()
        assert main(["enterprise", u, "--json"]) == 0
        profile = orjson.loads(capsys.readouterr().out)
        assert profile["uscc"] == u and profile["state_version"] == 13
        assert set(profile["dimensions"]) == {"scale", "development", "profitability", "financing", "innovation"}
        assert profile["tier"] and profile["percentiles"] and profile["forecast"]["revenue"]["period"] == "2025-07"
        assert profile["trend"]["headcount"]["2025-06"] == 25
        assert main(["enterprise", u]) == 0 and "五维评价" in capsys.readouterr().out
        assert main(["enterprise", "123"]) == 2
        assert main(["enterprise", make_uscc(9999)]) == 2

        assert main(["alerts", "tail", "--from-beginning", "--json", "--max", "1", "--idle", "20"]) == 0
        alert = orjson.loads(capsys.readouterr().out.splitlines()[0])
        assert alert["alert_type"] == "enterprise_exit" and alert["uscc"] == make_uscc(700)
    finally:
        worker.stop()  # SIGTERM: the final checkpoint is written on the way out
    checkpoint = Path(env["ENTBRAIN_WORKER__DATA_DIR"]) / env["ENTBRAIN_WORKER__APP_ID"] / "models.pkl"
    assert checkpoint.stat().st_size > 0

    second = WorkerProcess(env, tmp_path / "w2.log").start()
    try:
        assert second.health()["models"]["score_updates"] == updates  # continued, not relearned from zero
        later = park(20, range(7, 9))[20:]  # two more months, no new establishments
        later = [m for m in later if m[0] != "registration"]
        produce(second.settings, later)
        second.wait_for(lambda: second.counts()["consumed"] == len(later), what="second half")
        assert second.health()["models"]["score_updates"] == updates + len(later)
    finally:
        second.stop()
