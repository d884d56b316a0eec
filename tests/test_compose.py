"""The production-shaped stack keeps its secrets in .env and its ports on loopback."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SECRET_NAME = re.compile(r"PASSWORD|TOKENS?$|SECRET")


def compose() -> dict:  # type: ignore[type-arg]
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def test_every_secret_comes_from_the_env_file() -> None:
    for name, service in compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert str(value).startswith("${"), f"{name}.{key} is a literal"
            assert "@" not in str(value) or not str(value).startswith("http"), f"{name}.{key}: credentials in a URL"
    example = (ROOT / ".env.example").read_text()
    for variable in re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()):
        assert variable in example, f"{variable} missing from .env.example"
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_ports_are_published_on_loopback_and_grafana_needs_a_login() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"
    assert services["grafana"]["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "${GRAFANA_ANONYMOUS:-false}"
    worker = services["worker"]["environment"]
    assert {"ENTBRAIN_AUTH__VIEWER_TOKENS", "ENTBRAIN_AUTH__ADMIN_TOKENS"} <= set(worker)


def test_clickhouse_users_read_only_with_passwords_from_the_environment() -> None:
    root = ET.parse(ROOT / "dashboards" / "clickhouse-users.xml").getroot()
    for user in root.find("users"):  # type: ignore[union-attr]
        password = user.find("password")
        assert password is not None and password.get("from_env") and not (password.text or "").strip()
        grants = [q.text for q in user.iter("query")]
        assert grants == ["GRANT SELECT ON entbrain.*"]
    for profile in root.find("profiles"):  # type: ignore[union-attr]
        assert profile.findtext("readonly") in ("1", "2") and profile.findtext("allow_ddl") == "0"


def test_the_worker_scales_out() -> None:
    """``docker compose up --scale worker=N``: no fixed host port, no data volume shared by replicas."""
    worker = compose()["services"]["worker"]
    assert worker["ports"] == ["127.0.0.1:6066-6069:6066"]
    assert all(":" not in str(volume) for volume in worker.get("volumes", []))
    assert "container_name" not in worker
