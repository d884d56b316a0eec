"""Scoring the detection bench by situation and false alerts by kind of enterprise."""

from __future__ import annotations

from datetime import date

from bench.detection_scoring import (
    Confounded,
    FiredAlert,
    SituationEpisode,
    Truth,
    episode_figures,
    false_alerts_by_situation,
    situation_figures,
    situations,
)


def _a(uscc: str, kind: str, day: date) -> FiredAlert:
    return FiredAlert(uscc, kind, f"{uscc}-{kind}-{day}", day)


def test_alerts_close_together_are_one_situation_far_apart_two() -> None:
    alerts = [
        _a("A", "tax_collapse", date(2026, 3, 10)),
        _a("A", "invoice_drop", date(2026, 3, 1)),
        _a("A", "peer_divergence", date(2026, 4, 12)),
        _a("A", "layoff", date(2026, 9, 1)),
        _a("B", "enterprise_exit", date(2026, 3, 1)),  # informational: not a situation
    ]
    groups = situations(alerts)
    assert [[x.alert_type for x in g] for g in groups] == [
        ["invoice_drop", "tax_collapse", "peer_divergence"],
        ["layoff"],
    ]


def test_situation_figures_count_one_situation_once() -> None:
    truth = [Truth("A", "relocation", date(2026, 3, 5)), Truth("C", "zombie", date(2026, 5, 1))]
    alerts = [
        _a("A", "relocation", date(2026, 3, 5)),
        _a("A", "layoff", date(2026, 3, 20)),
        _a("A", "invoice_drop", date(2026, 3, 25)),
        _a("B", "tax_collapse", date(2026, 1, 15)),  # no anomaly: a false situation
    ]
    figures = situation_figures(alerts, truth)
    assert figures["situations"] == 2 and figures["true_situations"] == 1
    assert figures["precision"] == 0.5 and figures["recall"] == 0.5
    assert figures["alerts_per_situation"] == 2.0


def test_false_alerts_by_kind_of_enterprise() -> None:
    truth = [Truth("A", "layoff", date(2026, 3, 1))]
    confounded = [
        Confounded("S", "q4_seasonal"),
        Confounded("A", "q4_seasonal"),
        Confounded("D", "industry_downturn"),
    ]
    alerts = [
        _a("A", "layoff", date(2026, 3, 15)),  # true
        _a("A", "zombie", date(2026, 4, 15)),  # false, but A is anomalous: not counted for q4_seasonal
        _a("S", "tax_collapse", date(2026, 2, 10)),
        _a("S", "invoice_drop", date(2026, 1, 20)),
        _a("N", "layoff", date(2025, 7, 1)),
        _a("N", "tax_credit_downgrade", date(2025, 7, 1)),  # informational
    ]
    usccs = ["A", "S", "D", "N"]
    rows = false_alerts_by_situation(alerts, truth, confounded, usccs, 12, festival_periods=[2026 * 12 + 1])
    assert rows["all"]["false_alerts"] == 4 and rows["all"]["enterprise_months"] == 48
    assert rows["clean"]["enterprises"] == 1 and rows["clean"]["false_alerts"] == 1
    assert rows["q4_seasonal"] == {"enterprises": 1, "enterprise_months": 12, "false_alerts": 2,
                                   "per_1000_enterprise_months": round(2000 / 12, 3)}  # fmt: skip
    assert rows["industry_downturn"]["false_alerts"] == 0
    assert rows["festival"]["false_alerts"] == 1  # February 2026 only


def test_a_situation_is_diagnosed_from_all_its_alerts() -> None:
    truth = [Truth("A", "relocation", date(2026, 3, 5)), Truth("B", "tax_collapse", date(2026, 3, 1))]
    alerts = [
        _a("A", "layoff", date(2026, 3, 1)),
        _a("A", "invoice_drop", date(2026, 3, 3)),
        _a("A", "relocation", date(2026, 3, 20)),
        _a("B", "tax_collapse", date(2026, 4, 10)),
        _a("B", "relocation", date(2026, 4, 12)),  # a wrong diagnosis for B's tax collapse
    ]
    figures = situation_figures(alerts, truth)
    assert figures["true_situations"] == 2 and figures["diagnosis_accuracy"] == 0.5


def test_the_workers_situations_are_scored_as_episodes() -> None:
    truth = [Truth("A", "relocation", date(2026, 3, 5)), Truth("C", "zombie", date(2026, 5, 1))]
    episodes = [  # A's finding that explains it joined the episode later: still true
        SituationEpisode("A", "s1", date(2026, 1, 10), date(2026, 3, 6), frozenset({"invoice_drop", "relocation"}),
                         "relocation"),
        SituationEpisode("B", "s2", date(2026, 1, 15), date(2026, 1, 15), frozenset({"tax_collapse"}),
                         "signal:tax_collapse"),
        SituationEpisode("D", "s3", date(2026, 2, 1), date(2026, 2, 1), frozenset({"enterprise_exit"}), "exit"),
        SituationEpisode("C", "s4", date(2025, 1, 1), date(2025, 2, 1), frozenset({"zombie"}), "zombie_dormant"),
    ]  # fmt: skip
    figures = episode_figures(episodes, truth)
    # the exit is a fact, left out; C's episode ended long before its anomaly: false, and C missed
    assert figures["episodes"] == 3 and figures["true_episodes"] == 1
    assert figures["precision"] == round(1 / 3, 4) and figures["recall"] == 0.5
    assert figures["diagnosis_accuracy"] == 1.0
