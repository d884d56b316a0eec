"""The enterprise scorer: peer percentiles → five dimensions → composite, tier, lists;
next-period forecasts; exit-risk probability. Score first, then learn.

One :class:`EnterpriseScorer` serves all the enterprises a worker owns. It is a plain
picklable object (River models, dicts and lists): a checkpoint is a pickle of it
(:mod:`detectors.scoring.checkpoint`). Its memory is bounded by the configuration (peer
sample capacity, tracked enterprises, pending exit-risk snapshots), not by the stream.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import river

from config import DIMENSIONS, ScoringConfig, load_scoring_config
from detectors.errors import RuleConfigError
from detectors.features import enterprise_features, last_filed
from detectors.scoring.dimensions import (
    CriteriaTable,
    composite_score,
    criteria_values,
    dimension_scores,
    known_fields,
    peer_keys,
    round2,
    size_band,
    weight_table,
)
from detectors.scoring.exit_risk import EXIT_STATUSES, ExitRiskModel, exit_inputs
from detectors.scoring.forecast import SeriesForecaster
from detectors.scoring.peers import PeerIndex, close_period, uscc_hash
from schemas import DimensionScores, EnterpriseState, ListChange, ScoreUpdate
from schemas.state import ScoreSummary, month_text

MODEL_VERSION = f"entbrain-scoring-1/river-{river.__version__}"
FEATURE_NAMES = frozenset({
    "registered_capital", "high_tech", "abnormal_operation", "credit_score", "capital_injections_24m",
    "capital_injection_count_24m", "legal_rep_changes_12m", "overdue_days_12m", "age_months",
    "revenue_annual", "revenue_yoy", "revenue_3m_growth", "revenue_mom", "tax_burden", "cit_burden",
    "rd_intensity", "rd_expense_annual", "headcount", "headcount_change_12m", "contribution_per_employee",
    "arrears_ratio", "vat_filing_gaps", "ss_filing_gaps", "invoice_amount_90d", "invoice_count_90d",
    "invoice_trend", "revenue_per_capita",
})  # fmt: skip


def is_holdout(uscc: str, share: float) -> bool:
    """Whether an enterprise is held out of exit-risk learning (a stable split by USCC hash)."""
    return share > 0 and uscc_hash(uscc) % 10_000 < share * 10_000


def _month(state: EnterpriseState) -> int | None:
    day = state.business_at
    return None if day is None else day.year * 12 + day.month - 1


@dataclass(frozen=True, slots=True)
class Learning:
    """What the scorer learned from one scored enterprise: all that another worker needs to
    learn the same (its peer index and exit-risk model), without the enterprise's state.

    ``x`` is the exit-risk snapshot (``None`` for an exit, or an enterprise without a
    business month or held out of exit-risk learning).
    """

    uscc: str
    keys: tuple[str, ...]
    scored: dict[str, float]
    x: dict[str, float] | None
    exited: bool
    month: int | None


class EnterpriseScorer:
    """Scores enterprises against their peers and learns from each one it scores.

    Parameters
    ----------
    config
        The scoring configuration (``config/scoring.yaml`` when ``None``).
    exit_holdout
        Share of enterprises (by USCC hash) whose exit labels are never learned, so the
        exit-risk model can be evaluated on them; 0 in production.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> scorer = EnterpriseScorer()
    >>> update = scorer.score_one(EnterpriseState(uscc="91330110MA2B000011"), datetime(2026, 1, 1, tzinfo=UTC))
    >>> update.tier in {"leader", "high_growth", "growth", "base", "at_risk"}
    True
    """

    def __init__(self, config: ScoringConfig | None = None, exit_holdout: float = 0.0) -> None:
        self.config = config or load_scoring_config()
        self.exit_holdout = exit_holdout
        weighted = {f for weights in self.config.dimensions.values() for f in weights}
        unknown = weighted - FEATURE_NAMES
        if unknown:
            raise RuleConfigError(f"dimensions use unknown features {sorted(unknown)}; known: {sorted(FEATURE_NAMES)}")
        unknown = self.config.fields() - known_fields(set(FEATURE_NAMES))
        if unknown:
            raise RuleConfigError(f"tier/list conditions use unknown fields {sorted(unknown)}")
        pct_refs = {f[4:] for f in self.config.fields() if f.startswith("pct.")}
        self.scored_features = tuple(sorted(weighted | pct_refs))
        self.pct_fields = tuple(sorted(pct_refs))
        self.weights = weight_table(self.config.dimensions)
        self.criteria = CriteriaTable.of(self.config)
        self.config_version = self.config.version  # read on every score: the config's is a slow private attribute
        peers = self.config.peers
        self.peers = PeerIndex(peers.min_peers, peers.capacity, peers.max_enterprises)
        fc = self.config.forecast
        self.revenue_forecaster = SeriesForecaster(fc.learning_rate, fc.l2)
        self.headcount_forecaster = SeriesForecaster(fc.learning_rate, fc.l2)
        ex = self.config.exit_risk
        self.exit_risk = ExitRiskModel(ex.horizon_months, ex.learning_rate, ex.max_pending)
        self.updates = 0
        self.last_learning: Learning | None = None  # what the latest score_one learned
        self.period: int | None = None  # the close period of the latest record scored or learned
        self.business_month: int | None = None  # the latest business month learned (the exit-risk clock at a close)

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.criteria = CriteriaTable.of(self.config)  # checkpoints from before the table; also rebuilt on load
        self.config_version = self.config.version
        self.__dict__.setdefault("period", None)  # checkpoints from before closes
        self.__dict__.setdefault("business_month", None)

    def enter(self, at: float) -> bool:
        """Move to the close period of event time ``at`` (Unix seconds): on entering a later
        period, close — the exit-risk model learns the snapshots that matured and the peers'
        current values become what percentiles read. Returns whether it closed.

        Every scored or learned record enters its period first, in the merge's order, so a
        close falls between the same two records whichever worker scored which.
        """
        period = close_period(at, self.config.peers.close_days)
        if self.period is not None and period <= self.period:
            return False
        self.period = period
        if self.business_month is not None:
            self.exit_risk.advance(self.business_month)
        self.peers.close()
        return True

    def score_one(self, state: EnterpriseState, at: datetime) -> ScoreUpdate:
        """Score ``state`` with the current peer statistics and models, then learn from it.

        Writes the new :class:`~schemas.state.ScoreSummary` into ``state.scores`` (pass the
        fresh state returned by ``apply_event``). ``at`` is the record's event time.
        """
        self.enter(at.timestamp())
        return self._score(state, at, learn=True)

    def seed(self, state: EnterpriseState) -> None:
        """Enter ``state`` into the peer statistics only (no scores, no model learning).

        For a worker that starts or gains partitions: seeding every state of its table
        rebuilds peer groups that a checkpoint lacks or that belong to other workers now.
        """
        if state.status in EXIT_STATUSES:
            self.peers.forget(state.uscc)
            return
        features = enterprise_features(state)
        _, band = size_band(features, self.config.size_bands)
        scored = {f: features[f] for f in self.scored_features if f in features}
        self.peers.learn(state.uscc, peer_keys(state.industry_code, band), scored)

    def peek(self, state: EnterpriseState, at: datetime) -> ScoreUpdate:
        """Score without learning and without touching ``state``, against the peers as they
        stand now (not at the last close): what the index holds, for checks against an oracle."""
        return self._score(state, at, learn=False)

    def _score(self, state: EnterpriseState, at: datetime, learn: bool) -> ScoreUpdate:
        config = self.config
        features = enterprise_features(state)
        rank, band = size_band(features, config.size_bands)
        keys = peer_keys(state.industry_code, band)
        scored = {f: features[f] for f in self.scored_features if f in features}
        pcts, used = self.peers.percentiles(state.uscc, keys, scored, live=not learn)
        dims, parts = dimension_scores(pcts, self.weights)
        composite = composite_score(dims, config.composite)
        previous = state.scores or ScoreSummary()
        fc_revenue, fc_headcount, learned = self._forecast(state, previous, learn)
        exited = state.status in EXIT_STATUSES
        month = _month(state)
        x = exit_inputs(features, dims)
        risk = 1.0 if exited else self.exit_risk.predict(x)
        if learn:
            self.updates += 1
            snapshot = None if exited or month is None or is_holdout(state.uscc, self.exit_holdout) else x
            self.last_learning = Learning(state.uscc, keys, scored, snapshot, exited, month)
            self.learn(self.last_learning)
        values = criteria_values(features, pcts, dims, composite, risk, rank, self.pct_fields)
        tier = "at_risk" if exited else self.criteria.tier(values)
        lists = [] if exited else self.criteria.lists_of(values)
        if learn:
            state.scores = ScoreSummary(
                dims=[dims[d] for d in DIMENSIONS], composite=composite, tier=tier, lists=lists,
                exit_risk=risk, fc_revenue=fc_revenue, fc_headcount=fc_headcount, learned=learned,
            )  # fmt: skip
        return ScoreUpdate(
            uscc=state.uscc,
            scored_at=at,
            dimensions=DimensionScores(**dims),
            composite=composite,
            tier=tier,
            model_version=MODEL_VERSION,
            config_version=self.config_version,
            contributions=parts,
            percentiles={k: round2(v) for k, v in pcts.items()},
            peer_group=Counter(used.values()).most_common(1)[0][0] if used else keys[0],
            lists=lists,
            exit_risk=risk,
            forecast_revenue=fc_revenue[1] if fc_revenue else None,
            forecast_revenue_period=fc_revenue[0] if fc_revenue else None,
            forecast_headcount=fc_headcount[1] if fc_headcount else None,
            forecast_headcount_period=fc_headcount[0] if fc_headcount else None,
        )

    def learn(self, learning: Learning, at: float | None = None) -> None:
        """Learn one scored enterprise: the scorer's own, or one another worker scored (at
        event time ``at``: its period is entered first)."""
        if at is not None:
            self.enter(at)
        if learning.exited:
            self.peers.forget(learning.uscc)
            if learning.month is not None:
                self.exit_risk.exited(learning.uscc, learning.month)
        else:
            self.peers.learn(learning.uscc, learning.keys, learning.scored)
            if learning.x is not None and learning.month is not None:
                self.exit_risk.snapshot(learning.uscc, learning.month, learning.x)
        if learning.month is not None and (self.business_month is None or learning.month > self.business_month):
            self.business_month = learning.month  # the exit-risk clock moves at the next close

    def _forecast(
        self, state: EnterpriseState, previous: ScoreSummary, learn: bool
    ) -> tuple[tuple[str, float] | None, tuple[str, float] | None, tuple[str | None, str | None]]:
        m = state.monthly
        first = m.first
        if first is None:
            return None, None, previous.learned
        out: list[tuple[str, float] | None] = []
        learned = list(previous.learned)
        pairs = (
            (self.revenue_forecaster, m.revenue, previous.fc_revenue),
            (self.headcount_forecaster, m.headcount, previous.fc_headcount),
        )
        for i, (forecaster, values, made) in enumerate(pairs):
            end = last_filed(values)
            if end is None:
                out.append(None)
                continue
            period = month_text(first + end)
            if learn and (learned[i] is None or period > str(learned[i])):
                forecaster.observe(values, end, (first + end) % 12 + 1, made[1] if made and made[0] == period else None)
                learned[i] = period
            target = month_text(first + end + 1)
            if made is not None and made[0] == target and learned[i] == previous.learned[i]:
                out.append(made)  # nothing new in this series: keep the forecast made for it
                continue
            value = forecaster.forecast(values, end + 1, (first + end + 1) % 12 + 1)
            out.append(None if value is None else (target, value))
        return out[0], out[1], (learned[0], learned[1])

    def forecast_report(self) -> dict[str, dict[str, float]]:
        """sMAPE of the revenue and headcount forecasts against seasonal-naive, so far."""
        return {"revenue": self.revenue_forecaster.report(), "headcount": self.headcount_forecaster.report()}


def list_changes(
    before: EnterpriseState | None, update: ScoreUpdate, event_id: str = ""
) -> list[ListChange]:
    """Enter/leave events between the lists in ``before.scores`` and ``update.lists``."""
    old = set(before.scores.lists) if before is not None and before.scores is not None else set()
    new = set(update.lists)
    if new == old:  # nearly every score: nothing entered or left
        return []
    evidence = {**update.dimensions.model_dump(), "composite": update.composite}
    if update.exit_risk is not None:
        evidence["exit_risk"] = update.exit_risk
    return [
        ListChange(
            uscc=update.uscc, list_name=name, change=change, changed_at=update.scored_at,
            composite=update.composite, event_id=event_id, evidence=evidence,
            config_version=update.config_version,
        )  # fmt: skip
        for change, names in (("enter", sorted(new - old)), ("leave", sorted(old - new)))
        for name in names
    ]
