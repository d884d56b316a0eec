"""The package contract of DESIGN.md: who may import whom, and each package's public surface."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"streams", "detectors", "sinks", "schemas", "config", "simulator", "bench"}
ALLOWED = {
    "schemas": set(),
    "config": set(),
    "detectors": {"schemas", "config"},
    "sinks": {"schemas", "config"},
    "streams": OURS - {"bench"},
    "simulator": {"schemas", "config", "detectors", "sinks", "streams"},
    "bench": OURS,
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_what_the_layering_allows(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - ALLOWED[package] - {package})
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_nothing_imports_bench() -> None:
    for package in OURS - {"bench"}:
        for path in (ROOT / package).rglob("*.py"):
            assert "bench" not in imported_packages(path), path


@pytest.mark.parametrize("package", ["config", "detectors", "schemas", "simulator", "sinks", "streams"])
def test_each_package_states_its_contract_and_a_sorted_public_surface(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__doc__ and len(module.__doc__.strip()) > 40
    assert list(module.__all__) == sorted(module.__all__)
