"""Access control over HTTP: the middleware every route passes, and /api/session.

Fail closed: every route needs the token unless it says otherwise in its ``opt``
(``AUTH_OPT``): ``PUBLIC`` for /healthz and the login itself, ``UI`` for the UI's
files (the page must load to show the login screen; it holds no data), which is
public only outside the server's own path prefixes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.exceptions import (
    NotAuthorizedException,
    ServiceUnavailableException,
    TooManyRequestsException,
)
from litestar.middleware import ASGIMiddleware
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Operation
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT
from litestar.types import ASGIApp, Receive, Scope, Send

from scripter.bootstrap import Scripter
from scripter.domain.ports import TokenUnavailable
from scripter.services.auth import Authenticator, NotAuthenticated, TooManyFailures

log = logging.getLogger(__name__)

SESSION_COOKIE = "scripter_session"
SESSION_MAX_AGE = 30 * 24 * 3600
"""A browser stays logged in for 30 days; a rotated token logs it out sooner."""
AUTH_OPT = "auth"
PUBLIC = "public"
UI = "ui"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="scripter"'}
SECURITY_SCHEME = "AccessToken"


class PublicOperation(Operation):
    """An operation that needs no token: ``security: []`` overrides the document's
    global requirement (Litestar leaves an empty list out)."""

    def to_schema(self) -> dict[str, Any]:
        schema = super().to_schema()
        schema["security"] = []
        return schema


def client_address(scope: Scope) -> str:
    """The peer, or behind a trusted proxy the client it names (uvicorn's
    ``--forwarded-allow-ips``, set in compose.yml)."""
    client = scope.get("client")
    return client[0] if client else "unknown"


@dataclass(frozen=True)
class _Credentials:
    bearer: str | None
    """The token of ``Authorization: Bearer``; None without that header."""
    other_scheme: bool
    cookie: str | None


def _credentials(request: Request[Any, Any, Any]) -> _Credentials:
    header = request.headers.get("authorization")
    bearer = None
    other_scheme = False
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "bearer":
            bearer = value.strip()
        else:
            other_scheme = True
    return _Credentials(bearer, other_scheme, request.cookies.get(SESSION_COOKIE))


def _expired_cookie_header() -> str:
    return Cookie(
        key=SESSION_COOKIE, value="", max_age=0, expires=0, httponly=True, samesite="strict"
    ).to_header(header="")


def check_access(auth: Authenticator, request: Request[Any, Any, Any]) -> str:
    """How the request proved it may come in (``bearer`` or ``cookie``); raises the
    401, 429 or 503 it gets instead."""
    credentials = _credentials(request)
    try:
        if credentials.bearer is not None:
            try:
                auth.check_token(credentials.bearer, client_address(request.scope))
            except NotAuthenticated:
                raise NotAuthorizedException(
                    "The access token is not valid.", headers=CHALLENGE
                ) from None
            return "bearer"
        if credentials.other_scheme:
            raise NotAuthorizedException(
                "Send the access token as `Authorization: Bearer <token>`.", headers=CHALLENGE
            )
        if credentials.cookie is not None:
            if auth.check_session(credentials.cookie):
                return "cookie"
            # From before a rotation: tell the browser to drop it.
            raise NotAuthorizedException(
                "The session has ended (the access token changed); log in again.",
                headers={**CHALLENGE, "Set-Cookie": _expired_cookie_header()},
            )
    except TooManyFailures as exc:
        raise _too_many(exc) from None
    except TokenUnavailable as exc:
        raise _no_token(exc) from None
    raise NotAuthorizedException(
        "Authentication required: send `Authorization: Bearer <token>`, or log in.",
        headers=CHALLENGE,
    )


def _too_many(exc: TooManyFailures) -> TooManyRequestsException:
    return TooManyRequestsException(
        f"Too many failed logins from this address; try again in {exc.retry_after} s.",
        headers={"Retry-After": str(exc.retry_after)},
    )


_last_token_error = ""


def _no_token(exc: TokenUnavailable) -> ServiceUnavailableException:
    global _last_token_error
    # Once per cause, not once per request: a missing file would flood the log.
    if str(exc) != _last_token_error:
        _last_token_error = str(exc)
        log.error("no access token, every request is refused: %s", exc)
    return ServiceUnavailableException(
        "The server has no access token; see its log (`scripter token rotate` makes one)."
    )


class AuthMiddleware(ASGIMiddleware):
    """Lets a request through to its route only with the access token (or a session
    cookie made from it), unless the route is public."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, auth: Authenticator, server_prefixes: frozenset[str]) -> None:
        self.auth = auth
        self.server_prefixes = server_prefixes

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if not self._is_public(scope):
            scope["auth"] = check_access(self.auth, Request(scope))
        await next_app(scope, receive, send)

    def _is_public(self, scope: Scope) -> bool:
        kind = scope["route_handler"].opt.get(AUTH_OPT)
        if kind == PUBLIC:
            return True
        if kind == UI:
            first = scope["path"].lstrip("/").split("/", 1)[0]
            return first not in self.server_prefixes
        return False


# --- /api/session -------------------------------------------------------------------


class SessionCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    """The access token (``scripter token show``)."""


class Session(msgspec.Struct, kw_only=True):
    auth_enabled: bool
    """False when the server was configured without access control."""
    via: Literal["bearer", "cookie"] | None
    """How this request proved itself; None when auth is off."""


_REFUSALS = {
    401: ResponseSpec(None, description="The token is not valid (a problem naming `token`)."),
    429: ResponseSpec(
        None, description="Too many failed logins from this address; see `Retry-After`."
    ),
}


class SessionController(Controller):
    path = "/api/session"
    tags = ["session"]

    @post(
        "/",
        status_code=HTTP_204_NO_CONTENT,
        summary="Log in: trade the access token for a session cookie",
        description="Sets the HttpOnly, SameSite=Strict cookie `scripter_session`, which "
        "authenticates every later request of this browser (EventSource included) until "
        "the token is rotated or `DELETE /api/session`. Wrong tokens are rate-limited per "
        "client address (429 with `Retry-After`).",
        opt={AUTH_OPT: PUBLIC},
        operation_class=PublicOperation,
        responses=_REFUSALS,
    )
    async def log_in(
        self,
        request: Request[Any, Any, Any],
        scripter: NamedDependency[Scripter],
        data: JSONBody[SessionCreate],
    ) -> Response[None]:
        auth = scripter.auth
        if auth is None:
            return Response(None, status_code=HTTP_204_NO_CONTENT)
        try:
            auth.check_token(data.token, client_address(request.scope))
        except NotAuthenticated:
            raise NotAuthorizedException(
                "The access token is not valid.", headers=CHALLENGE, extra={"field": "token"}
            ) from None
        except TooManyFailures as exc:
            raise _too_many(exc) from None
        except TokenUnavailable as exc:
            raise _no_token(exc) from None
        cookie = Cookie(
            key=SESSION_COOKIE,
            value=auth.session_value(),
            max_age=SESSION_MAX_AGE,
            path="/",
            httponly=True,
            samesite="strict",
            # Behind nginx the scheme comes from X-Forwarded-Proto (a trusted proxy).
            secure=request.url.scheme == "https",
        )
        return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=[cookie])

    @delete(
        "/",
        status_code=HTTP_204_NO_CONTENT,
        summary="Log out: drop this browser's session cookie",
        description="Needs no token: a browser whose cookie is stale must be able to drop it.",
        opt={AUTH_OPT: PUBLIC},
        operation_class=PublicOperation,
    )
    async def log_out(self) -> Response[None]:
        response: Response[None] = Response(None, status_code=HTTP_204_NO_CONTENT)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @get(
        "/",
        summary="Who am I: whether auth is on, and how this request authenticated",
        description="401 without a valid token or session: the UI asks this first.",
    )
    async def current(
        self, request: Request[Any, Any, Any], scripter: NamedDependency[Scripter]
    ) -> Session:
        via = request.scope.get("auth")
        return Session(
            auth_enabled=scripter.auth is not None,
            via=via if via in ("bearer", "cookie") else None,
        )
