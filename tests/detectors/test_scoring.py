"""The enterprise scorer against the batch oracle; lists, checkpoints, memory, exit-risk labels."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from factories import encode, make_uscc, registration, synthetic_park, vat

from config import ScoringConfig, load_scoring_config
from config.scoring import PeerSettings
from detectors.errors import RuleConfigError
from detectors.scoring import (
    EnterpriseScorer,
    ExitRiskModel,
    SeriesForecaster,
    list_changes,
    load_checkpoint,
    save_checkpoint,
)
from detectors.scoring.oracle import batch_percentiles, batch_scores
from detectors.scoring.peers import uscc_hash
from detectors.scoring.scorer import Learning
from schemas import EnterpriseState, Event, ScoreUpdate, decode_event
from streams.state_update import apply_event

NOW = datetime(2026, 11, 26, tzinfo=UTC)
CONFIG = load_scoring_config()


@cache
def park_events(enterprises: int = 160, months: int = 15, seed: int = 3) -> tuple[Event, ...]:
    events = []
    for payload in synthetic_park(enterprises, months, seed):
        event = decode_event(encode(payload), NOW)
        assert not isinstance(event, Exception), event
        events.append(event)
    return tuple(events)


def run(
    scorer: EnterpriseScorer, events: tuple[Event, ...], states: dict[str, EnterpriseState] | None = None
) -> tuple[dict[str, EnterpriseState], dict[str, ScoreUpdate], list[ScoreUpdate]]:
    states = {} if states is None else states
    last: dict[str, ScoreUpdate] = {}
    updates: list[ScoreUpdate] = []
    for event in events:
        state, applied = apply_event(states.get(event.uscc), event, NOW, 64)
        states[event.uscc] = state
        if applied:
            update = scorer.score_one(state, event.occurred_at)  # scored at its event time, as a worker does
            last[event.uscc] = update
            updates.append(update)
    return states, last, updates


def with_peers(**changes: Any) -> ScoringConfig:
    return CONFIG.model_copy(update={"peers": CONFIG.peers.model_copy(update=changes)})


def worst_gap(online: dict[str, float], exact: dict[str, float]) -> float:
    return max((abs(online.get(f, -1e9) - v) for f, v in exact.items()), default=0.0)


@cache
def scored_park() -> tuple[EnterpriseScorer, dict[str, EnterpriseState], dict[str, ScoreUpdate]]:
    scorer = EnterpriseScorer(CONFIG)
    states, last, _ = run(scorer, park_events())
    return scorer, states, last


def test_online_percentiles_agree_with_the_batch_oracle() -> None:
    scorer, states, last = scored_park()
    exact = batch_percentiles(states.values(), CONFIG, scorer.scored_features)
    assert len(exact) > 100
    now = {u: scorer.peek(states[u], NOW).percentiles for u in exact}
    within = sum(worst_gap(now[u], pcts) <= 2.0 for u, pcts in exact.items())
    assert within / len(exact) >= 0.95
    # The last score each enterprise emitted read the peers at the close before it, so it
    # lacks the peers' later filings (growth rates most). In this park every enterprise files
    # a month's VAT at the same instant: its last score reads none of that month's wave (in
    # the simulated park, whose filings spread over the days of the filing window, 96–97% of
    # the pairs agree, `bench.scoring`).
    gaps = [abs(last[u].percentiles[f] - v) for u, pcts in exact.items() for f, v in pcts.items()]
    assert sum(g <= 2.0 for g in gaps) / len(gaps) >= 0.70
    assert sum(gaps) / len(gaps) <= 3.0


def test_a_bounded_peer_sample_stays_close_to_the_exact_percentiles() -> None:
    scorer = EnterpriseScorer(with_peers(capacity=120, min_peers=30))
    states, _, _ = run(scorer, park_events())
    assert all(len(group) <= 120 for group in scorer.peers.groups.values())
    exact = batch_percentiles(states.values(), CONFIG, scorer.scored_features)
    gaps = [abs(scorer.peek(states[u], NOW).percentiles[f] - v) for u, pcts in exact.items() for f, v in pcts.items()]
    assert sum(gaps) / len(gaps) <= 3.0


def test_tiers_and_lists_match_the_batch_evaluation_of_the_final_states() -> None:
    scorer, states, last = scored_park()
    risks = {u: s.scores.exit_risk if s.scores else None for u, s in states.items()}
    batch = batch_scores(states.values(), CONFIG, scorer.scored_features, risks)
    for uscc, expected in batch.items():
        now = scorer.peek(states[uscc], NOW)
        assert (now.tier, now.lists) == (expected.tier, expected.lists), uscc
        assert now.composite == pytest.approx(expected.composite, abs=0.01)
    same = sum((last[u].tier, last[u].lists) == (b.tier, b.lists) for u, b in batch.items())
    assert same / len(batch) >= 0.70  # the last scores read the close before the last wave (see above)
    assert len({b.tier for b in batch.values()}) >= 3  # the thresholds separate the park


def test_a_score_explains_itself() -> None:
    _, states, last = scored_park()
    update = next(u for u in last.values() if u.percentiles)
    for dim, score in update.dimensions.model_dump().items():
        parts = [v for k, v in update.contributions.items() if k.startswith(f"{dim}.")]
        assert sum(parts) == pytest.approx(score, abs=0.1) or (not parts and score == 50.0)
    assert update.model_version.startswith("entbrain-scoring") and update.config_version == CONFIG.version
    state = states[update.uscc]
    assert state.scores is not None and state.scores.tier == update.tier and state.scores.lists == update.lists


def test_pickling_the_scorer_mid_stream_gives_identical_subsequent_scores(tmp_path: Path) -> None:
    events = park_events(80, 14, 5)
    half = len(events) // 2
    scorer = EnterpriseScorer(CONFIG)
    states, _, _ = run(scorer, events[:half])
    save_checkpoint(scorer, tmp_path / "scorer.pkl")
    restored = load_checkpoint(tmp_path / "scorer.pkl")
    copy = pickle.loads(pickle.dumps(scorer))
    frozen = pickle.dumps(states)
    _, _, expected = run(scorer, events[half:], pickle.loads(frozen))
    _, _, from_file = run(restored, events[half:], pickle.loads(frozen))
    _, _, from_copy = run(copy, events[half:], pickle.loads(frozen))
    assert expected == from_file == from_copy
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temporary file


def test_memory_is_bounded_by_the_configuration() -> None:
    config = CONFIG.model_copy(update={
        "peers": PeerSettings(min_peers=10, capacity=40, max_enterprises=50, close_days=7),
        "exit_risk": CONFIG.exit_risk.model_copy(update={"horizon_months": 3, "max_pending": 60}),
    })  # fmt: skip
    scorer = EnterpriseScorer(config)
    run(scorer, park_events())
    assert len(scorer.peers.where) <= 50
    assert all(len(g) <= 40 and all(len(v) <= 40 for v in g.values.values()) for g in scorer.peers.groups.values())
    assert scorer.exit_risk.size <= 60 and sum(map(len, scorer.exit_risk.pending.values())) <= 60
    # same enterprises, twice the months: the scorer does not grow with the stream
    short, long = EnterpriseScorer(CONFIG), EnterpriseScorer(CONFIG)
    run(short, park_events(60, 12, 7))
    run(long, park_events(60, 24, 7))
    assert len(pickle.dumps(long)) <= 1.25 * len(pickle.dumps(short))


def test_list_changes_report_entering_and_leaving() -> None:
    _, states, last = scored_park()
    update = next(u for u in last.values() if u.lists)
    before = states[update.uscc].model_copy(update={"scores": None})
    entered = list_changes(before, update, "ev-1")
    assert {c.list_name for c in entered} == set(update.lists) and {c.change for c in entered} == {"enter"}
    assert entered[0].event_id == "ev-1" and entered[0].config_version == update.config_version
    left = list_changes(states[update.uscc], update.model_copy(update={"lists": []}))
    assert {c.change for c in left} == {"leave"}
    assert list_changes(states[update.uscc], update) == []


def test_exit_labels_arrive_late_and_only_from_before_the_exit() -> None:
    model = ExitRiskModel(horizon_months=3)
    model.snapshot("a", 100, {"x": 1.0})
    model.snapshot("a", 101, {"x": 2.0})
    model.snapshot("a", 101, {"x": 3.0})  # replaces that month's snapshot
    model.snapshot("b", 100, {"x": 0.0})
    model.advance(103)
    assert (model.positives, model.negatives) == (0, 0)  # within the horizon: no label yet
    assert model.exited("a", 103) == 2
    assert model.positives == 0  # known now, learned when the snapshot matures
    model.advance(104)
    assert (model.positives, model.negatives) == (1, 1)  # a@100 exited in time, b@100 did not
    model.advance(105)
    assert (model.positives, model.negatives) == (2, 1) and not model.pending and model.size == 0


def test_the_exit_event_itself_is_not_a_snapshot_and_held_out_enterprises_do_not_train() -> None:
    uscc = make_uscc(901)
    scorer = EnterpriseScorer(CONFIG)
    events = [registration(uscc, "r0")] + [vat(uscc, f"v{m}", f"2026-0{m}") for m in range(1, 6)]
    events.append(registration(uscc, "gone", change="status", status="deregistered", occurred_at="2026-06-03T10:00:00"))
    state: EnterpriseState | None = None
    for payload in events:
        event = decode_event(encode(payload), NOW)
        assert not isinstance(event, Exception)
        state, _ = apply_event(state, event, NOW, 64)
        update = scorer.score_one(state, NOW)
    assert update.exit_risk == 1.0 and update.lists == [] and update.tier == "at_risk"
    pending = {m: b[uscc] for m, b in scorer.exit_risk.pending.items() if uscc in b}
    assert pending and all(label for *_, label in pending.values())  # all pre-exit snapshots: positives
    assert max(pending) == 2026 * 12 + 4  # the last snapshot is May's; the June exit left none
    assert uscc not in scorer.peers.where  # an exited enterprise is nobody's peer
    held_out = EnterpriseScorer(CONFIG, exit_holdout=1.0)
    assert state is not None
    held_out.score_one(state.model_copy(update={"status": "active"}), NOW)
    assert not held_out.exit_risk.pending


def test_the_forecaster_beats_seasonal_naive_on_noisy_seasonal_series() -> None:
    import math
    import random

    rng = random.Random(4)
    forecaster = SeriesForecaster()
    series = [[] for _ in range(60)]  # type: list[list[int | None]]
    for t in range(30):
        for values in series:
            level = 100_000 * (1 + 0.3 * math.sin(2 * math.pi * t / 12))
            values.append(round(level * rng.lognormvariate(0, 0.25)))
            if t >= 1:
                made = forecaster.forecast(values[:-1], t, t % 12 + 1)
                forecaster.observe(values, t, t % 12 + 1, made)
    report = forecaster.report()
    assert report["smape"] < report["naive_smape"]


def test_unknown_features_in_the_configuration_are_rejected() -> None:
    bad = CONFIG.model_copy(update={"dimensions": {**CONFIG.dimensions, "scale": {"no_such_feature": 1.0}}})
    with pytest.raises(RuleConfigError, match="no_such_feature"):
        EnterpriseScorer(bad)
    with pytest.raises(ValueError, match="not '<field> <op> <number>'"):
        ScoringConfig.model_validate({**CONFIG.model_dump(), "tiers": [{"name": "x", "all": ["composite >>> 3"]}]})


def test_seeding_a_fresh_scorer_from_the_table_restores_the_peer_statistics() -> None:
    scorer, states, _ = scored_park()
    fresh = EnterpriseScorer(CONFIG)
    for state in states.values():
        fresh.seed(state)
    sample = list(states.values())[::7]
    assert [fresh.peek(s, NOW).percentiles for s in sample] == [scorer.peek(s, NOW).percentiles for s in sample]


def test_two_scorers_sharing_their_learning_in_order_score_like_one() -> None:
    """What the model feed relies on: each scorer scores half the enterprises and learns the
    other's :class:`Learning` records in the events' order, and scores like a single scorer."""
    events = park_events(60, 14, 5)
    _, alone, _ = run(EnterpriseScorer(CONFIG), events)
    halves = (EnterpriseScorer(CONFIG), EnterpriseScorer(CONFIG))
    states: dict[str, EnterpriseState] = {}
    shared: dict[str, ScoreUpdate] = {}
    learned = 0
    for event in events:
        state, applied = apply_event(states.get(event.uscc), event, NOW, 64)
        states[event.uscc] = state
        if not applied:
            continue
        mine = uscc_hash(event.uscc) % 2
        shared[event.uscc] = halves[mine].score_one(state, event.occurred_at)
        learning = halves[mine].last_learning
        assert isinstance(learning, Learning)
        halves[1 - mine].learn(learning, event.occurred_at.timestamp())
        learned += 1
    assert learned > 500
    assert {u: (s.tier, s.lists, s.composite, s.percentiles, s.exit_risk) for u, s in shared.items()} == {
        u: (s.tier, s.lists, s.composite, s.percentiles, s.exit_risk) for u, s in alone.items()
    }
    assert any(s.exit_risk for s in alone.values())  # the exit-risk model learned something to compare


def test_packed_snapshots_learn_what_dict_snapshots_learned_and_old_checkpoints_load() -> None:
    import pickle

    from detectors.scoring.exit_risk import ExitRiskModel

    given: list[dict[str, float]] = []

    def run(model: ExitRiskModel) -> list[float]:
        for month in range(24):
            for i in range(40):
                x = {"log_revenue_annual": 10.0 + i / 7 + month / 3, "arrears_ratio": (i % 5) / 9}
                if i % 3:
                    x["revenue_yoy"] = (i - 20) / 17
                model.snapshot(f"e{i}", month, x)
                given.append(x)
                if i % 11 == 0 and month % 7 == 6:
                    model.exited(f"e{i}", month)
            model.advance(month)
        return [model.predict({"log_revenue_annual": 10.0 + k, "arrears_ratio": 0.3}) for k in range(4)]

    packed = ExitRiskModel(horizon_months=3)
    learned: list[tuple[dict[str, float], bool]] = []
    learn = packed._learn
    packed._learn = lambda x, label: (learned.append((x, label)), learn(x, label))[1]  # type: ignore[method-assign]
    reference = run(packed)
    assert packed.positives and packed.negatives and len(packed._layouts) == 2
    # every matured snapshot is learned with exactly the inputs it was given, in order
    keys = [tuple(sorted(x.items())) for x in given]
    assert len(learned) == packed.positives + packed.negatives
    assert all(tuple(sorted(x.items())) in keys for x, _ in learned)
    assert sum(label for _, label in learned) == packed.positives
    # the same model, its pending snapshots stored the way checkpoints before packing held them
    old = ExitRiskModel(horizon_months=3)
    run(old)
    state = old.__dict__.copy()
    del state["_layouts"]
    state["pending"] = {m: {u: (dict(zip(n, v, strict=True)), label) for u, (n, v, label) in b.items()}
                        for m, b in old.pending.items()}  # fmt: skip
    revived = ExitRiskModel.__new__(ExitRiskModel)
    revived.__setstate__(pickle.loads(pickle.dumps(state)))
    assert revived.pending == old.pending
    del packed._learn  # the recording wrapper
    assert pickle.loads(pickle.dumps(packed)).pending == packed.pending
    assert reference == [packed.predict({"log_revenue_annual": 10.0 + k, "arrears_ratio": 0.3}) for k in range(4)]


def test_two_scorers_that_learn_each_others_period_at_its_end_still_score_like_one() -> None:
    """Within a close period the order does not matter: each scorer runs through its own
    enterprises of the whole period first and learns the other's period only then, shuffled
    (the most two workers a period apart can do) — and scores exactly like one scorer."""
    import random

    from detectors.scoring.peers import close_period

    # in event-time order, as the merge releases them (the factory's order is business time)
    events = tuple(sorted(park_events(60, 14, 5), key=lambda e: e.occurred_at))
    _, alone, _ = run(EnterpriseScorer(CONFIG), events)
    halves = (EnterpriseScorer(CONFIG), EnterpriseScorer(CONFIG))
    states: dict[str, EnterpriseState] = {}
    shared: dict[str, ScoreUpdate] = {}
    by_period: dict[int, list[Event]] = {}
    for event in events:
        by_period.setdefault(close_period(event.occurred_at.timestamp(), CONFIG.peers.close_days), []).append(event)
    assert len(by_period) > 40
    shuffle = random.Random(7).shuffle
    for period in sorted(by_period):
        inbox: tuple[list[tuple[Learning, float]], list[tuple[Learning, float]]] = ([], [])
        for side in (1, 0):  # the second scorer's whole period before the first's
            for event in by_period[period]:
                mine = uscc_hash(event.uscc) % 2
                if mine != side:
                    continue
                state, applied = apply_event(states.get(event.uscc), event, NOW, 64)
                states[event.uscc] = state
                if applied:
                    shared[event.uscc] = halves[mine].score_one(state, event.occurred_at)
                    learning = halves[mine].last_learning
                    assert isinstance(learning, Learning)
                    inbox[1 - mine].append((learning, event.occurred_at.timestamp()))
        for side, entries in enumerate(inbox):
            # enterprises in a shuffled order, each one's entries in its own order (as the
            # feed keeps them: one enterprise is scored by one worker, in order)
            by_uscc: dict[str, list[tuple[Learning, float]]] = {}
            for learning, at in entries:
                by_uscc.setdefault(learning.uscc, []).append((learning, at))
            order = list(by_uscc)
            shuffle(order)
            for uscc in order:
                for learning, at in by_uscc[uscc]:
                    halves[side].learn(learning, at)
    assert {u: (s.tier, s.lists, s.composite, s.percentiles, s.exit_risk) for u, s in shared.items()} == {
        u: (s.tier, s.lists, s.composite, s.percentiles, s.exit_risk) for u, s in alone.items()
    }
    assert len({s.tier for s in alone.values()}) >= 3


def test_past_the_pending_limit_the_first_snapshot_of_the_oldest_month_goes_and_old_buckets_load() -> None:
    import pickle

    from detectors.scoring.exit_risk import ExitRiskModel

    model = ExitRiskModel(horizon_months=3, max_pending=5)
    for month, usccs in ((1, "abc"), (2, "de")):
        for uscc in usccs:
            model.snapshot(uscc, month, {"arrears_ratio": 0.1})
    model.snapshot("a", 1, {"arrears_ratio": 0.2})  # replaces a's month-1 snapshot in its place
    model.snapshot("f", 2, {"arrears_ratio": 0.1})  # one past the limit: month 1's first goes
    assert model.size == 5 and list(model.pending[1]) == ["b", "c"] and "a" not in model.months
    model.snapshot("g", 3, {"arrears_ratio": 0.1})
    model.snapshot("h", 3, {"arrears_ratio": 0.1})
    assert list(model.pending) == [2, 3] and list(model.pending[2]) == ["d", "e", "f"]
    # a checkpoint from before the ordered buckets (plain dicts) drops in the same order
    state = model.__dict__.copy()
    state["pending"] = {m: dict(b) for m, b in model.pending.items()}
    revived = ExitRiskModel.__new__(ExitRiskModel)
    revived.__setstate__(pickle.loads(pickle.dumps(state)))
    for m in (model, revived):
        m.snapshot("i", 3, {"arrears_ratio": 0.1})
    assert list(revived.pending[2]) == list(model.pending[2]) == ["e", "f"]
