"""``entbrain subscriptions`` and ``entbrain silences`` against a real broker and a local receiver."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sinks.channels import SIGNATURE_HEADER, verify_signature
from streams.compacted import read_all
from tests.delivery_fixtures import Receiver
from tests.integration.worker_fixtures import isolated_env, settings_from


def entbrain(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "streams", *args], env={**os.environ, **env},  # noqa: S603
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def test_subscriptions_add_list_test_remove(tmp_path: Path, kafka_bootstrap: str) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap)
    receiver = Receiver().start_thread()
    spec = tmp_path / "sub.yaml"
    spec.write_text(f"id: ops\nname: 运维\nowner: bureau\nchannel: webhook\n"
                    f"settings: {{url: '{receiver.url}', secret: topsecret}}\nlanguage: en\n", encoding="utf-8")  # fmt: skip
    assert entbrain(env, "subscriptions", "add", str(spec)).returncode == 0
    listed = entbrain(env, "subscriptions", "list", "--json")
    assert listed.returncode == 0 and "topsecret" not in listed.stdout
    assert [s["id"] for s in json.loads(listed.stdout)] == ["ops"]
    tested = entbrain(env, "subscriptions", "test", "ops")
    assert tested.returncode == 0, tested.stderr
    (request,) = receiver.requests
    assert verify_signature("topsecret", request.body, request.headers[SIGNATURE_HEADER])
    assert entbrain(env, "subscriptions", "remove", "ops").returncode == 0
    assert entbrain(env, "subscriptions", "remove", "ops").returncode == 2
    assert read_all(settings_from(env).kafka, settings_from(env).kafka.topics.subscriptions) == {}


def test_silences_add_list_expire(tmp_path: Path, kafka_bootstrap: str) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap)
    added = entbrain(env, "silences", "add", "--type", "relocation", "--hours", "1", "--author", "ops", "--reason", "move")
    assert added.returncode == 0, added.stderr
    silence_id = added.stdout.split()[1]
    assert "True" in entbrain(env, "silences", "list").stdout
    assert entbrain(env, "silences", "expire", silence_id).returncode == 0
    assert "False" in entbrain(env, "silences", "list").stdout
    assert entbrain(env, "silences", "add", "--author", "ops", "--reason", "no matcher").returncode == 2
