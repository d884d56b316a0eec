"""Operator commands of the CLI: ``replay``, ``rebuild``, ``backtest`` (and their audit rows).

Both refuse while the worker's consumer group has live members, naming them; every run —
done, dry run or refused — leaves one row in ``audit_log`` (:mod:`streams.audit`).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from config import Settings
from streams.audit import MAX_TEXT as MAX_DETAIL
from streams.audit import AuditEntry, record
from streams.errors import CliError
from streams.replay import ReplayPlan, parse_offsets, plan, refuse_while_running, reset_group

console = Console(stderr=True)
out = Console()

REDELIVERY_NOTE = (
    "Replayed records are redeliveries for the enterprise states: each is at or below the offset its "
    "state last applied from that partition, so it changes no state, no ClickHouse row and no alert. "
    "To derive everything again, use `entbrain rebuild`."
)
REBUILD_NOTE = (
    "The next worker start reprocesses the input from scratch. ClickHouse results end identical to a clean "
    "run (tables keyed by identity, outputs deterministic). Alerts are emitted again with the same alert_id, "
    "version and bytes: consumers that keep the first of each (alert_id, version) drop them, so nobody is "
    "notified again."
)


def parse_since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        since = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--since {text!r} is not an ISO date or time") from None
    return since if since.tzinfo is not None else since.replace(tzinfo=ZoneInfo("Asia/Shanghai"))


def plan_table(replay: ReplayPlan, title: str) -> Table:
    table = Table("topic", "partition", "committed", "target", "end", "to read", "redelivered", title=title)
    for p in replay.partitions:
        table.add_row(p.topic, str(p.partition), "-" if p.committed is None else str(p.committed), str(p.target),
                      str(p.high), str(p.to_read), str(p.redelivered))  # fmt: skip
    table.add_row("total", "", "", "", "", str(replay.messages), str(replay.redelivered), style="bold")
    return table


def plan_json(replay: ReplayPlan) -> list[dict[str, Any]]:
    return [{"topic": p.topic, "partition": p.partition, "committed": p.committed, "target": p.target,
             "end": p.high, "to_read": p.to_read, "redelivered": p.redelivered} for p in replay.partitions]  # fmt: skip


def _audit(settings: Settings, operation: str, outcome: str, args: dict[str, Any], target: str, detail: str) -> None:
    try:
        record(settings, AuditEntry(operation, outcome, args, target, settings.worker.app_id, detail))
    except CliError as exc:
        raise CliError(f"{operation} {outcome}, but the audit row was not written: {exc}") from None


def _refusal_audited(settings: Settings, operation: str, args: dict[str, Any], target: str, doing: str) -> None:
    try:
        refuse_while_running(settings, doing)
    except CliError as exc:
        _audit(settings, operation, "refused", args, target, str(exc))
        raise


def _replay(settings: Settings, args: argparse.Namespace) -> int:
    if args.since and args.offsets:
        raise CliError("give --since or --offsets, not both")
    since = parse_since(args.since)
    offsets = parse_offsets(args.offsets, settings.kafka.topics.inputs()) if args.offsets else None
    replay = plan(settings, since, offsets)
    where = f"since {since.isoformat()}" if since else ("to the given offsets" if offsets else "from the beginning")
    arguments = {"since": args.since, "offsets": args.offsets, "dry_run": args.dry_run}
    target = orjson_plan(replay)
    out.print(plan_table(replay, f"replay {where} — group {settings.worker.app_id!r}"))
    out.print(REDELIVERY_NOTE, soft_wrap=True)
    if args.dry_run:
        _audit(settings, "replay", "dry_run", arguments, target, f"{replay.messages} records would be read again")
        out.print(f"dry run: nothing changed; {replay.messages} records would be read again when the worker starts")
        return 0
    _refusal_audited(settings, "replay", arguments, target, "move the consumer group")
    reset_group(settings, replay)
    _audit(settings, "replay", "done", arguments, target, f"{replay.messages} records to read again")
    out.print(f"worker group {settings.worker.app_id!r} reset {where}: {replay.messages} messages will be read "
              "again when the worker starts")  # fmt: skip
    return 0


def orjson_plan(replay: ReplayPlan) -> str:
    import orjson

    return orjson.dumps(plan_json(replay)).decode()


def _confirm(settings: Settings, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise CliError("rebuild discards the worker's state; pass --yes to confirm")
    answer = console.input(f"discard the state of {settings.worker.app_id!r} and reprocess? type the app id: ")
    if answer.strip() != settings.worker.app_id:
        raise CliError("not confirmed; nothing changed")


def _rebuild(settings: Settings, args: argparse.Namespace) -> int:
    from streams.rebuild import changelog_topic, checkpoint_path, rebuild

    since = parse_since(args.since)
    arguments = {"since": args.since}
    target = f"since {since.isoformat()}" if since else "from the beginning"
    _refusal_audited(settings, "rebuild", arguments, target, "rebuild")
    _confirm(settings, args.yes)
    with _progress() as step:
        report = rebuild(settings, since, step)
    out.print(plan_table(report.plan, f"rebuild {target} — group {settings.worker.app_id!r}"))
    gone = report.deleted_topics + report.deleted_files
    out.print("discarded: " + (", ".join(gone) or f"nothing ({changelog_topic(settings)} and "
                                                   f"{checkpoint_path(settings)} did not exist)"))
    if since is not None:
        out.print("note: with --since the states are built only from the input since then")
    out.print(REBUILD_NOTE, soft_wrap=True)
    _audit(settings, "rebuild", "done", arguments, orjson_plan(report.plan), "discarded: " + ", ".join(gone))
    return 0


class _progress:
    """A spinner naming the current step of a long operation."""

    def __enter__(self) -> Callable[[str], None]:
        self._bar = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn(),
                             console=console, transient=True)  # fmt: skip
        self._bar.__enter__()
        task = self._bar.add_task("starting", total=None)
        return lambda text: self._bar.update(task, description=text)

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)


def _date(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"{flag} {text!r} is not an ISO date (YYYY-MM-DD)") from None


def _backtest_run(settings: Settings, args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn

    from streams import backtest

    config_dir = Path(args.config)
    name = backtest.check_name(args.name or re.sub(r"[^a-z0-9_]", "_", config_dir.resolve().name.lower())[:40])
    start, end = _date(args.from_date, "--from"), _date(args.to_date, "--to")
    arguments = {"name": name, "from": args.from_date, "to": args.to_date, "config": str(config_dir)}
    with Progress(TextColumn("[bold]backtest reading input"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:  # fmt: skip
        task = bar.add_task("read", total=None)
        result = backtest.run(settings, name, start, end, config_dir,
                              lambda done, total: bar.update(task, completed=done, total=total))  # fmt: skip
    table = Table("backtest", "value", title=f"backtest {name}")
    for key, value in result.manifest().items():
        table.add_row(key, str(value))
    out.print(table)
    out.print(f"outputs went to backtest.{name}.* only; nobody was notified. Compare: entbrain backtest diff {name}")
    record(settings, AuditEntry("backtest_run", "done", arguments, f"{start}..{end}", f"backtest-{name}",
                                f"rules {result.rules_version}, scoring {result.scoring_version}, counts {result.counts}",
                                rules_version=result.rules_version, scoring_version=result.scoring_version))  # fmt: skip
    return 0


def _backtest_diff(settings: Settings, args: argparse.Namespace) -> int:
    import orjson

    from sinks import Database
    from streams import backtest
    from streams.cli import run_sql
    from streams.queries import run_query

    manifest = backtest.load_manifest(settings, args.name)
    own = backtest.backtest_settings(settings, args.name)

    def live(sql: str, parameters: dict[str, Any]) -> list[list[Any]]:
        return run_sql(settings, sql, parameters)[1]

    live_rows = backtest.collect(live, manifest["start"], manifest["end"])  # before opening the backtest's database
    db = Database(own.clickhouse)
    try:
        def tested(sql: str, parameters: dict[str, Any]) -> list[list[Any]]:
            return [list(r) for r in run_query(db, sql, parameters)[1]]

        test_rows = backtest.collect(tested, manifest["start"], manifest["end"])
    finally:
        db.close()
    result = backtest.diff(live_rows, test_rows)
    record(settings, AuditEntry("backtest_diff", "done", {"name": args.name}, f"{manifest['start']}..{manifest['end']}",
                                f"backtest-{args.name}", orjson.dumps(result).decode()[:MAX_DETAIL]))  # fmt: skip
    if args.json:
        sys.stdout.write(orjson.dumps({"backtest": manifest, **result}).decode() + "\n")
        return 0
    title = f"backtest {args.name} vs live, {manifest['start']}..{manifest['end']}"
    for key, heading in (("added", "alerts only in the backtest"), ("removed", "alerts only in the live run")):
        table = Table("alert type", "district", "enterprises", title=f"{title}: {heading}")
        for row in result[key]:
            table.add_row(row["alert_type"], row["district_code"], str(row["count"]))
        out.print(table)
    moves = Table("live tier", "backtest tier", "enterprises", title=f"{title}: tier moves")
    for row in result["tier_moves"]:
        moves.add_row(row["from_tier"], row["to_tier"], str(row["count"]))
    out.print(moves)
    out.print(f"unchanged enterprise/alert-type pairs: {result['unchanged']}; "
              f"enterprises compared: {result['enterprises_compared']}")  # fmt: skip
    return 0


def add_parsers(sub: Any) -> None:
    replay = sub.add_parser("replay", help="re-read input history (the worker must be stopped)")
    when = replay.add_mutually_exclusive_group()
    when.add_argument("--since", help="ISO date/time (Asia/Shanghai if no zone); default: the beginning")
    when.add_argument("--offsets", help="topic:partition:offset,… (only the partitions named move)")
    replay.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    replay.set_defaults(handler=_replay)

    rebuild = sub.add_parser("rebuild", help="discard derived state and reprocess (the worker must be stopped)")
    rebuild.add_argument("--since", help="ISO date/time to reprocess from (default: the beginning)")
    rebuild.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rebuild.set_defaults(handler=_rebuild)

    backtest = sub.add_parser("backtest", help="an alternative configuration over a period, beside the live run")
    actions = backtest.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="process a period with the rules/scoring YAML of --config")
    run.add_argument("--from", dest="from_date", required=True, help="first day (event time), YYYY-MM-DD")
    run.add_argument("--to", dest="to_date", required=True, help="last day (event time), YYYY-MM-DD")
    run.add_argument("--config", required=True, help="directory with rules.yaml and/or scoring.yaml")
    run.add_argument("--name", help="default: the config directory's name")
    run.set_defaults(handler=_backtest_run)
    compare = actions.add_parser("diff", help="alerts added/removed and tier moves against the live run")
    compare.add_argument("name")
    compare.add_argument("--json", action="store_true")
    compare.set_defaults(handler=_backtest_diff)
