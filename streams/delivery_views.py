"""Alert delivery on the worker: the notifier task and the operator endpoints.

* ``GET|POST /api/subscriptions``, ``GET|PUT|DELETE /api/subscriptions/{id}`` — written to the
  compacted topic ``enterprise.subscriptions`` (the system of record); secrets never echoed.
* ``GET|POST /api/silences``, ``POST /api/silences/{id}/expire``.
* ``POST /api/alerts/{alert_id}/ack|assign|verdict`` — recorded in ClickHouse ``alert_actions``.

Reads need the viewer role, changes the operator role (:class:`streams.access.AccessGate`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import faust
import orjson
from faust.web import Request, Response, View
from pydantic import ValidationError

from config import Role
from schemas.delivery import Silence, Subscription, Verdict, VerdictRecord
from streams.access import AccessGate, BadRequest, json_response, read_json_object
from streams.notifier import Notifier
from streams.verdict_feed import ALERT_SQL, verdict_records

if TYPE_CHECKING:
    from streams.app import Runtime

log = logging.getLogger(__name__)
ACTION_COLUMNS = ("alert_id", "action", "actor", "assignee", "verdict", "comment", "acted_at")


def _validated(model: Any, body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise BadRequest("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None


def _text(body: dict[str, Any], name: str, required: bool = True) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > 2000:
        raise BadRequest(f"{name} must be a non-empty string (at most 2000 characters)")
    return value.strip()


def register_delivery(app: faust.App, runtime: Runtime) -> Notifier:
    """The notifier (a task of the worker) and the delivery endpoints."""
    settings = runtime.settings
    topics = settings.kafka.topics
    gate = AccessGate(settings.auth, settings.web)
    notifier = Notifier(settings, runtime.db, runtime.in_db_thread)
    max_body = settings.web.max_request_bytes

    if settings.notifier.enabled:

        @app.task
        async def _notify() -> None:
            try:
                await notifier.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the notifier stopped")

        @app.on_before_shutdown.connect  # type: ignore[arg-type]
        async def _stop_notifier(app: faust.App, **kwargs: Any) -> None:
            notifier.stop()

    async def ready() -> None:
        if not notifier.ready.is_set():
            raise BadRequest("the notifier is starting or disabled (ENTBRAIN_NOTIFIER__ENABLED); try again")

    async def save_subscription(sub: Subscription) -> None:
        await notifier.write(topics.subscriptions, sub.id, orjson.dumps(sub.to_record()))

    @app.page("/api/subscriptions")
    class Subscriptions(View):
        @gate.allow(Role.VIEWER)
        async def get(self, request: Request) -> Response:
            return json_response(self, [s.model_dump(mode="json") for s in notifier.subscriptions.values()])

        @gate.allow(Role.OPERATOR)
        async def post(self, request: Request) -> Response:
            await ready()
            sub = _validated(Subscription, await read_json_object(request, max_body))
            if sub.id in notifier.subscriptions:
                return json_response(self, {"error": f"subscription {sub.id} exists; PUT to change it"}, 409)
            await save_subscription(sub)
            return json_response(self, sub.model_dump(mode="json"), 201)

    @app.page("/api/subscriptions/{subscription_id}")
    class OneSubscription(View):
        @gate.allow(Role.VIEWER)
        async def get(self, request: Request, subscription_id: str) -> Response:  # type: ignore[override]
            sub = notifier.subscriptions.get(subscription_id)
            if sub is None:
                return json_response(self, {"error": "no such subscription"}, 404)
            return json_response(self, sub.model_dump(mode="json"))

        @gate.allow(Role.OPERATOR)
        async def put(self, request: Request, subscription_id: str) -> Response:  # type: ignore[override]
            await ready()
            body = await read_json_object(request, max_body)
            sub = _validated(Subscription, {**body, "id": subscription_id})
            await save_subscription(sub)
            return json_response(self, sub.model_dump(mode="json"))

        @gate.allow(Role.OPERATOR)
        async def delete(self, request: Request, subscription_id: str) -> Response:  # type: ignore[override]
            await ready()
            if subscription_id not in notifier.subscriptions:
                return json_response(self, {"error": "no such subscription"}, 404)
            await notifier.write(topics.subscriptions, subscription_id, None)
            return json_response(self, {"deleted": subscription_id})

    @app.page("/api/silences")
    class Silences(View):
        @gate.allow(Role.VIEWER)
        async def get(self, request: Request) -> Response:
            return json_response(self, [s.model_dump(mode="json") for s in notifier.silences.values()])

        @gate.allow(Role.OPERATOR)
        async def post(self, request: Request) -> Response:
            await ready()
            body = await read_json_object(request, max_body)
            now = datetime.now(UTC)
            body = {"id": uuid.uuid4().hex[:12], "starts_at": now.isoformat(), **body, "created_at": now.isoformat()}
            silence = _validated(Silence, body)
            await notifier.write(topics.silences, silence.id, silence.model_dump_json().encode())
            return json_response(self, silence.model_dump(mode="json"), 201)

    @app.page("/api/silences/{silence_id}/expire")
    class ExpireSilence(View):
        @gate.allow(Role.OPERATOR)
        async def post(self, request: Request, silence_id: str) -> Response:  # type: ignore[override]
            await ready()
            silence = notifier.silences.get(silence_id)
            if silence is None:
                return json_response(self, {"error": "no such silence"}, 404)
            now = datetime.now(UTC)
            expired = silence.model_copy(update={"ends_at": max(now, silence.starts_at)})
            await notifier.write(topics.silences, silence.id, expired.model_dump_json().encode())
            return json_response(self, expired.model_dump(mode="json"))

    @app.page("/api/alerts/{alert_id}/{action}")
    class AlertAction(View):
        @gate.allow(Role.OPERATOR)
        async def post(self, request: Request, alert_id: str, action: str) -> Response:  # type: ignore[override]
            if action not in ("ack", "assign", "verdict") or not 0 < len(alert_id) <= 200:
                return json_response(self, {"error": "POST /api/alerts/{id}/ack|assign|verdict"}, 404)
            body = await read_json_object(request, max_body)
            actor = _text(body, "by")
            assignee = _text(body, "assignee") if action == "assign" else ""
            verdict = ""
            if action == "verdict":
                verdict = _text(body, "verdict")
                if verdict not in {v.value for v in Verdict}:
                    raise BadRequest("verdict must be confirmed or false_alarm")
            comment = _text(body, "comment", required=False)
            row = (alert_id, action, actor, assignee, verdict, comment, datetime.now(UTC))
            teaches: list[VerdictRecord] = []
            if verdict:  # a verdict on an alert the database knows also recalibrates its rule(s)
                _, found = await runtime.in_db_thread(runtime.db.query, ALERT_SQL, {"alert_id": alert_id})
                if found:
                    await ready()
                    uscc, alert_type, evidence = (str(v) for v in found[0])
                    teaches = verdict_records(alert_id, (uscc, alert_type, evidence), verdict, actor, row[-1])
            await runtime.in_db_thread(runtime.db.insert_columns, "alert_actions", [[v] for v in row], ACTION_COLUMNS)
            for record in teaches:
                await notifier.write(topics.verdicts, record.uscc, record.model_dump_json().encode())
            answer = {**dict(zip(ACTION_COLUMNS, row, strict=True)), "recalibrates": [r.alert_type for r in teaches]}
            return json_response(self, answer, 201)

    return notifier
