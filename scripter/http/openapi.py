"""The error responses of the OpenAPI document, stated once for every operation.

Every error leaves as an ``application/problem+json`` body (``problems.py``), but
Litestar documents only a 400 of its own shape (``application/json``,
``status_code``/``detail``/``extra``) and no other error. Clients generated from the
document, and the hostile-input suite that checks every answer against it, need the
truth: ``document_problems`` rewrites the built document so that each operation lists
the problem statuses it can answer, all with the ``Problem`` schema.

Which operation can answer what follows from its shape, the same way the code
decides it:

- 400: a parameter or body that does not parse or has the wrong type (Litestar).
- 422: a value that parses but breaks a rule (``InvalidInput``): any operation that
  takes parameters or a body.
- 404: anything addressed by an id or a path in the URL (``NotFound``).
- 409: every change (not GET): the state forbids it, or a concurrent change won
  (``Conflict``, ``ConcurrentUpdate``).
- 413: anything with a body (the server's body limit, or a file over its limit).
- 401 and 429: every operation that needs the access token (no or a wrong token;
  too many wrong tokens from one address).

A 5xx is never documented: the server must not answer one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    PathItem,
    Reference,
    RequestBody,
    Schema,
)

from scripter.http.auth import PublicOperation
from scripter.http.problems import PROBLEM_JSON

PROBLEM_SCHEMA = "Problem"

_DESCRIPTIONS = {
    400: "The request does not parse: malformed JSON, a wrong type, an unknown field.",
    401: "No access token, or a wrong one.",
    404: "No such resource (or file).",
    409: "The current state forbids it, or a concurrent change came first.",
    413: "The body is over the server's limit (or a file over the file limit).",
    422: "A value breaks a rule; `field` names it.",
    429: "Too many wrong tokens from this address; see Retry-After.",
}
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def _problem_schema() -> Schema:
    text = Schema(type=OpenAPIType.STRING)
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["type", "title", "status", "detail"],
        properties={
            "type": text,
            "title": text,
            "status": Schema(type=OpenAPIType.INTEGER),
            "detail": text,
            "field": Schema(
                type=OpenAPIType.STRING,
                description="The input at fault: `name`, `files.<path>`, `env[0].name`, ...",
            ),
            "errors": Schema(
                type=OpenAPIType.ARRAY,
                items=Schema(type=OpenAPIType.OBJECT),
                description="Each invalid input of a request that does not parse.",
            ),
        },
        description="An error (RFC 9457 problem details, with the field at fault).",
    )


@dataclass
class RawBodyOperation(Operation):
    """An operation whose body is raw bytes (a file), which a handler reading the
    request stream itself would otherwise leave undocumented."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            # An empty body makes an empty file.
            required=False,
            description="The file's content, as it is (at most the configured file size).",
            content={
                "application/octet-stream": OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
                )
            },
        )


def _statuses(path: str, method: str, operation: Operation, *, secured: bool) -> set[int]:
    takes_input = bool(operation.parameters) or operation.request_body is not None
    statuses: set[int] = set()
    if takes_input:
        statuses |= {400, 422}
    if "{" in path:
        statuses.add(404)
    if method != "get":
        statuses.add(409)
    if operation.request_body is not None:
        statuses.add(413)
    if secured:
        statuses |= {401, 429}
    return statuses


def document_problems(openapi: OpenAPI) -> None:
    """Rewrite ``openapi`` (as Litestar built it) in place: the ``Problem`` schema,
    the problem responses of every operation, and no body on a 204."""
    components = openapi.components
    if components.schemas is None:
        components.schemas = {}
    components.schemas[PROBLEM_SCHEMA] = _problem_schema()
    problem = {
        PROBLEM_JSON: OpenAPIMediaType(schema=Reference(f"#/components/schemas/{PROBLEM_SCHEMA}"))
    }
    secured_by_default = bool(openapi.security)
    for path, item in (openapi.paths or {}).items():
        if not isinstance(item, PathItem):
            continue
        for method in _METHODS:
            operation = getattr(item, method, None)
            if not isinstance(operation, Operation):
                continue
            # ``security: []`` (a public operation) overrides the document's default.
            public = operation.security == [] or isinstance(operation, PublicOperation)
            responses: dict[str, Any] = operation.responses or {}
            operation.responses = responses
            wanted: set[str] = set()
            if path.startswith("/api/") and not public:
                # Public operations (the login) say themselves what they answer.
                secured = secured_by_default
                wanted = {str(s) for s in _statuses(path, method, operation, secured=secured)}
            for status in sorted(wanted | {s for s in responses if s[:1] == "4"}):
                current = responses.get(status)
                description = _DESCRIPTIONS.get(int(status), "An error.")
                if isinstance(current, OpenAPIResponse) and status not in ("400",):
                    # Kept as its author wrote it, but the body is always a problem.
                    current.content = dict(problem)
                else:
                    responses[status] = OpenAPIResponse(
                        description=description, content=dict(problem)
                    )
            no_content = responses.get("204")
            if isinstance(no_content, OpenAPIResponse):
                no_content.content = None
