"""Replay and backtest through the API (operator role), beside the CLI commands of the same names.

``POST /api/replay`` — body ``{"since": ISO time | null, "offsets": "topic:partition:offset,…" |
null, "dry_run": true}``. The plan is the CLI's (:func:`streams.replay.plan`). A dry run
answers the plan and changes nothing. Otherwise the *running* worker rewinds the input
partitions it owns to the plan's targets (it cannot move its own live group the way the
stopped-worker CLI does): between two batches, each one is sought on the Kafka client's
thread and the offset-continuity check is told where it now starts, so the records read
again go through the pipeline as redeliveries (no state, row or alert changes for what was
already applied). Partitions owned by other workers are listed as ``not_owned``.

``POST /api/backtests`` — body ``{"name", "from", "to", "rules"?, "scoring"?}`` (``rules`` and
``scoring``: the YAML documents as JSON objects; missing ones are the live configuration).
The backtest runs as its own process (``entbrain backtest run``: its own ClickHouse and
topics, nobody notified), one at a time. ``GET /api/backtests/{name}`` is its status and
manifest, ``GET /api/backtests/{name}/diff`` the diff against the live run
(``entbrain backtest diff NAME --json``). Every call writes an ``audit_log`` row.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faust
import orjson
import yaml
from faust.web import Request, Response, View

from config import Role
from streams import audit, backtest
from streams.access import AccessGate, BadRequest, json_response, read_json_object, role_of
from streams.errors import CliError
from streams.ops_cli import parse_since, plan_json
from streams.replay import ReplayPlan, parse_offsets, plan

if TYPE_CHECKING:
    from streams.app import Runtime

Rewind = Callable[[dict[tuple[str, int], int]], Awaitable[list[tuple[str, int]]]]
MAX_DIFF_SECONDS = 600.0


@dataclass
class BacktestJob:
    name: str
    process: asyncio.subprocess.Process
    log: Path

    def status(self) -> dict[str, Any]:
        code = self.process.returncode
        state = "running" if code is None else "done" if code == 0 else "failed"
        out: dict[str, Any] = {"name": self.name, "status": state, "exit_code": code}
        if state == "failed":
            lines = [line for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
            out["error"] = lines[-1][:500] if lines else "the backtest process failed"
        return out


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    return value or None


def replay_request(body: dict[str, Any], inputs: tuple[str, ...]) -> tuple[Any, dict[tuple[str, int], int] | None, bool]:
    """``(since, offsets, dry_run)`` from a ``/api/replay`` body, or :class:`BadRequest`."""
    since_text, offsets_text = _text(body, "since"), _text(body, "offsets")
    dry_run = body.get("dry_run", True)
    if not isinstance(dry_run, bool):
        raise BadRequest("dry_run must be true or false")
    if since_text and offsets_text:
        raise BadRequest("give since or offsets, not both")
    try:
        since = parse_since(since_text)
        offsets = parse_offsets(offsets_text, inputs) if offsets_text else None
    except CliError as exc:
        raise BadRequest(str(exc).replace("--", "")) from None
    return since, offsets, dry_run


def backtest_request(body: dict[str, Any]) -> tuple[str, date, date, dict[str, Any]]:
    """``(name, from, to, documents)`` from a ``/api/backtests`` body, or :class:`BadRequest`."""
    try:
        name = backtest.check_name(str(body.get("name", "")))
    except CliError as exc:
        raise BadRequest(str(exc)) from None
    bounds = []
    for key in ("from", "to"):
        text = body.get(key)
        try:
            bounds.append(date.fromisoformat(text) if isinstance(text, str) else None)
        except ValueError:
            bounds.append(None)
        if bounds[-1] is None:
            raise BadRequest(f"{key} must be an ISO date (YYYY-MM-DD)")
    start, end = bounds
    assert start is not None and end is not None
    if start > end:
        raise BadRequest("from is after to")
    documents = {}
    for key in ("rules", "scoring"):
        if body.get(key) is not None:
            if not isinstance(body[key], dict):
                raise BadRequest(f"{key} must be a JSON object (the {key}.yaml document)")
            documents[key] = body[key]
    return name, start, end, documents


def register_operator_jobs(
    app: faust.App, runtime: Runtime, rewind: Rewind, commit_processed: Callable[[], Awaitable[None]]
) -> None:
    """Add ``/api/replay`` and ``/api/backtests…`` to ``app``; ``rewind`` moves owned input
    partitions, ``commit_processed`` commits the offsets of every batch processed so far (the
    plan's records read again are those below the committed offsets)."""
    settings = runtime.settings
    gate = AccessGate(settings.auth, settings.web)
    jobs: dict[str, BacktestJob] = {}

    async def _audit(request: Request, operation: str, outcome: str, arguments: dict[str, Any], target: str,
                     detail: str, actor: str | None) -> None:  # fmt: skip
        entry = audit.AuditEntry(operation, outcome, arguments, target, settings.worker.app_id, detail[: audit.MAX_TEXT],
                                 actor=(actor or "api")[:200])  # fmt: skip
        role = role_of(request)
        row = audit.row_from_body(entry.body(), role.value if role else "local")
        await runtime.in_db_thread(audit.insert, runtime.db, row)

    @app.page("/api/replay")
    class Replay(View):
        @gate.allow(Role.OPERATOR)
        async def post(self, request: Request) -> Response:
            body = await read_json_object(request, settings.web.max_request_bytes)
            since, offsets, dry_run = replay_request(body, settings.kafka.topics.inputs())
            actor = _text(body, "actor")
            arguments = {k: body.get(k) for k in ("since", "offsets", "dry_run")}
            await commit_processed()
            try:
                replay: ReplayPlan = await asyncio.to_thread(plan, settings, since, offsets)
            except CliError as exc:
                raise BadRequest(str(exc).replace("--", "")) from None
            target = orjson.dumps(plan_json(replay)).decode()
            answer: dict[str, Any] = {"dry_run": dry_run, "messages": replay.messages,
                                      "redelivered": replay.redelivered, "partitions": plan_json(replay)}  # fmt: skip
            if dry_run:
                await _audit(request, "replay", "dry_run", arguments, target,
                             f"{replay.messages} records would be read again", actor)  # fmt: skip
                return json_response(self, answer)
            moved = await rewind({(p.topic, p.partition): p.target for p in replay.partitions})
            answer["moved"] = [f"{t}:{p}" for t, p in moved]
            answer["not_owned"] = [f"{p.topic}:{p.partition}" for p in replay.partitions
                                   if (p.topic, p.partition) not in set(moved)]  # fmt: skip
            await _audit(request, "replay", "done", arguments, target,
                         f"rewound {len(moved)} partitions in the running worker; "
                         f"not owned here: {', '.join(answer['not_owned']) or 'none'}", actor)  # fmt: skip
            return json_response(self, answer, 202)

    @app.page("/api/backtests")
    class Backtests(View):
        @gate.allow(Role.OPERATOR)
        async def get(self, request: Request) -> Response:
            return json_response(self, {"backtests": [job.status() for job in jobs.values()]})

        @gate.allow(Role.OPERATOR)
        async def post(self, request: Request) -> Response:
            body = await read_json_object(request, settings.web.max_request_bytes)
            name, start, end, documents = backtest_request(body)
            running = [job.name for job in jobs.values() if job.process.returncode is None]
            if running:
                return json_response(self, {"error": f"backtest {running[0]!r} is still running; one at a time"}, 409)
            home = backtest.home(settings, name)
            config_dir = home / "request-config"
            config_dir.mkdir(parents=True, exist_ok=True)
            for stale in config_dir.glob("*.yaml"):
                stale.unlink()
            for key, document in documents.items():
                (config_dir / f"{key}.yaml").write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
            try:
                backtest.load_config(config_dir)
            except CliError as exc:
                raise BadRequest(str(exc).replace(f"--config {config_dir}: ", "")) from None
            log = home / "api-run.log"
            with log.open("wb") as out:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "streams", "backtest", "run", "--from", start.isoformat(),
                    "--to", end.isoformat(), "--config", str(config_dir), "--name", name,
                    stdout=out, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL, env=dict(os.environ),
                )  # fmt: skip
            jobs[name] = BacktestJob(name, process, log)
            return json_response(self, {**jobs[name].status(), "status_url": f"/api/backtests/{name}"}, 202)

    def _job(name: str) -> BacktestJob | None:
        job = jobs.get(name)
        if job is None:
            try:
                backtest.check_name(name)
            except CliError as exc:
                raise BadRequest(str(exc)) from None
        return job

    @app.page("/api/backtests/{name}")
    class Backtest(View):
        @gate.allow(Role.OPERATOR)
        async def get(self, request: Request, name: str) -> Response:
            job = _job(name)
            try:
                manifest = backtest.load_manifest(settings, name)
            except CliError:
                manifest = None
            if job is None and manifest is None:
                return json_response(self, {"error": f"no backtest {name!r}"}, 404)
            status = job.status() if job is not None else {"name": name, "status": "done", "exit_code": 0}
            return json_response(self, {**status, "manifest": manifest if status["status"] == "done" else None})

    @app.page("/api/backtests/{name}/diff")
    class BacktestDiff(View):
        @gate.allow(Role.OPERATOR)
        async def get(self, request: Request, name: str) -> Response:
            job = _job(name)
            if job is not None and job.process.returncode is None:
                return json_response(self, {"error": f"backtest {name!r} is still running"}, 409)
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "streams", "backtest", "diff", name, "--json",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
                env=dict(os.environ),
            )  # fmt: skip
            try:
                out, err = await asyncio.wait_for(process.communicate(), MAX_DIFF_SECONDS)
            except TimeoutError:
                process.kill()
                return json_response(self, {"error": f"the diff of {name!r} took over {MAX_DIFF_SECONDS:.0f}s"}, 504)
            if process.returncode != 0:
                lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
                message = lines[-1] if lines else f"the diff of {name!r} failed"
                status = 404 if "no backtest" in message or "not found" in message else 409
                return json_response(self, {"error": message[:500]}, status)
            return json_response(self, orjson.loads(out))
