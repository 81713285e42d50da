"""Generated requests over the whole OpenAPI document (schemathesis), against a real
``scripter serve`` with the access token: no answer is a 5xx, and every answer
conforms to the document (a documented status, its content type, its body schema,
its headers, the Allow header), unauthenticated requests are refused, and requests
that break the document are refused.

The document is built in-process at import (as ``scripter openapi`` does), so that
pytest gets one test per operation; the test checks that the server serves the
same operations.
"""

from __future__ import annotations

import json
import os
import secrets
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from scripter.bootstrap import bootstrap
from scripter.config import Config, DatabaseConfig
from scripter.http.app import create_app
from tests.e2e.hostile import HostileServer, hostile_server
from tests.figures import record

pytestmark = [pytest.mark.docker, pytest.mark.hostile]

MAX_EXAMPLES = int(os.environ.get("SCRIPTER_HOSTILE_EXAMPLES", "15"))
"""Per operation and phase: the module stays well under a minute. Set the variable
higher for a deeper search (a few hundred finds more, in minutes)."""
REQUEST_TIMEOUT = 30.0
"""No request may hang: log streams of jobs and builds end with them (seconds)."""


def openapi_document() -> dict[str, Any]:
    app = create_app(
        bootstrap(Config(database=DatabaseConfig(url="sqlite+aiosqlite:///:memory:"))),
        roles=set(),
    )
    document: dict[str, Any] = json.loads(json.dumps(app.openapi_schema.to_schema()))
    return document


schema = schemathesis.openapi.from_dict(openapi_document()).exclude(
    # Endless by design (every event from now on, until the server stops); its
    # tests are tests/integration/test_live_logs.py and test_live_jobs.py.
    path="/api/events/stream"
)
counts: Counter[str] = Counter()
TOKEN = secrets.token_urlsafe(32)
"""The server's access token, chosen here: schemathesis builds some requests when
the tests are collected, before any fixture runs."""


@schema.auth()
class AccessToken:
    """The token on every generated request, except those that leave it out on
    purpose (schemathesis then expects a 401): a provider, not a header added to
    each call, because schemathesis skips a provider for those."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return TOKEN

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = f"Bearer {data}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileServer]:
    with hostile_server(tmp_path_factory.mktemp("hostile-schema"), token=TOKEN) as started:
        served = httpx.get(f"{started.base_url}/schema/openapi.json", headers=started.headers)
        assert served.status_code == 200
        assert {p: sorted(o) for p, o in served.json()["paths"].items()} == {
            p: sorted(o) for p, o in openapi_document()["paths"].items()
        }
        outside = started.outside_state()
        yield started
        escapes = sum(
            1
            for key in outside.keys() | started.outside_state().keys()
            if outside.get(key) != started.outside_state().get(key)
        )
        record(
            "hostile",
            "schemathesis over every operation of the OpenAPI document",
            inputs=counts["inputs"],
            server_errors=counts["server_errors"],
            escapes=escapes,
        )
        assert escapes == 0


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis folder in the checkout
    # Generation is slow for the big bodies (scripts with files, env, limits):
    # that is the document's size, not a problem of the test.
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: schemathesis.Case, server: HostileServer):
    response = case.call(base_url=server.base_url, timeout=REQUEST_TIMEOUT)
    counts["inputs"] += 1
    if response.status_code >= 500:
        counts["server_errors"] += 1
    case.validate_response(
        response,
        transport_kwargs={"base_url": server.base_url},
        # Excluded: "a request that the document allows must succeed". The document
        # states types and ranges; rules it cannot state are checked by the domain
        # and answered 422 with the field: a cron expression, an IANA timezone, a
        # file path's parts, a name's characters, an image that exists, a value
        # that NUL may not be in. Those refusals are tested one by one in
        # test_hostile_inputs.py and the API tests. Every other check runs.
        excluded_checks=[positive_data_acceptance],
    )
