"""The YAML files are the one source of the rules and scoring configuration."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from factories import encode, make_uscc, registration
from pydantic import ValidationError

from config import load_scoring_config
from config.rules import RULES_YAML, RuleConfig, default_rules, load_rules
from config.scoring import DEFAULT_SCORING_PATH, ScoringConfig
from detectors.models import OnlineModels
from streams.pipeline import DEFAULT_RULES, RawMessage, process_message


def test_the_code_holds_no_default_thresholds() -> None:
    with pytest.raises(ValidationError):
        RuleConfig.model_validate({})
    data = yaml.safe_load(RULES_YAML.read_text(encoding="utf-8"))
    del data["invoice"]["spike_factor"]
    with pytest.raises(ValidationError, match="spike_factor"):
        RuleConfig.model_validate(data)
    scoring = yaml.safe_load(DEFAULT_SCORING_PATH.read_text(encoding="utf-8"))
    del scoring["peers"]
    with pytest.raises(ValidationError, match="peers"):
        ScoringConfig.model_validate(scoring)


def test_the_pipeline_uses_the_yaml_thresholds() -> None:
    data = yaml.safe_load(RULES_YAML.read_text(encoding="utf-8"))
    assert DEFAULT_RULES == default_rules() == load_rules()
    assert DEFAULT_RULES.invoice.spike_factor == data["invoice"]["spike_factor"]
    assert DEFAULT_RULES.invoice.max_probability == data["invoice"]["max_probability"]
    assert DEFAULT_RULES.tax_collapse.seasonal_factors == data["tax_collapse"]["seasonal_factors"]
    assert len(DEFAULT_RULES.invoice.holidays) == len(data["invoice"]["holidays"])


def test_versions_follow_the_content_not_the_formatting(tmp_path: Path) -> None:
    rules = load_rules()
    assert rules.version.startswith("rules-") and len(rules.version) == len("rules-") + 10
    reformatted = tmp_path / "rules.yaml"
    reformatted.write_text(yaml.safe_dump(yaml.safe_load(RULES_YAML.read_text(encoding="utf-8")), sort_keys=True))
    assert load_rules(reformatted).version == rules.version  # comments and key order do not count
    changed = yaml.safe_load(RULES_YAML.read_text(encoding="utf-8"))
    changed["invoice"]["spike_factor"] += 0.5
    assert RuleConfig.model_validate(changed).version != rules.version
    scoring = load_scoring_config()
    assert scoring.version.startswith("scoring-")
    heavier = scoring.model_dump()
    heavier["composite"]["scale"] += 0.05
    assert ScoringConfig.model_validate(heavier).version != scoring.version


def test_a_version_key_in_the_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text('version: "rules-1"\n' + RULES_YAML.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ValidationError, match="version"):
        load_rules(path)


def test_scores_and_alerts_carry_the_derived_versions() -> None:
    uscc = make_uscc(1)
    now, models = datetime(2026, 6, 1, tzinfo=UTC), OnlineModels()
    first = RawMessage("enterprise.registration", 0, 0, uscc.encode(), encode(registration(uscc, "r1")), 0.0)
    state = process_message(first, None, now, models=models).state
    gone = encode(registration(uscc, "r2", change="status", status="deregistered"))
    msg = RawMessage("enterprise.registration", 0, 1, uscc.encode(), gone, 0.0)
    outcome = process_message(msg, state, now, models=models)
    assert outcome.alerts and {a.config_version for a in outcome.alerts} == {load_rules().version}
    assert outcome.score is not None and outcome.score.config_version == load_scoring_config().version
