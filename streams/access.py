"""Who may call the worker's web API: bearer tokens per role, checked by one decorator.

Every view method is wrapped by :meth:`AccessGate.allow` with the least role it needs
(``None`` for the few public routes: ``/health``, the page and its static files, the
OpenAPI description). The wrapper also answers the errors every endpoint shares, so no view
repeats them:

* 401 ``{"error": ...}`` with ``WWW-Authenticate: Bearer`` — no token, or an unknown one;
* 403 — a valid token of a role below the one needed;
* 413 — a request body over ``ENTBRAIN_WEB__MAX_REQUEST_BYTES``;
* 400 — :class:`BadRequest` raised by the view (bad parameters, bad JSON);
* 500 ``{"error": "internal error"}`` — anything else; the traceback goes to the log only.

A request without a token is let in as ``ENTBRAIN_AUTH__LOCAL_ROLE`` only when the worker
listens on the loopback interface and ``ENTBRAIN_AUTH__LOCAL_ACCESS`` is on (the local
default, so ``make demo`` needs no token). A token that is sent is always checked.
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from faust.web import Request, Response, View

from config import AuthSettings, Role, WebSettings

log = logging.getLogger(__name__)

ROLE_KEY = "entbrain.role"
QUERY_TOKEN = "access_token"  # noqa: S105 - a parameter name; EventSource cannot set headers

Handler = Callable[..., Awaitable[Any]]


class BadRequest(Exception):
    """The request cannot be served as sent; the message tells the caller what to change."""


@dataclass(frozen=True)
class Denied:
    status: int
    message: str


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (``""`` if malformed)."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_roles(auth: AuthSettings) -> dict[str, Role]:
    """Each configured token with its role (a token listed under two roles gets the higher)."""
    roles: dict[str, Role] = {}
    for role in Role:  # ascending, so a higher role overwrites
        for token in auth.tokens(role):
            roles[token] = role
    return roles


def identify(tokens: dict[str, Role], token: str | None, local_role: Role | None) -> Role | Denied:
    """Who is calling: the role of ``token``, the local role without one, or a 401."""
    if token is None:
        if local_role is not None:
            return local_role
        return Denied(401, "authentication required: send 'Authorization: Bearer <token>'")
    found: Role | None = None
    for known, role in tokens.items():  # compare every token, in constant time each
        if hmac.compare_digest(known.encode(), token.encode()):
            found = role
    return found if found is not None else Denied(401, "unknown or malformed token")


def authorize(caller: Role | Denied, needed: Role | None) -> Role | Denied | None:
    """The caller's role if it reaches ``needed``; a 403 if not; ``None`` for public routes."""
    if needed is None:
        return caller if isinstance(caller, Role) else None
    if isinstance(caller, Denied):
        return caller
    if caller.rank < needed.rank:
        return Denied(403, f"this needs the {needed.value} role; the token is {caller.value}")
    return caller


def json_response(view: View, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return view.bytes(
        orjson.dumps(payload, default=str),
        content_type="application/json",
        status=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def role_of(request: Request) -> Role | None:
    """The role :meth:`AccessGate.allow` found for this request (``None`` on public routes)."""
    role = request.get(ROLE_KEY)  # type: ignore[attr-defined]
    return role if isinstance(role, Role) else None


def sees_personal_data(request: Request) -> bool:
    role = role_of(request)
    return role is not None and role.rank >= Role.ADMIN.rank


def local_role(auth: AuthSettings, web: WebSettings) -> Role | None:
    """The role of a request without a token: only on loopback, only if allowed."""
    return auth.local_role if (auth.local_access and web.loopback) else None


class AccessGate:
    """The worker's access policy, built once from settings; ``allow`` wraps the views."""

    def __init__(self, auth: AuthSettings, web: WebSettings) -> None:
        self._tokens = token_roles(auth)
        self._local_role = local_role(auth, web)
        self._max_body = web.max_request_bytes

    def caller(self, request: Request, query_token: bool = False) -> Role | Denied:
        token = bearer_token(request.headers.get("Authorization"))
        if token is None and query_token:
            token = request.query.get(QUERY_TOKEN)
        return identify(self._tokens, token, self._local_role)

    def allow(self, needed: Role | None, *, query_token: bool = False) -> Callable[[Handler], Handler]:
        """Decorate a view method: check the caller, the body size, and turn errors into JSON."""

        def wrap(handler: Handler) -> Handler:
            @functools.wraps(handler)
            async def checked(view: View, request: Request, **kwargs: Any) -> Any:
                decision = authorize(self.caller(request, query_token), needed)
                if isinstance(decision, Denied):
                    headers = {"WWW-Authenticate": 'Bearer realm="entbrain"'} if decision.status == 401 else None
                    return json_response(view, {"error": decision.message}, decision.status, headers)
                request[ROLE_KEY] = decision  # type: ignore[index]
                length = request.content_length  # type: ignore[attr-defined]
                if length is not None and length > self._max_body:
                    return json_response(view, {"error": f"request body over {self._max_body} bytes"}, 413)
                try:
                    return await handler(view, request, **kwargs)
                except BadRequest as exc:
                    return json_response(view, {"error": str(exc)}, 400)
                except Exception as exc:
                    if _is_http_exception(exc):
                        raise
                    log.exception("%s %s failed", request.method, request.path)  # type: ignore[attr-defined]
                    return json_response(view, {"error": "internal error; see the worker log"}, 500)

            checked.required_role = needed  # type: ignore[attr-defined]  # read by streams.openapi
            checked.query_token = query_token  # type: ignore[attr-defined]
            return checked

        return wrap


def _is_http_exception(exc: BaseException) -> bool:
    from aiohttp import web

    return isinstance(exc, web.HTTPException)


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    """The request body as a JSON object, or :class:`BadRequest` saying what is wrong."""
    body = await request.read()  # type: ignore[attr-defined]
    if len(body) > max_bytes:
        raise BadRequest(f"request body over {max_bytes} bytes")
    try:
        value = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    return value
