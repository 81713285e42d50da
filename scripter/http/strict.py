"""JSON request bodies checked strictly against their declared types.

Litestar converts request data with msgspec's ``strict=False`` (it must, for query
strings), so a body's ``"after": 0`` became 1970-01-01 and ``"timeout_seconds":
"60"`` became 60: inputs outside the OpenAPI document, accepted on a guess. This
``before_request`` hook decodes each JSON body once more, strictly, against the
handler's body type, and refuses a mismatch with the 400 problem that Litestar's
own validation gives (naming the field); Litestar then converts the body as before.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

_AT = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_UNKNOWN = re.compile(r"unknown field `(?P<name>[^`]+)`")


@functools.cache
def _decoder(body_type: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(body_type, strict=True)


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    body_field = request.route_handler.parsed_fn_signature.parameters.get("data")
    if body_field is None:
        return
    body = await request.body()
    if not body.strip():
        return  # no body: the handler's type says whether that is allowed
    try:
        _decoder(body_field.annotation).decode(body)
    except msgspec.ValidationError as exc:
        message = str(exc)
        at = _AT.search(message)
        key = at.group("path") if at else ""
        message = _AT.sub("", message)
        unknown = _UNKNOWN.search(message)
        if unknown is not None:  # the field at fault is the unknown one
            key = f"{key}.{unknown.group('name')}" if key else unknown.group("name")
        key = key or "body"
        raise ValidationException(
            detail=f"{key}: {message}",
            extra=[{"key": key, "message": message, "source": "body"}],
        ) from None
    except msgspec.DecodeError:
        return  # not JSON at all: Litestar answers that (a 400 naming the body)
