"""Every error leaves as a JSON problem body (RFC 9457 shape plus ``field``).

Domain errors carry the field at fault; Litestar's validation errors carry it in
``extra``; anything unexpected is logged and answered with a 500 that leaks nothing.
"""

from __future__ import annotations

import errno
import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from scripter.domain.errors import Conflict, DomainError, InvalidInput, NotFound, PayloadTooLarge

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
    507: "Insufficient storage",
}

_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def problem(
    status: int,
    detail: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if field is not None:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _domain_status(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InvalidInput):
        return 422
    if isinstance(exc, PayloadTooLarge):
        return 413
    return 400


def handle_domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    return problem(_domain_status(exc), exc.message, field=exc.field)


def handle_validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                errors.append(
                    {
                        "field": _field_at_fault(item.get("key"), item.get("message")),
                        "message": item.get("message"),
                        "in": item.get("source"),
                    }
                )
    field = next((e["field"] for e in errors if e.get("field")), None)
    detail = "; ".join(
        f"{e['field']}: {e['message']}" if e.get("field") else str(e["message"]) for e in errors
    )
    return problem(400, detail or exc.detail, field=field, errors=errors)


_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]+)`")


def _field_at_fault(key: Any, message: Any) -> Any:
    """A missing field is reported at the object that lacks it (``data``, the whole
    body): name the field itself."""
    missing = _MISSING.match(message) if isinstance(message, str) else None
    if missing is None:
        # Litestar names the whole body after the handler's parameter, ``data``.
        return "body" if key == "data" else key
    name = missing.group("name")
    return name if key in (None, "", "data", "$", "body") else f"{key}.{name}"


def handle_http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    field = exc.extra.get("field") if isinstance(exc.extra, dict) else None
    if field is None and isinstance(exc.__cause__, SerializationException):
        field = "body"  # the body is not JSON at all (Litestar's "Input data was truncated")
    if field is None and exc.status_code == 413:
        field = "body"  # over the server's body limit (request_max_body_size)
    return problem(exc.status_code, exc.detail, field=field, headers=exc.headers)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR, "An unexpected error occurred; see the server log."
    )


def handle_os_error(request: Request[Any, Any, Any], exc: OSError) -> Response[dict[str, Any]]:
    """A full disk (or quota) is the server's state, not a bug: say so, so that an
    operator knows what to free. Services write files before they commit, so the
    request changed nothing. Other OS errors are unexpected."""
    if exc.errno in _DISK_FULL:
        log.error(
            "%s %s: the data directory's disk is full: %s", request.method, request.url.path, exc
        )
        return problem(
            507,
            "The data directory's disk is full: nothing was saved. Free some space "
            "(old job logs, images), then try again.",
        )
    return handle_unexpected(request, exc)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: handle_domain_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_error,
    OSError: handle_os_error,
    Exception: handle_unexpected,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "problem"]
