"""One library on a simulated park: identity resolution and cross-source contradictions.

A park where 30% of the social-security and 10% of the tax events name their enterprise by
a legacy identifier (organisation code, registration number or taxpayer id), where 10% of
the enterprises' registration numbers are announced by no registration event, and where
10% of the enterprises' filings contradict the register, is produced as a backlog and run
through the real worker. Reported:

* match rate — legacy-keyed events applied to an enterprise, of all legacy-keyed events,
  before and after the missing mappings are imported (``entbrain identities import``); and
  whether each was applied to the right enterprise (the simulator's truth);
* parked then resolved — events parked for want of an identity, released once the
  mappings were imported, and the delay (parked → released, and import → all applied);
* contradictions — precision and recall of the data-quality findings (enterprise, check)
  against the injected ones;
* resolver cost — the worker's throughput (events/s from start to the last event handled)
  on this park against the very same events all keyed by USCC.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from simulator import SimulationConfig, simulate
from simulator.library import contradiction_truth, identity_truth, true_uscc, unannounced_mappings

console = Console()
SCHEMES = ("org_code", "registration_number", "taxpayer_id")


@dataclass
class Park:
    messages: list[tuple[str, bytes, bytes, int]]  # (kind, key, value, timestamp ms)
    keyed_by_uscc: list[tuple[str, bytes, bytes, int]]
    legacy_truth: dict[str, str]  # event_id → the USCC it belongs to
    legacy_by_kind: Counter[str]
    events_by_kind: Counter[str]


def build_park(config: SimulationConfig) -> Park:
    """The park's messages, and the same messages with every legacy identifier replaced by the USCC."""
    from streams.send_times import SendClock

    truth = identity_truth(config)
    clock = SendClock()
    park = Park([], [], {}, Counter(), Counter())
    for m in simulate(config):
        stamp = clock.stamp(m.business_time)
        park.messages.append((m.kind, m.key, m.value, stamp))
        if m.malformed:
            park.keyed_by_uscc.append((m.kind, m.key, m.value, stamp))
            continue
        payload = orjson.loads(m.value)
        named = next(((s, payload[s]) for s in SCHEMES if "uscc" not in payload and payload.get(s)), None)
        if not m.duplicate:
            park.events_by_kind[m.kind] += 1
        if named is None:
            park.keyed_by_uscc.append((m.kind, m.key, m.value, stamp))
            continue
        uscc = true_uscc(truth, *named)
        assert uscc is not None, named
        if not m.duplicate:
            park.legacy_truth[payload["event_id"]] = uscc
            park.legacy_by_kind[m.kind] += 1
        rekeyed = {"uscc": uscc, **{k: v for k, v in payload.items() if k != named[0]}}
        park.keyed_by_uscc.append((m.kind, uscc.encode(), orjson.dumps(rekeyed), stamp))
    return park


def _drain(worker: Any, total: int, quiet_seconds: float = 4.0, timeout: float = 900.0) -> float:
    """Seconds from now until the worker last changed its counts, once every input was read."""
    started = time.monotonic()
    last_change, last = started, None
    while time.monotonic() - started < timeout:
        try:
            counts = worker.counts()
        except OSError:  # the worker is busy with a batch: ask again
            continue
        original = counts["consumed"] - counts.get("resolved", 0) - counts.get("released", 0)
        if counts != last:
            last, last_change = counts, time.monotonic()
        elif original >= total and time.monotonic() - last_change >= quiet_seconds:
            return last_change - started
        time.sleep(0.25)
    raise TimeoutError(f"the worker did not finish: {last}")


def _scalar(worker: Any, sql: str) -> Any:
    return worker.query(sql)[0][0]


def run(config: SimulationConfig) -> dict[str, Any]:
    from config import Settings
    from streams import broker
    from streams.harness import WorkerProcess, isolated_env
    from streams.kafka_admin import ensure_topics
    from streams.produce import produce_all

    settings = Settings()
    started_broker = broker.ensure_started(settings)
    tmp = Path(tempfile.mkdtemp(prefix="entbrain-bench-library-"))
    console.print("simulating the park …")
    park = build_park(config)
    result: dict[str, Any] = {"events": len(park.messages), "legacy_events": dict(park.legacy_by_kind),
                              "events_by_kind": dict(park.events_by_kind)}  # fmt: skip
    try:
        # the same events keyed by USCC: the baseline throughput
        env = isolated_env(tmp / "uscc", settings.kafka.bootstrap_servers, partitions=4)
        baseline = WorkerProcess(env, tmp / "uscc.log")
        ensure_topics(baseline.settings.kafka)
        produce_all(baseline.settings, park.keyed_by_uscc, label="producing (keyed by USCC)")
        baseline.start()
        try:
            seconds = _drain(baseline, len(park.keyed_by_uscc))
        finally:
            baseline.stop()
        result["uscc_keyed_seconds"] = round(seconds, 2)
        result["uscc_keyed_events_per_s"] = round(len(park.keyed_by_uscc) / seconds, 1)

        env = isolated_env(tmp / "legacy", settings.kafka.bootstrap_servers, partitions=4)
        worker = WorkerProcess(env, tmp / "legacy.log")
        ensure_topics(worker.settings.kafka)
        produce_all(worker.settings, park.messages, label="producing (legacy-keyed share)")
        worker.start()
        try:
            seconds = _drain(worker, len(park.messages))
            result["legacy_keyed_seconds"] = round(seconds, 2)
            result["legacy_keyed_events_per_s"] = round(len(park.messages) / seconds, 1)
            result["resolver_cost_percent"] = round(100 * (1 - result["legacy_keyed_events_per_s"]
                                                          / result["uscc_keyed_events_per_s"]), 1)  # fmt: skip
            result.update(_identity_figures(worker, park, "before_import"))
            result.update(_import_and_release(worker, config, tmp, park))
            result.update(_identity_figures(worker, park, "after_import"))
            result.update(_contradiction_figures(worker, config))
        finally:
            worker.stop()
    finally:
        if started_broker:
            broker.stop(settings)
    return result


def _identity_figures(worker: Any, park: Park, stage: str) -> dict[str, Any]:
    applied = {str(r[0]): str(r[1]) for r in worker.query("SELECT event_id, uscc FROM events FINAL WHERE identified_by != ''")}
    right = sum(1 for e, u in applied.items() if park.legacy_truth.get(e) == u)
    parked = dict(worker.query("SELECT source, count() FROM unmatched_events FINAL WHERE status = 'parked' GROUP BY source"))
    per_source = {str(r[0]): float(r[1]) for r in worker.query(
        "SELECT source, legacy_match_rate FROM v_match_rate WHERE legacy_resolved + parked > 0 ORDER BY source")}  # fmt: skip
    return {
        f"{stage}_match_rate": round(len(applied) / max(1, len(park.legacy_truth)), 4),
        f"{stage}_match_rate_by_source": per_source,
        f"{stage}_applied_to_the_right_enterprise": right,
        f"{stage}_applied_to_a_wrong_enterprise": len(applied) - right,
        f"{stage}_parked_by_source": {str(k): int(v) for k, v in parked.items()},
    }


def _import_and_release(worker: Any, config: SimulationConfig, tmp: Path, park: Park) -> dict[str, Any]:
    from streams.cli import main as entbrain

    mappings = unannounced_mappings(config)
    mapping_file = tmp / "mappings.csv"
    mapping_file.write_text("identifier,uscc\n" + "".join(f"{i},{u}\n" for i, u in mappings), encoding="utf-8")
    parked_before = int(_scalar(worker, "SELECT count() FROM unmatched_events FINAL WHERE status = 'parked'"))
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in worker.env.items() if k.startswith("ENTBRAIN_")})
    try:
        started = time.monotonic()
        if entbrain(["identities", "import", str(mapping_file)]) != 0:
            raise RuntimeError("the mapping import failed")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        left = int(_scalar(worker, "SELECT count() FROM unmatched_events FINAL WHERE status = 'parked'"))
        applied = int(_scalar(worker, "SELECT count() FROM events FINAL WHERE identified_by != ''"))
        if left == 0 and applied >= len(park.legacy_truth):
            break
        time.sleep(0.25)
    all_applied = time.monotonic() - started
    delays = worker.query("SELECT count(), avg(delay_seconds), quantile(0.5)(delay_seconds), max(delay_seconds) "
                          "FROM unmatched_events FINAL WHERE status = 'released'")[0]  # fmt: skip
    return {
        "mappings_imported": len(mappings),
        "parked_before_import": parked_before,
        "parked_then_released": int(delays[0]),
        "still_parked": left,
        "release_delay_mean_s": round(float(delays[1] or 0), 2),
        "release_delay_median_s": round(float(delays[2] or 0), 2),
        "release_delay_max_s": round(float(delays[3] or 0), 2),
        "import_to_all_applied_s": round(all_applied, 2),
    }


def _contradiction_figures(worker: Any, config: SimulationConfig) -> dict[str, Any]:
    truth = {(u, c) for u, c in contradiction_truth(config).items()}
    found = {(str(r[0]), str(r[1])) for r in worker.query("SELECT DISTINCT uscc, check FROM data_quality_findings FINAL")}
    hits = truth & found
    by_check: dict[str, dict[str, Any]] = {}
    for check in sorted({c for _, c in truth | found}):
        t = {p for p in truth if p[1] == check}
        f = {p for p in found if p[1] == check}
        by_check[check] = {"injected": len(t), "found": len(f), "true_positives": len(t & f),
                           "precision": round(len(t & f) / len(f), 3) if f else None,
                           "recall": round(len(t & f) / len(t), 3) if t else None}  # fmt: skip
    return {
        "contradictions_injected": len(truth),
        "contradictions_found": len(found),
        "contradiction_precision": round(len(hits) / len(found), 3) if found else None,
        "contradiction_recall": round(len(hits) / len(truth), 3) if truth else None,
        "contradictions_by_check": by_check,
    }


def render(result: dict[str, Any]) -> None:
    table = Table("figure", "value", title="one library")
    for key, value in result.items():
        table.add_row(key, orjson.dumps(value).decode() if isinstance(value, dict) else str(value))
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.library", description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=300)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--legacy-social-security", type=float, default=0.3)
    parser.add_argument("--legacy-tax", type=float, default=0.1)
    parser.add_argument("--unannounced", type=float, default=0.1, help="share of registration numbers only a mapping file gives")
    parser.add_argument("--contradictions", type=float, default=0.1, help="share of enterprises with a contradiction")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    config = SimulationConfig(
        enterprises=args.enterprises, months=args.months, seed=args.seed, legacy_tax_rate=args.legacy_tax,
        legacy_social_security_rate=args.legacy_social_security, unannounced_identity_rate=args.unannounced,
        contradiction_rate=args.contradictions,
    )  # fmt: skip
    result = run(config)
    render(result)
    if args.json:
        args.json.write_text(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
