"""Scoring benchmark: simulated park → decode → apply → score, in-process (no Kafka).

    python -m bench.scoring --enterprises 2000 --months 24 --seed 1 [--json FILE]

Reports, against a batch oracle computed from the same final states:

* ``oracle_agreement`` — share of (warmed-up) enterprises whose online percentiles, read
  from the scorer at the end of the stream, are all within ±2 points of the exact ones;
  ``emitted_agreement`` the same for the last score each enterprise emitted (it lags the
  peers' later filings) and ``emitted_pair_agreement`` per (enterprise, feature);
* ``tier_agreement`` / ``emitted_tier_agreement`` — tier and lists equal to the batch ones;
* ``forecast_smape`` / ``naive_smape`` — next-month VAT revenue, model vs seasonal-naive
  (same months), and the same for headcount;
* ``exit_auc`` — ROC-AUC of the exit-risk probability on enterprises held out of training
  (by USCC hash): one point per held-out enterprise and business month (its last score in
  the month while active) whose whole horizon lies inside the stream, labelled 1 if it
  exits within the horizon, else 0; from the first month in which labels can exist
  (``exit_auc_from_start``: all months; ``exit_auc_progressive``: every enterprise, each
  prediction made before its own label was learned);
* ``us_per_update`` — median µs of ``score_one``; state size and serialize+parse cost.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from detectors.scoring import EXIT_STATUSES, EnterpriseScorer, is_holdout
from detectors.scoring.oracle import batch_percentiles, batch_scores
from schemas import EnterpriseState, EventRejected, ScoreUpdate, decode_event
from simulator import SimulationConfig, simulate
from streams.state_update import apply_event

WARM_MONTHS = 3  # an enterprise with fewer VAT months is still warming up


def roc_auc(labels: list[int], scores: list[float]) -> float:
    """Exact ROC-AUC (ties count half), from the Mann–Whitney statistic."""
    y, s = np.asarray(labels), np.asarray(scores, dtype=float)
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if not pos or not neg:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _month(state: EnterpriseState) -> int | None:
    day = state.business_at
    return None if day is None else day.year * 12 + day.month - 1


def replay(cfg: SimulationConfig, scorer: EnterpriseScorer, holdout: float, console: Console) -> dict[str, Any]:
    now = datetime.now(UTC)
    states: dict[str, EnterpriseState] = {}
    last: dict[str, ScoreUpdate] = {}
    risk_at: dict[tuple[str, int], float] = {}
    exits: dict[str, int] = {}
    timings: list[int] = []
    apply_ns: list[int] = []
    counts = {"messages": 0, "dead_letter": 0, "duplicate": 0, "applied": 0}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,} msgs"),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("simulate → decode → apply → score", total=None)
        for message in simulate(cfg):
            counts["messages"] += 1
            if counts["messages"] % 5000 == 0:
                progress.update(task, completed=counts["messages"])
            event = decode_event(message.value, now)
            if isinstance(event, EventRejected):
                counts["dead_letter"] += 1
                continue
            t0 = time.perf_counter_ns()
            state, applied = apply_event(states.get(event.uscc), event, now, 64)
            apply_ns.append(time.perf_counter_ns() - t0)
            states[event.uscc] = state
            if not applied:
                counts["duplicate"] += 1
                continue
            counts["applied"] += 1
            t0 = time.perf_counter_ns()
            update = scorer.score_one(state, message.business_time)  # its event time, as in the worker
            timings.append(time.perf_counter_ns() - t0)
            last[event.uscc] = update
            month = _month(state)
            if month is None:
                continue
            if state.status in EXIT_STATUSES:
                exits.setdefault(event.uscc, month)
            elif update.exit_risk is not None:
                risk_at[event.uscc, month] = update.exit_risk
    return {"states": states, "last": last, "risk_at": risk_at, "exits": exits, "timings": timings,
            "apply_ns": apply_ns, "counts": counts}  # fmt: skip


def exit_auc(
    risk_at: dict[tuple[str, int], float], exits: dict[str, int], horizon: int, end: int, after: int
) -> dict[str, float]:
    """ROC-AUC over held-out (enterprise, month) points from month ``after`` on (the model
    has no label at all in the first ``horizon`` months of a stream)."""
    labels: list[int] = []
    scores: list[float] = []
    for (uscc, month), risk in risk_at.items():
        if month < after:
            continue
        gone = exits.get(uscc)
        if gone is not None and gone < month:
            continue
        if month + horizon > end:
            continue  # censored: the stream ends inside the horizon, for either label
        labels.append(1 if gone is not None and gone - month <= horizon else 0)
        scores.append(risk)
    return {"exit_auc": roc_auc(labels, scores), "exit_points": float(len(labels)), "exit_positives": float(sum(labels))}


def agreement(scorer: EnterpriseScorer, run: dict[str, Any]) -> dict[str, float]:
    states: dict[str, EnterpriseState] = run["states"]
    last: dict[str, ScoreUpdate] = run["last"]
    exact = batch_percentiles(states.values(), scorer.config, scorer.scored_features)
    warm = [u for u in exact if sum(v is not None for v in states[u].monthly.revenue) >= WARM_MONTHS]
    at = datetime.now(UTC)
    peeked = {u: scorer.peek(states[u], at) for u in exact}

    def within(online: dict[str, float], truth: dict[str, float]) -> bool:
        return all(abs(online.get(f, -1e9) - v) <= 2.0 for f, v in truth.items())

    pairs = [abs(last[u].percentiles.get(f, -1e9) - v) <= 2.0 for u in warm for f, v in exact[u].items()]
    risks = {u: s.scores.exit_risk if s.scores else None for u, s in states.items()}
    batch = batch_scores(states.values(), scorer.config, scorer.scored_features, risks)
    # the tier may use exit risk, a learned value: compare the peeked tiers under the peeked risk
    now_batch = batch_scores(
        states.values(), scorer.config, scorer.scored_features, {u: p.exit_risk for u, p in peeked.items()}
    )
    n = max(1, len(warm))
    return {
        "oracle_agreement": sum(within(peeked[u].percentiles, exact[u]) for u in warm) / n,
        "emitted_agreement": sum(within(last[u].percentiles, exact[u]) for u in warm) / n,
        "emitted_pair_agreement": sum(pairs) / max(1, len(pairs)),
        "tier_agreement": sum((peeked[u].tier, peeked[u].lists) == (b.tier, b.lists) for u, b in now_batch.items())
        / max(1, len(now_batch)),
        "emitted_tier_agreement": sum((last[u].tier, last[u].lists) == (b.tier, b.lists) for u, b in batch.items())
        / max(1, len(batch)),
        "warm_enterprises": float(len(warm)),
    }


def state_costs(states: dict[str, EnterpriseState]) -> dict[str, float]:
    sizes = sorted(len(s.model_dump_json().encode()) for s in states.values())
    sample = sorted(states.values(), key=lambda s: len(s.monthly))[-200:]
    costs = []
    for state in sample:
        t0 = time.perf_counter_ns()
        for _ in range(20):
            EnterpriseState.model_validate_json(state.model_dump_json())
        costs.append((time.perf_counter_ns() - t0) / 20 / 1000)
    return {
        "state_bytes_median": float(sizes[len(sizes) // 2]),
        "state_bytes_p95": float(sizes[int(len(sizes) * 0.95)]),
        "state_bytes_max": float(sizes[-1]),
        "serialize_parse_us": statistics.median(costs),
    }


def checkpoint_cost(scorer: EnterpriseScorer) -> dict[str, float]:
    t0 = time.perf_counter()
    payload = pickle.dumps(scorer, protocol=pickle.HIGHEST_PROTOCOL)
    t1 = time.perf_counter()
    pickle.loads(payload)  # noqa: S301  (our own object)
    t2 = time.perf_counter()
    return {"checkpoint_bytes": float(len(payload)), "checkpoint_dump_ms": (t1 - t0) * 1e3,
            "checkpoint_load_ms": (t2 - t1) * 1e3}  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--enterprises", type=int, default=2000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--holdout", type=float, default=0.3, help="share of enterprises held out of exit-risk training")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    console = Console()
    cfg = SimulationConfig(enterprises=args.enterprises, months=args.months, seed=args.seed)
    scorer = EnterpriseScorer(exit_holdout=args.holdout)
    started = time.perf_counter()
    run = replay(cfg, scorer, args.holdout, console)
    wall = time.perf_counter() - started
    fc = scorer.forecast_report()
    horizon = scorer.config.exit_risk.horizon_months
    held_out = {k: v for k, v in run["risk_at"].items() if is_holdout(k[0], args.holdout)}
    results: dict[str, float] = {
        **agreement(scorer, run),
        "forecast_smape": fc["revenue"]["smape"],
        "naive_smape": fc["revenue"]["naive_smape"],
        "forecast_months": fc["revenue"]["months"],
        "headcount_smape": fc["headcount"]["smape"],
        "headcount_naive_smape": fc["headcount"]["naive_smape"],
        **exit_auc(held_out, run["exits"], horizon, cfg.last_month, cfg.first_month + horizon + 1),
        "exit_auc_from_start": exit_auc(held_out, run["exits"], horizon, cfg.last_month, 0)["exit_auc"],
        "exit_auc_progressive": exit_auc(run["risk_at"], run["exits"], horizon, cfg.last_month,
                                         cfg.first_month + horizon + 1)["exit_auc"],  # fmt: skip
        "us_per_update": statistics.median(run["timings"]) / 1000,
        "us_per_update_p95": float(np.percentile(run["timings"], 95)) / 1000,
        "us_per_apply": statistics.median(run["apply_ns"]) / 1000,
        **state_costs(run["states"]),
        **checkpoint_cost(scorer),
        "wall_seconds": wall,
        **{k: float(v) for k, v in run["counts"].items()},
    }
    table = Table(title=f"entbrain scoring — {args.enterprises} enterprises × {args.months} months, seed {args.seed}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in results.items():
        table.add_row(key, f"{value:,.4f}" if abs(value) < 100 else f"{value:,.0f}")
    console.print(table)
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return results


if __name__ == "__main__":
    main()
