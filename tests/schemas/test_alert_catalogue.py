"""One catalogue of alert types: the rules, the models and the dashboard all use it."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from config.rules import default_rules
from detectors import rules
from detectors.peer_divergence import PeerDivergence
from detectors.series_bank import SeriesDetectorBank
from detectors.situations import situation_finding
from schemas import EnterpriseState, Severity
from schemas.alert_catalogue import CATALOGUE, AlertType, catalogue_document
from schemas.state import OpenAlert

APP_JS = Path(__file__).resolve().parents[2] / "streams" / "dashboard" / "app.js"
USCC = "91330110MA2B000011"


def rule_alert_types() -> set[str]:
    """The alert type of every rule, read from the findings the rules return."""
    state = EnterpriseState(uscc=USCC)
    return {rule(None, state, default_rules()).alert_type for rule in rules.RULES}


def test_every_rule_emits_a_catalogued_type() -> None:
    emitted = rule_alert_types()
    assert len(emitted) == len(rules.RULES)
    assert emitted <= {t.value for t in CATALOGUE}


def test_the_models_emit_catalogued_types() -> None:
    peers = PeerDivergence(min_seen=1)
    for growth in (0.1, 0.12, 0.09, 0.11):
        peers.learn_one({"C": growth})
    state = EnterpriseState(uscc=USCC, industry_code="C3911")
    finding = peers.observe(state, {"revenue_3m_growth": -0.9})
    assert finding is not None and AlertType(finding.alert_type) is AlertType.PEER_DIVERGENCE
    assert finding.severity is CATALOGUE[AlertType.PEER_DIVERGENCE].severity
    assert "invoice_anomaly" in {t.value for t in CATALOGUE} and SeriesDetectorBank is not None


def test_every_catalogued_type_is_emitted_by_something() -> None:
    models = {AlertType.PEER_DIVERGENCE.value, AlertType.INVOICE_ANOMALY.value}
    notices = {AlertType.LIST_CHANGE.value}  # detectors/list_notices.py
    state = EnterpriseState(uscc=USCC, open_alerts={"layoff": OpenAlert(id="a1")})
    folded = situation_finding(state)
    assert folded is not None
    situations = {folded.alert_type}  # detectors/situations.py
    assert {t.value for t in CATALOGUE} == rule_alert_types() | models | notices | situations


def test_resolution_text_comes_from_the_catalogue() -> None:
    finding = rules.resolution("layoff", EnterpriseState(uscc=USCC, name="甲公司"))
    entry = CATALOGUE[AlertType.LAYOFF]
    assert finding.title_zh == f"已解除：{entry.label_zh}：甲公司"
    assert finding.explanation_en == entry.resolution_en("甲公司")


def test_document_is_json_with_every_type_and_severity() -> None:
    doc = orjson.loads(orjson.dumps(catalogue_document()))
    assert [t["alert_type"] for t in doc["alert_types"]] == [t.value for t in CATALOGUE]
    assert set(doc["severities"]) == {s.value for s in Severity}
    assert all(t["label_zh"] and t["label_en"] and t["severity"] in doc["severities"] for t in doc["alert_types"])


def test_dashboard_keeps_no_label_table_of_its_own() -> None:
    js = APP_JS.read_text(encoding="utf-8")
    assert "/api/alert-types" in js
    # The register-status table may say 经营异常 (a status shares its name with an alert type).
    js = re.sub(r"const STATUS = \{.*?\};", "", js, flags=re.S)
    for entry in CATALOGUE.values():
        # neither a `layoff: [...]` style entry nor the label text itself
        assert not re.search(rf"\b{entry.alert_type.value}\s*:\s*\[", js), entry.alert_type
        assert entry.label_zh not in js, entry.label_zh
    for old_label in ("裁员", "开票骤降"):  # the labels that had drifted from the rules
        assert old_label not in js
    assert re.search(r"const ALERT_TYPES = \{\};", js) and re.search(r"const SEVERITY = \{\};", js)
