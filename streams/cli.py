"""The ``entbrain`` command line.

Errors a user can fix are printed as one line naming the problem, with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import KafkaException
from rich.console import Console
from rich.table import Table

from config import Settings
from streams import broker, processes
from streams.errors import AccessDenied, CliError, QueryFailed, StreamsError

console = Console(stderr=True)
out = Console()


def _kafka(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "start":
        pid = broker.start(settings)
        out.print(f"Kafka broker running on {settings.kafka.bootstrap_servers} (pid {pid})")
    elif args.action == "stop":
        stopped = broker.stop(settings)
        out.print("Kafka broker stopped" if stopped else "no Kafka broker was running")
    else:
        running = broker.running_pid(broker.paths_for(settings))
        up = broker.ready(settings.kafka.bootstrap_servers)
        out.print(f"broker pid: {running or '-'}; {settings.kafka.bootstrap_servers} {'answers' if up else 'does not answer'}")
        return 0 if up else 1
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from streams.worker import run_worker

    run_worker(settings, args.loglevel)
    return 0


def _simulate(settings: Settings, args: argparse.Namespace) -> int:
    from simulator import SimulationConfig, ground_truth, simulate, write_truth

    config = SimulationConfig(
        enterprises=args.enterprises, months=args.months, seed=args.seed, anomaly_rate=args.anomaly_rate,
        legacy_tax_rate=getattr(args, "legacy_tax", 0.0),
        legacy_social_security_rate=getattr(args, "legacy_social_security", 0.0),
        contradiction_rate=getattr(args, "contradictions", 0.0),
    )
    from streams.send_times import stamped

    messages = stamped(simulate(config))
    if args.truth:
        write_truth(Path(args.truth), ground_truth(config))
    if args.out:
        count = 0
        with Path(args.out).open("wb") as fh:
            for message in messages:
                fh.write(message[2].rstrip(b"\n") + b"\n")
                count += 1
        out.print(f"wrote {count} events to {args.out}")
        return 0
    from streams.produce import produce_all

    report = produce_all(settings, messages, rate=args.rate, label="simulating")
    out.print(f"produced {report.produced} events in {report.seconds:.1f}s ({report.produced / max(report.seconds, 1e-9):.0f}/s)")
    return report.produced if getattr(args, "return_count", False) else 0


def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    from schemas import EventRejected
    from streams.ingest import check_row, detect_format, read_rows, validate_kind
    from streams.kafka_admin import ensure_topics, make_producer
    from streams.send_times import SendClock

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    kind = validate_kind(args.kind)
    fmt = detect_format(path, args.format)
    rejects_path = Path(args.rejects) if args.rejects else path.with_name(path.name + ".rejects.jsonl")
    ensure_topics(settings.kafka)
    producer = make_producer(settings.kafka)
    failures: list[str] = []
    clock = SendClock()  # records stamped with their business time, in file order
    read = produced = rejected = 0
    with path.open("rb") as fh, rejects_path.open("wb") as rejects, Progress(
        TextColumn("[bold]ingesting"), BarColumn(), DownloadColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("ingest", total=path.stat().st_size)
        for row in read_rows(fh, fmt):
            read += 1
            checked = check_row(row, kind)
            if isinstance(checked, EventRejected):
                rejected += 1
                reasons = [r.as_dict() for r in checked.reasons]
                rejects.write(orjson.dumps({"line": row.line, "reasons": reasons, "row": row.payload}, default=str) + b"\n")
                continue
            value, event_kind, uscc, occurred_at = checked
            producer.produce(
                settings.kafka.topics.for_kind(event_kind), key=uscc.encode(), value=value,
                timestamp=clock.stamp(occurred_at),
                on_delivery=lambda err, _m: failures.append(str(err)) if err else None,
            )  # fmt: skip
            produced += 1
            if read % 1000 == 0:
                producer.poll(0)
                progress.update(task, completed=fh.tell())
        producer.flush()
        progress.update(task, completed=path.stat().st_size)
    if failures:
        raise CliError(f"{len(failures)} events were not delivered to Kafka; first error: {failures[0]}")
    if not rejected:
        rejects_path.unlink(missing_ok=True)
    out.print(f"read {read} · produced {produced} · rejected {rejected}"
              + (f" (reasons in {rejects_path})" if rejected else ""))  # fmt: skip
    return 1 if rejected and not args.allow_rejects else 0


def _schemas(settings: Settings, args: argparse.Namespace) -> int:
    from schemas.jsonschema import export

    for path in export(Path(args.dir)):
        out.print(f"wrote {path}")
    return 0


def worker_request(settings: Settings, path: str, body: dict[str, Any] | None = None, timeout: float = 60) -> Any:
    """JSON from the worker's web API, with the CLI's token; ``None`` if no worker answers.

    A refusal (401/403) is :class:`AccessDenied`; any other error answer is :class:`CliError`
    with the worker's one-line reason.
    """
    headers = {"Content-Type": "application/json"}
    token = settings.auth.cli_token()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - the configured worker address
        f"{settings.web.base_url}{path}",
        data=orjson.dumps(body) if body is not None else None,
        headers=headers,
        method="POST" if body is not None else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310
            return orjson.loads(resp.read())
    except urllib.error.HTTPError as exc:
        reason = _error_of(exc)
        if exc.code in (401, 403):
            raise AccessDenied(f"the worker refused: {reason} (set ENTBRAIN_AUTH__CLIENT_TOKEN)") from None
        if exc.code == 400 and path == "/api/query":
            raise QueryFailed(reason) from None
        raise CliError(f"the worker answered {exc.code}: {reason}") from None
    except (urllib.error.URLError, OSError):
        return None


def _error_of(exc: urllib.error.HTTPError) -> str:
    try:
        return str(orjson.loads(exc.read()).get("error", exc.reason))
    except (orjson.JSONDecodeError, AttributeError, OSError):
        return str(exc.reason)


def run_sql(
    settings: Settings, sql: str, parameters: dict[str, Any] | None = None
) -> tuple[list[str], list[list[Any]]]:
    """Ask the running worker (it owns the embedded database), else open ClickHouse directly.

    Either way the SQL goes through :func:`streams.queries.run_query` (one SELECT, no table
    functions, read-only, limits); values belong in ``parameters``.
    """
    body: dict[str, Any] = {"sql": sql, "parameters": parameters or {}}
    answer = worker_request(settings, "/api/query", body) if settings.clickhouse.embedded else None
    if answer is not None:
        return list(answer["columns"]), [list(r) for r in answer["rows"]]
    from clickhouse_connect.driver.exceptions import ClickHouseError

    from sinks import Database, migrate
    from sinks.clickhouse import connect
    from streams.queries import run_query

    try:
        if settings.clickhouse.embedded:
            db = Database(settings.clickhouse)
            migrate(db)
        else:
            db = Database(settings.clickhouse, connect(settings.clickhouse, for_queries=True), create=False)
    except ClickHouseError as exc:
        where = settings.clickhouse.url.split("@")[-1]  # never echo credentials in a URL
        raise CliError(f"cannot open ClickHouse at {where}: {' '.join(str(exc).split())[:300]}") from None
    try:
        columns, rows = run_query(db, sql, parameters)
    finally:
        db.close()
    return columns, [list(r) for r in rows]


def _query(settings: Settings, args: argparse.Namespace) -> int:
    columns, rows = run_sql(settings, args.sql)
    if args.format == "json":
        sys.stdout.write(orjson.dumps([dict(zip(columns, r, strict=True)) for r in rows], default=str).decode() + "\n")
        return 0
    table = Table(*columns)
    for row in rows:
        table.add_row(*(str(v) for v in row))
    out.print(table)
    return 0


def _consumed(settings: Settings | Sequence[Settings]) -> int:
    """Events consumed by the worker(s) (one that does not answer counts 0)."""
    if not isinstance(settings, Settings):
        return sum(_consumed(s) for s in settings)
    try:
        with urllib.request.urlopen(f"{settings.web.base_url}/health", timeout=5) as resp:  # noqa: S310
            return int(orjson.loads(resp.read())["counts"]["consumed"])
    except (urllib.error.URLError, OSError, KeyError, ValueError):
        return 0


def _follow_worker(settings: Settings | Sequence[Settings], target: int, timeout: float = 1800.0) -> None:
    """A progress bar of the worker's consumed count until it reaches ``target``."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    deadline = time.monotonic() + timeout
    with Progress(TextColumn("[bold]worker processing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:  # fmt: skip
        task = progress.add_task("worker", total=target)
        while (done := _consumed(settings)) < target and time.monotonic() < deadline:
            progress.update(task, completed=done)
            time.sleep(1.0)
        progress.update(task, completed=done)


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    if not broker.ready(settings.kafka.bootstrap_servers):
        console.print("starting the local Kafka broker …")
        broker.start(settings)
    members = processes.group_members(settings, args.workers)
    pids = []
    for n, (member, env) in enumerate(members, start=1):
        console.print(f"starting worker {n} of {len(members)} on {member.web.base_url} …")
        pids.append(processes.start_worker(member, env=env))
    group = [member for member, _ in members]
    sim = argparse.Namespace(
        enterprises=args.enterprises, months=args.months, seed=args.seed, anomaly_rate=0.05,
        truth=str(settings.worker.data_dir / "ground_truth.jsonl"), out=None, rate=args.rate, return_count=True,
    )  # fmt: skip
    before = _consumed(group)
    produced = _simulate(settings, sim)
    _follow_worker(group, before + produced)
    out.print(
        f"\n[bold]entbrain is running[/bold] (worker pids {', '.join(map(str, pids))}, "
        f"broker {settings.kafka.bootstrap_servers})\n"
        f"  dashboard & API : {settings.web.base_url}/  ·  /health  ·  /metrics  ·  /api/alerts\n"
        f"  query           : .venv/bin/entbrain query \"SELECT tier, enterprises FROM v_tier_pyramid\"\n"
        f"  worker log      : {processes.log_file(settings)}\n"
        f"  stop everything : make stop   (or .venv/bin/entbrain stop)"
    )
    return 0


def _rows(settings: Settings, sql: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    columns, rows = run_sql(settings, sql, parameters)
    return [dict(zip(columns, r, strict=True)) for r in rows]


def _enterprise(settings: Settings, args: argparse.Namespace) -> int:
    from schemas import check_uscc
    from streams.profile import build_profile, render_profile

    try:
        uscc = check_uscc(args.uscc)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    key = {"uscc": uscc}
    snapshot = _rows(settings, "SELECT * FROM enterprise_snapshot FINAL WHERE uscc = {uscc:String}", key)
    if not snapshot:
        raise CliError(f"no enterprise {uscc} in ClickHouse")
    score = _rows(settings, "SELECT * FROM scores FINAL WHERE uscc = {uscc:String} ORDER BY state_version DESC LIMIT 1", key)
    alerts = _rows(settings, "SELECT alert_id, alert_type, severity, state, title_zh, title_en, explanation_en, "
                   "occurred_at FROM alerts FINAL WHERE uscc = {uscc:String} AND state != 'resolved' ORDER BY occurred_at",
                   key)  # fmt: skip
    state = None
    if settings.clickhouse.embedded:
        try:
            state = worker_request(settings, f"/api/enterprises/{uscc}", timeout=5)
        except CliError:
            state = None
    findings = _rows(settings, "SELECT check, severity, subject, explanation_zh, explanation_en, occurred_at "
                     "FROM data_quality_findings FINAL WHERE uscc = {uscc:String} ORDER BY occurred_at", key)  # fmt: skip
    identities = _rows(settings, "SELECT identifier, origin, source FROM identities FINAL WHERE uscc = {uscc:String} "
                       "ORDER BY identifier", key)  # fmt: skip
    profile = build_profile(snapshot[0], score[0] if score else None, alerts, state, findings, identities)
    if args.json:
        sys.stdout.write(orjson.dumps(profile, default=str).decode() + "\n")
    else:
        render_profile(profile, out)
    return 0


def _alerts_tail(settings: Settings, args: argparse.Namespace) -> int:
    from streams.alert_stream import AlertFilter
    from streams.tail import tail_alerts

    query = {"severity": args.severity or "", "district": args.district or "", "type": args.type or "",
             "uscc": args.uscc or ""}  # fmt: skip
    districts: dict[str, str] = {}

    def district_of(uscc: str) -> str:
        if uscc not in districts:
            _, rows = run_sql(settings, "SELECT district_code FROM enterprise_snapshot FINAL WHERE uscc = {u:String}",
                              {"u": uscc})  # fmt: skip
            if not rows:
                return ""
            districts[uscc] = str(rows[0][0])
        return districts[uscc]

    for alert in tail_alerts(settings, from_beginning=args.from_beginning, limit=args.max, idle_seconds=args.idle,
                             wanted=AlertFilter.from_query(query), district_of=district_of):  # fmt: skip
        if args.json:
            sys.stdout.write(orjson.dumps(alert).decode() + "\n")
            sys.stdout.flush()
        else:
            out.print(f"{alert['emitted_at'][:19]}  {alert['severity']:<8} {alert['state']:<8} {alert['alert_type']:<24} "
                      f"{alert['uscc']}  {alert['title_zh']}")  # fmt: skip
    return 0


def _stop(settings: Settings, args: argparse.Namespace) -> int:
    stopped = sum(processes.stop_worker(member) for member in reversed(processes.local_members(settings)))
    kafka = broker.stop(settings)
    out.print(f"{stopped or 'no'} worker(s) stopped; broker {'stopped' if kafka else 'was not running'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="entbrain", description="Real-time enterprise data brain")
    sub = parser.add_subparsers(dest="command", required=True)

    kafka = sub.add_parser("kafka", help="the local single-node Kafka broker")
    kafka.add_argument("action", choices=["start", "stop", "status"])
    kafka.set_defaults(handler=_kafka)

    worker = sub.add_parser("worker", help="run the stream-processing worker (foreground)")
    worker.add_argument("--loglevel", default="WARNING")
    worker.set_defaults(handler=_worker)

    sim = sub.add_parser("simulate", help="generate a park's enterprises and produce their events")
    sim.add_argument("--enterprises", type=int, default=5000)
    sim.add_argument("--months", type=int, default=12)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--rate", type=float, default=None, help="events per second (default: as fast as possible)")
    sim.add_argument("--anomaly-rate", type=float, default=0.05)
    sim.add_argument("--out", help="write JSON Lines to this file instead of producing to Kafka")
    sim.add_argument("--truth", help="write the injected anomalies (ground truth) to this file")
    sim.add_argument("--legacy-tax", type=float, default=0.0, help="share of tax events named by a legacy identifier")
    sim.add_argument("--legacy-social-security", type=float, default=0.0,
                     help="share of social-security events named by a legacy identifier")  # fmt: skip
    sim.add_argument("--contradictions", type=float, default=0.0,
                     help="share of enterprises whose filings contradict the register")  # fmt: skip
    sim.set_defaults(handler=_simulate)

    ingest = sub.add_parser("ingest", help="validate a CSV / JSON Lines file of events and produce it")
    ingest.add_argument("file")
    ingest.add_argument("--kind", help="registration, tax or social_security (default: each row's own kind)")
    ingest.add_argument("--format", choices=["csv", "jsonl"], help="default: from the file's extension")
    ingest.add_argument("--rejects", help="where rejected rows go (default: FILE.rejects.jsonl)")
    ingest.add_argument("--allow-rejects", action="store_true", help="exit 0 even if rows were rejected")
    ingest.set_defaults(handler=_ingest)

    schemas_cmd = sub.add_parser("schemas", help="JSON Schema of every event kind and output")
    schemas_sub = schemas_cmd.add_subparsers(dest="action", required=True)
    export_cmd = schemas_sub.add_parser("export", help="write <name>.schema.json files into DIR")
    export_cmd.add_argument("dir")
    export_cmd.set_defaults(handler=_schemas)

    query = sub.add_parser("query", help="run a read-only SQL query on ClickHouse")
    query.add_argument("sql")
    query.add_argument("--format", choices=["table", "json"], default="table")
    query.set_defaults(handler=_query)

    demo = sub.add_parser("demo", help="broker + worker + simulated park, left running")
    demo.add_argument("--enterprises", type=int, default=300)
    demo.add_argument("--months", type=int, default=12)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--rate", type=float, default=2000.0, help="events/s, as they would arrive in operation")
    demo.add_argument("--workers", type=int, default=1, help="workers in one group (the next web ports)")
    demo.set_defaults(handler=_demo)
    sub.add_parser("up", help="same as demo", parents=[], add_help=True).set_defaults(
        handler=_demo, enterprises=300, months=12, seed=7, rate=2000.0, workers=1
    )

    enterprise = sub.add_parser("enterprise", help="the profile of one enterprise (企业画像)")
    enterprise.add_argument("uscc")
    enterprise.add_argument("--json", action="store_true")
    enterprise.set_defaults(handler=_enterprise)

    alerts = sub.add_parser("alerts", help="alerts as they are emitted")
    alerts_sub = alerts.add_subparsers(dest="action", required=True)
    tail = alerts_sub.add_parser("tail", help="follow enterprise.alerts (Ctrl-C to stop)")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("--json", action="store_true")
    tail.add_argument("--max", type=int, default=None, help="stop after this many alerts")
    tail.add_argument("--idle", type=float, default=None, help="stop after this many seconds without an alert")
    tail.add_argument("--severity", choices=["info", "warning", "critical"], help="at least this severity")
    tail.add_argument("--district", help="GB/T 2260 code prefix(es) of the enterprise's district, comma-separated")
    tail.add_argument("--type", help="alert type(s), comma-separated")
    tail.add_argument("--uscc", help="USCC(s), comma-separated")
    tail.set_defaults(handler=_alerts_tail)

    from streams.ops_cli import add_parsers as add_operator_parsers

    add_operator_parsers(sub)  # replay, rebuild

    from streams.report.cli import add_parser as add_report_parser

    add_report_parser(sub)

    stop = sub.add_parser("stop", help="stop the worker and the local broker started by demo")
    stop.set_defaults(handler=_stop)

    from streams.delivery_cli import add_parsers

    add_parsers(sub)

    from streams.identities_cli import add_parsers as add_identity_parsers

    add_identity_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[Settings, argparse.Namespace], int] = args.handler
    try:
        return handler(Settings(), args)
    except (CliError, StreamsError, RuntimeError, FileNotFoundError, ValueError, KafkaException) as exc:
        message = " ".join(str(exc).split())  # one line, whatever the cause printed
        console.print(f"entbrain {args.command}: {message}", style="red", soft_wrap=True, markup=False, highlight=False)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
